"""The direction set and its file.

File layout (.npz, no object arrays, so it opens with ``allow_pickle=False``)::

    vectors      float32 [K, w_dim]   unit vectors in W
    sigmas       float32 [K]          std of the projections of mapped w - w_avg (psi 1) onto each vector
    names        unicode [K]          e.g. "sefa0", "smile"
    layer_start  int64   [K]          default W+ row range of each vector, inclusive
    layer_end    int64   [K]
    meta         unicode scalar       JSON: {"method", "parameters", "model_sha256"}
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.engine.state import Edit
from explorer.errors import StateError
from explorer.fileio import atomic_write

ARRAYS = ("vectors", "sigmas", "names", "layer_start", "layer_end", "meta")


@dataclass(frozen=True)
class DirectionSet:
    vectors: np.ndarray       # float32 [K, w_dim], unit rows
    sigmas: np.ndarray        # float32 [K]
    names: tuple[str, ...]
    layer_start: np.ndarray   # int64 [K]
    layer_end: np.ndarray     # int64 [K], inclusive
    method: str
    parameters: dict
    model_sha256: str

    @classmethod
    def build(cls, vectors, sigmas, names, rows, method: str, parameters: dict, model_sha256: str,
              source: str | Path | None = None) -> "DirectionSet":
        """A checked set: ``vectors`` are normalised to unit length; ``rows`` is one (first, last) for all
        vectors or one per vector."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or not len(vectors):
            raise StateError(source, f"directions must be a [K, w_dim] table, got shape {list(vectors.shape)}")
        if not np.isfinite(vectors).all():
            raise StateError(source, "directions contain NaN or infinite values")
        norms = np.linalg.norm(vectors, axis=1)
        if (norms < 1e-12).any():
            raise StateError(source, f"direction {int(np.argmin(norms))} is a zero vector")
        sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
        rows = np.broadcast_to(np.asarray(rows, dtype=np.int64).reshape(-1, 2), (len(vectors), 2))
        names = tuple(str(n) for n in names)
        if len(sigmas) != len(vectors) or len(names) != len(vectors):
            raise StateError(source, f"{len(vectors)} directions but {len(sigmas)} sigmas and {len(names)} names")
        if not np.isfinite(sigmas).all() or (sigmas < 0).any():
            raise StateError(source, "sigmas must be finite and not negative")
        if (rows[:, 0] < 0).any() or (rows[:, 0] > rows[:, 1]).any():
            raise StateError(source, "layer ranges must be first..last with 0 <= first <= last")
        return cls((vectors / norms[:, None]).astype(np.float32), sigmas.astype(np.float32), names,
                   rows[:, 0].copy(), rows[:, 1].copy(), method, dict(parameters), model_sha256)

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def w_dim(self) -> int:
        return self.vectors.shape[1]

    @functools.cached_property
    def content_hash(self) -> str:
        """sha256 of what the directions do (vectors, sigmas, names, ranges); the provenance is left out, so
        the same directions found twice have the same hash. Cached: every slider edit records it."""
        digest = hashlib.sha256()
        for array in (self.vectors, self.sigmas, self.layer_start, self.layer_end):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update("\0".join(self.names).encode("utf-8"))
        return digest.hexdigest()

    def rows(self, index: int) -> tuple[int, int]:
        return int(self.layer_start[index]), int(self.layer_end[index])

    def edit(self, index: int, amount: float = 0.0, rows: tuple[int, int] | None = None) -> Edit:
        """A state edit (a slider) for direction ``index``: it carries the vector and sigma, so a state that
        uses it renders without this file; ``rows`` defaults to the direction's own range."""
        return Edit(vector=tuple(self.vectors[index].tolist()), sigma=float(self.sigmas[index]), amount=amount,
                    rows=rows if rows is not None else self.rows(index), name=self.names[index],
                    set_hash=self.content_hash, index=int(index))

    def check_model(self, generator, source: str | Path | None = None) -> None:
        """Refuse a set made for another W (or with layer ranges beyond this model's rows) in one line."""
        if self.w_dim != generator.w_dim:
            raise StateError(source, f"directions are {self.w_dim}-d but the model's W is {generator.w_dim}-d")
        if int(self.layer_end.max()) >= generator.num_ws:
            raise StateError(source, f"layer range up to row {int(self.layer_end.max())} is outside the model's "
                                     f"rows 0-{generator.num_ws - 1}")

    def meta_json(self) -> str:
        return json.dumps({"method": self.method, "parameters": self.parameters, "model_sha256": self.model_sha256})

    def to_json(self) -> dict:
        """The set as JSON (a window session keeps the sets it cannot find again); arrays as base64 of
        their little-endian bytes, so a 20 x 512 set is 40 kB, not a list of 10,000 numbers."""
        return {"vectors": _pack(self.vectors, "<f4"), "sigmas": _pack(self.sigmas, "<f4"), "names": list(self.names),
                "layer_start": _pack(self.layer_start, "<i8"), "layer_end": _pack(self.layer_end, "<i8"),
                "w_dim": self.w_dim, "meta": json.loads(self.meta_json())}

    @classmethod
    def from_json(cls, data, source: str | Path | None = None) -> "DirectionSet":
        """A set from ``to_json``'s form, checked as a file is (one-line ``StateError`` when damaged)."""
        try:
            w_dim, names, meta = int(data["w_dim"]), list(map(str, data["names"])), data["meta"]
            count = len(names)
            vectors = _unpack(data["vectors"], "<f4", count * w_dim).reshape(count, w_dim)
            rows = np.stack([_unpack(data["layer_start"], "<i8", count), _unpack(data["layer_end"], "<i8", count)], 1)
            sigmas = _unpack(data["sigmas"], "<f4", count)
            method, parameters, sha = str(meta["method"]), dict(meta["parameters"]), str(meta["model_sha256"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(source, f"damaged direction set ({type(exc).__name__}: {exc})") from None
        return cls.build(vectors, sigmas, names, rows, method, parameters, sha, source=source)


def _pack(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def _unpack(text: str, dtype: str, count: int) -> np.ndarray:
    """``count`` values of ``dtype`` from base64; the length is checked before anything is decoded."""
    itemsize = np.dtype(dtype).itemsize
    if not isinstance(text, str) or len(text) != 4 * ((count * itemsize + 2) // 3):
        raise ValueError(f"expected {count} values")
    return np.frombuffer(base64.b64decode(text, validate=True), dtype=dtype)


def combined(first: DirectionSet, second: DirectionSet, method: str | None = None) -> DirectionSet:
    """One set holding ``first``'s directions then ``second``'s (e.g. the window's example directions,
    found one by one and saved as one file). The provenance of each part is kept under ``parts``."""
    if first.w_dim != second.w_dim:
        raise StateError(None, f"cannot join {first.w_dim}-d and {second.w_dim}-d directions")

    def parts(dset: DirectionSet) -> list[dict]:
        if "parts" in dset.parameters:
            return list(dset.parameters["parts"])
        return [{"method": dset.method, "parameters": dset.parameters, "count": len(dset)}]

    rows = np.stack([np.concatenate([first.layer_start, second.layer_start]),
                     np.concatenate([first.layer_end, second.layer_end])], axis=1)
    return DirectionSet.build(np.concatenate([first.vectors, second.vectors]),
                              np.concatenate([first.sigmas, second.sigmas]), first.names + second.names, rows,
                              method or first.method, {"parts": parts(first) + parts(second)}, first.model_sha256)


def save_directions(path: str | Path, dset: DirectionSet, overwrite: bool = False) -> None:
    """Write ``dset`` atomically; an existing file raises FileExistsError unless ``overwrite``."""
    buffer = io.BytesIO()
    np.savez(buffer, vectors=dset.vectors, sigmas=dset.sigmas, names=np.array(dset.names, dtype=np.str_),
             layer_start=dset.layer_start, layer_end=dset.layer_end, meta=np.array(dset.meta_json(), dtype=np.str_))
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(buffer.getvalue())


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, refusing pickled (object) arrays and unreadable files in one line."""
    if not path.is_file():
        raise StateError(path, "file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise StateError(path, "not an .npz archive")
            return {key: data[key] for key in data.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise StateError(path, "contains an object (pickled) array, which is refused") from None
        raise StateError(path, f"corrupt .npz: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise StateError(path, f"truncated or corrupt .npz: {exc}") from None


def load_directions(path: str | Path, generator=None) -> DirectionSet:
    """Our direction file, checked (and checked against ``generator`` when one is given)."""
    path = Path(path)
    arrays = read_npz(path)
    missing = [key for key in ARRAYS if key not in arrays]
    if missing:
        raise StateError(path, f"not a direction file: no {', '.join(missing)}")
    if arrays["names"].dtype.kind != "U" or arrays["meta"].dtype.kind != "U":
        raise StateError(path, "names and meta must be text arrays")
    for key in ("layer_start", "layer_end"):
        if arrays[key].dtype.kind not in "iu":
            raise StateError(path, f"{key} must be integers")
    try:
        meta = json.loads(str(arrays["meta"]))
        method, parameters, sha = str(meta["method"]), dict(meta["parameters"]), str(meta["model_sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(path, f"meta is not the expected JSON: {exc}") from None
    rows = np.stack([arrays["layer_start"].reshape(-1), arrays["layer_end"].reshape(-1)], axis=1)
    dset = DirectionSet.build(arrays["vectors"], arrays["sigmas"], arrays["names"].reshape(-1), rows, method,
                              parameters, sha, source=path)
    if generator is not None:
        dset.check_model(generator, path)
    return dset
