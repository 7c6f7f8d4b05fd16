"""PNG exports that carry their recipe: the state JSON and the model's file name and sha256.

The recipe is an iTXt chunk with keyword ``stylegan-explorer``; its text is JSON
``{"state": {...}, "model": {"file": NAME, "sha256": HEX, "source_format": ...}, "app": "stylegan-explorer 0.1.0"}``,
plus, when the window has any, ``"parts": {name: JSON}``: what features keep beside the state (the live
controls' mappings), restored with it. Opening such a PNG gives the state back; the model entry tells which
model made it.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from explorer import __version__
from explorer.engine.jsonfile import parse_json
from explorer.engine.state import State
from explorer.errors import StateError
from explorer.fileio import atomic_write_bytes

RECIPE_KEY = "stylegan-explorer"


@dataclass(frozen=True)
class Recipe:
    state: State
    model_file: str
    model_sha256: str
    source_format: str = ""
    parts: dict | None = None  # feature JSON by name (window features that store parts in recipes)

    def to_json(self) -> dict:
        out = {
            "state": self.state.to_json(),
            "model": {"file": self.model_file, "sha256": self.model_sha256, "source_format": self.source_format},
            "app": f"stylegan-explorer {__version__}",
        }
        if self.parts:
            out["parts"] = self.parts
        return out


def recipe_for(state: State, model) -> Recipe:
    """The recipe of ``state`` rendered by an ``explorer.formats.Model``."""
    return Recipe(state, model.path.name, model.sha256, model.source_format)


def encode_png(image: np.ndarray, recipe: Recipe | None = None) -> bytes:
    """[H, W, C] uint8 or uint16 -> PNG bytes, with the recipe chunk when given."""
    text = json.dumps(recipe.to_json(), separators=(",", ":")) if recipe is not None else None
    if image.dtype == np.uint16:
        return _encode_png16(image, text)
    info = PngImagePlugin.PngInfo()
    if text is not None:
        info.add_itxt(RECIPE_KEY, text)
    buffer = io.BytesIO()
    Image.fromarray(image if image.shape[-1] != 1 else image[..., 0]).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def write_png(path: str | Path, image: np.ndarray, recipe: Recipe | None = None, overwrite: bool = True) -> None:
    atomic_write_bytes(path, encode_png(image, recipe), overwrite=overwrite)


def has_recipe(path: str | Path) -> bool:
    """Whether a PNG carries a recipe chunk (False for unreadable files: opening them says why)."""
    try:
        with Image.open(path) as image:
            return RECIPE_KEY in getattr(image, "text", {})
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False


def read_recipe(path: str | Path) -> Recipe:
    """The recipe embedded in a PNG exported by this program."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            text = image.text.get(RECIPE_KEY) if hasattr(image, "text") else None
    except (OSError, SyntaxError) as exc:
        raise StateError(path, f"not a readable PNG ({exc})") from None
    if text is None:
        raise StateError(path, "image carries no StyleGAN Explorer recipe")
    data = parse_json(text, path)
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict):
        raise StateError(path, "recipe chunk is damaged (no model)")
    state = State.from_json(data.get("state"), path)
    parts = data.get("parts")
    if parts is not None and not isinstance(parts, dict):
        raise StateError(path, "recipe chunk is damaged (parts is not an object)")
    return Recipe(state, str(model.get("file", "")), str(model.get("sha256", "")), str(model.get("source_format", "")),
                  parts or None)


def _encode_png16(image: np.ndarray, text: str | None) -> bytes:
    """16-bit PNG written directly (Pillow has no 16-bit RGB mode): IHDR, iTXt, one IDAT, IEND."""
    h, w, c = image.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    rows = image.astype(">u2").reshape(h, w * c).view(np.uint8)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter byte 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    out = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0))]
    if text is not None:
        out.append(chunk(b"iTXt", RECIPE_KEY.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")))
    out += [chunk(b"IDAT", zlib.compress(raw, 6)), chunk(b"IEND", b"")]
    return b"".join(out)
