"""Reading other tools' direction files, safely (no pickles: ``np.load(allow_pickle=False)``,
``torch.load(weights_only=True)``).

- GANSpace .npz: ``lat_comp`` [K, 1, w_dim] (unit), ``lat_stdev`` [K] (their sigma in W)
- InterFaceGAN .npy: one boundary [1, w_dim]; a plain .npy [K, w_dim] (or [w_dim]) reads the same way
- rosinality closed_form_factorization ``factor.pt``: ``eigvec`` [w_dim, K], the vectors are its columns
- our own .npz (``vectors``, ...) is read as it is
Vectors that come without a sigma get one measured from mapped samples.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from explorer.engine.directions.dset import DirectionSet, load_directions, read_npz
from explorer.engine.directions.methods import SIGMA_SAMPLES, measured_sigmas
from explorer.engine.jobs import JobContext
from explorer.errors import StateError


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise StateError(path, "contains an object (pickled) array, which is refused") from None
        raise StateError(path, f"corrupt .npy: {exc}") from None
    except (OSError, EOFError) as exc:
        raise StateError(path, f"truncated or corrupt .npy: {exc}") from None
    return array.reshape(1, -1) if array.ndim == 1 else array


def _read_factor_pt(path: Path) -> np.ndarray:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise StateError(path, f"refused: not a plain tensor file ({' '.join(str(exc).split())[:120]})") from None
    except (OSError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
        raise StateError(path, f"truncated or corrupt .pt: {' '.join(str(exc).split())[:160]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("eigvec"), torch.Tensor):
        raise StateError(path, "not a closed-form factor file: no 'eigvec' tensor")
    eigvec = data["eigvec"].double().numpy()
    if eigvec.ndim != 2:
        raise StateError(path, f"'eigvec' must be [w_dim, K], got shape {list(eigvec.shape)}")
    return eigvec.T


def _vectors_and_sigmas(path: Path) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The raw [K, w_dim] vectors of a foreign file, their sigmas if it has them, and the format name."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise StateError(path, "file not found")
    if suffix == ".npy":
        return _read_npy(path), None, "npy"
    if suffix == ".pt":
        return _read_factor_pt(path), None, "rosinality-factor"
    if suffix == ".npz":
        arrays = read_npz(path)
        if "lat_comp" in arrays:
            comp = arrays["lat_comp"]
            stdev = arrays.get("lat_stdev")
            return comp.reshape(comp.shape[0], -1), None if stdev is None else stdev.reshape(-1), "ganspace"
        raise StateError(path, "not a GANSpace file: no 'lat_comp' array")
    raise StateError(path, f"unknown direction file type {suffix!r} (expected .npz, .npy or .pt)")


def import_directions(path: str | Path, model, rows: tuple[int, int] | None = None,
                      sigma_samples: int = SIGMA_SAMPLES, ctx: JobContext | None = None) -> DirectionSet:
    """A direction set from any supported file, checked against ``model`` (an ``explorer.formats.Model``)."""
    path = Path(path)
    g = model.generator
    if path.suffix.lower() == ".npz" and "vectors" in read_npz(path):
        return load_directions(path, g)
    raw, sigmas, kind = _vectors_and_sigmas(path)
    if raw.dtype.kind not in "fiu":
        raise StateError(path, f"vectors must be numbers, got dtype {raw.dtype}")
    if raw.ndim != 2 or raw.shape[1] != g.w_dim:
        raise StateError(path, f"vectors of shape {list(raw.shape)} do not fit the model's {g.w_dim}-d W")
    rows = rows if rows is not None else (0, g.num_ws - 1)
    provisional = DirectionSet.build(raw, np.zeros(len(raw)), [f"{kind}{i}" for i in range(len(raw))], rows,
                                     "import", {}, model.sha256, source=path)
    if sigmas is None or len(sigmas) != len(raw) or not np.isfinite(sigmas).all():
        sigmas = measured_sigmas(g, provisional.vectors, sigma_samples, ctx)
    dset = DirectionSet.build(provisional.vectors, sigmas, provisional.names, rows, "import",
                              {"source_file": path.name, "format": kind, "sigma_samples": sigma_samples},
                              model.sha256, source=path)
    dset.check_model(g, path)
    return dset
