"""Favourites: whole states the artist liked (seeds, psi, mix, edits, ...), with a name, tags, a note and a
thumbnail, kept in the window's session and in favourites files that ``generate --state`` renders.

File layout (version 1)::

    {"format": "stylegan-explorer-favourites", "version": 1,
     "favourites": [{"name": "red hair", "tags": ["portrait"], "note": "...",
                     "state": {...State JSON...},
                     "model": {"file": "ffhq.pkl", "sha256": "..."},
                     "thumbnail": "<PNG, base64>" | null}, ...]}

A favourite remembers the model it was saved with. With another model its seeds still render (a seed is a
seed); what needs the old model (an imported W+ of another shape, edits of another W size) is reset by
``engine/document.fit_state`` and said in one note per favourite. Files are read with the hardened JSON
reader; every problem is one ``StateError`` naming the file and the favourite.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

from explorer.engine.document import FittedState, fit_state
from explorer.engine.jsonfile import read_json
from explorer.engine.recipe import encode_png
from explorer.engine.state import State
from explorer.errors import StateError
from explorer.fileio import atomic_write_text

FAVOURITES_FORMAT = "stylegan-explorer-favourites"
FAVOURITES_VERSION = 1
MAX_FAVOURITES = 10_000
MAX_NAME = 200
MAX_TAGS = 64
MAX_TAG = 100
MAX_NOTE = 10_000
MAX_THUMBNAIL_BYTES = 512 << 10
MAX_THUMBNAIL_SIDE = 1024
THUMBNAIL_SIDE = 256  # thumbnails keep the model's resolution up to this (a 64 px model's is its image)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Favourite:
    """One saved state and what the artist wrote about it; ``thumbnail`` is PNG bytes (or None)."""

    name: str
    state: State
    tags: tuple[str, ...] = ()
    note: str = ""
    model_file: str = ""
    model_sha256: str = ""
    thumbnail: bytes | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name, "tags": list(self.tags), "note": self.note, "state": self.state.to_json(),
            "model": {"file": self.model_file, "sha256": self.model_sha256},
            "thumbnail": None if self.thumbnail is None else base64.b64encode(self.thumbnail).decode("ascii"),
        }


def thumbnail_png(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> bytes:
    """PNG of an [H, W, C] uint8 image, scaled down (never up) to fit ``side`` x ``side``."""
    picture = Image.fromarray(image if image.shape[-1] != 1 else image[..., 0])
    if max(picture.size) > side:
        picture.thumbnail((side, side), Image.Resampling.LANCZOS)
    return encode_png(np.asarray(picture).reshape(picture.height, picture.width, -1))


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``, ... whichever is not taken (``generate --state F#NAME`` picks by name)."""
    name = " ".join(name.split())[:MAX_NAME] or "favourite"
    taken = set(taken)
    if name not in taken:
        return name
    number = 2
    while f"{name} ({number})" in taken:
        number += 1
    return f"{name} ({number})"


def file_stem(name: str) -> str:
    """A favourite's name as a safe part of a file name ("red hair / v2" -> "red-hair-v2")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:40] or "favourite"


def favourites_to_json(favourites: Iterable[Favourite]) -> dict:
    return {"format": FAVOURITES_FORMAT, "version": FAVOURITES_VERSION,
            "favourites": [f.to_json() for f in favourites]}


def is_favourites_document(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == FAVOURITES_FORMAT


def parse_favourites(data: Any, source: str | Path | None = None) -> tuple[Favourite, ...]:
    """The favourites of a favourites document; anything wrong is one StateError naming ``source``."""
    if not is_favourites_document(data):
        raise StateError(source, f"not a favourites file (no \"format\": \"{FAVOURITES_FORMAT}\")")
    if data.get("version") != FAVOURITES_VERSION:
        raise StateError(source, f"unsupported favourites version {data.get('version')!r} "
                                 f"(this program reads version {FAVOURITES_VERSION})")
    entries = data.get("favourites")
    if not isinstance(entries, list):
        raise StateError(source, "'favourites' must be a list")
    if len(entries) > MAX_FAVOURITES:
        raise StateError(source, f"{len(entries)} favourites is far more than a file holds (at most {MAX_FAVOURITES})")
    favourites: list[Favourite] = []
    for number, entry in enumerate(entries, 1):
        try:
            favourite = _parse_entry(entry)
        except ValueError as exc:
            raise StateError(source, f"favourite {number}: {exc}") from None
        except StateError as exc:
            raise StateError(source, f"favourite {number}: {exc.reason}") from None
        if any(f.name == favourite.name for f in favourites):
            raise StateError(source, f"favourite {number}: the name {favourite.name!r} is used twice")
        favourites.append(favourite)
    return tuple(favourites)


def _parse_entry(entry: Any) -> Favourite:
    if not isinstance(entry, dict):
        raise ValueError("must be an object")
    unknown = sorted(set(entry) - {"name", "tags", "note", "state", "model", "thumbnail"})
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValueError(f"name must be a non-empty string of at most {MAX_NAME} characters")
    tags = entry.get("tags", [])
    if (not isinstance(tags, list) or len(tags) > MAX_TAGS
            or not all(isinstance(t, str) and 0 < len(t) <= MAX_TAG for t in tags)):
        raise ValueError(f"tags must be a list of at most {MAX_TAGS} short strings")
    note = entry.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise ValueError(f"note must be a string of at most {MAX_NOTE} characters")
    model = entry.get("model", {})
    if not isinstance(model, dict) or not all(isinstance(model.get(k, ""), str) for k in ("file", "sha256")):
        raise ValueError("model must be {\"file\": NAME, \"sha256\": HEX}")
    if "state" not in entry:
        raise ValueError("has no state")
    state = State.from_json(entry["state"], None)
    return Favourite(name=name, state=state, tags=tuple(tags), note=note, model_file=model.get("file", ""),
                     model_sha256=model.get("sha256", ""), thumbnail=_parse_thumbnail(entry.get("thumbnail")))


def _parse_thumbnail(text: Any) -> bytes | None:
    """Base64 PNG bytes, checked to be a small PNG before anyone decodes its pixels."""
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > MAX_THUMBNAIL_BYTES * 4 // 3 + 4:
        raise ValueError(f"thumbnail must be a base64 PNG of at most {MAX_THUMBNAIL_BYTES >> 10} KB")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("thumbnail is not valid base64") from None
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("thumbnail is not a PNG")
    try:
        with Image.open(io.BytesIO(data)) as picture:  # reads the header only
            width, height = picture.size
    except (OSError, SyntaxError, ValueError):
        raise ValueError("thumbnail is a damaged PNG") from None
    if max(width, height) > MAX_THUMBNAIL_SIDE:
        raise ValueError(f"thumbnail is {width}x{height}, larger than {MAX_THUMBNAIL_SIDE} pixels")
    return data


def read_favourites(path: str | Path) -> tuple[Favourite, ...]:
    return parse_favourites(read_json(path, "favourites file"), path)


def write_favourites(path: str | Path, favourites: Iterable[Favourite], overwrite: bool = False) -> None:
    """Write atomically; an existing file is kept unless ``overwrite``."""
    atomic_write_text(path, json.dumps(favourites_to_json(favourites), indent=1), overwrite=overwrite)


def find_favourite(favourites: Iterable[Favourite], name: str, source: str | Path | None = None) -> Favourite:
    favourites = tuple(favourites)
    for favourite in favourites:
        if favourite.name == name:
            return favourite
    names = ", ".join(repr(f.name) for f in favourites[:10]) + (", ..." if len(favourites) > 10 else "")
    raise StateError(source, f"no favourite named {name!r} (it has {names or 'none'})")


def fit_favourite(favourite: Favourite, model, sha256: str) -> FittedState:
    """The favourite's state fitted to ``model`` (a generator or a model description) whose file has
    ``sha256``; for a favourite of another model, one note says which and what had to change."""
    fitted = fit_state(favourite.state, model)
    other = bool(favourite.model_sha256) and favourite.model_sha256 != sha256
    if not other and not fitted.notes:
        return fitted
    changes = list(fitted.notes)
    if other:
        imported = [side.upper() for side in ("a", "b")
                    if getattr(fitted.state, side).w_plus is not None]
        if imported:
            changes.append(f"the imported W+ of {' and '.join(imported)} was made with that model")
        head = f"favourite {favourite.name!r} was saved with {favourite.model_file or 'another model'}"
        note = head + (": " + "; ".join(changes) if changes else "; its seeds render with this model")
    else:
        note = f"favourite {favourite.name!r}: " + "; ".join(changes)
    return FittedState(fitted.state, (note,))


def favourites_in(reference: str | Path) -> tuple[Favourite, ...] | None:
    """What a ``--state`` value names if it is a favourites file: all its favourites, or with
    ``FILE#NAME`` the one so named; None for any other file (a state or session)."""
    path, name = split_favourite_reference(reference)
    data = read_json(path, "state file")
    if not is_favourites_document(data):
        if name is not None:
            raise StateError(path, f"is not a favourites file, so '#{name}' names nothing in it")
        return None
    favourites = parse_favourites(data, path)
    if name is not None:
        return (find_favourite(favourites, name, path),)
    if not favourites:
        raise StateError(path, "holds no favourites")
    return favourites


def split_favourite_reference(text: str | Path) -> tuple[Path, str | None]:
    """``fav.json#NAME`` -> (fav.json, NAME); a path that exists as typed (even with a '#') is taken whole."""
    text = str(text)
    path, hash_mark, name = text.rpartition("#")
    if not hash_mark or Path(text).exists():
        return Path(text), None
    return Path(path), name
