"""From seeds to W+: the one staged pipeline, matching NVIDIA's tools number for number.

    seed / z --map_z--> W (cached per seed) --truncate--> --mix_rows--> --apply_edits--> W+

- seed -> z exactly as gen_images.py: ``numpy.random.RandomState(seed).randn(1, z_dim)``;
- conditional models get a one-hot class vector;
- truncation is ``torch.lerp(w_avg, w, psi)`` row by row, so a psi per row is as cheap as one psi;
- fractional seeds blend the up-to-four lattice seeds of the visualizer's seed pad (seed = x + 100 y)
  bilinearly in W, after truncation;
- imported W+ rows are final (no truncation) unless the latent says ``follow_psi``;
- style mixing blends A's and B's rows with a weight per row (0/1 weights are style_mixing.py's copy);
- edits add ``amount * sigma * vector`` to their rows (latent directions).

``state_wplus`` runs the stages for one state; the video code runs the same stages on batches of
interpolated z (slerp), so there is one assembly of W+, not one per caller.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from explorer.engine.state import MAX_SEED, Latent, State
from explorer.errors import StateError

SEED_PAD_ROW = 100  # the visualizer's seed pad: y steps through seeds 100 apart


def seed_to_z(seed: int, z_dim: int) -> np.ndarray:
    """NVIDIA's z for a seed: float64 [1, z_dim] (cast to float32 by the caller, as their mapping does)."""
    return np.random.RandomState(seed).randn(1, z_dim)


def class_vector(c_dim: int, class_idx: int) -> torch.Tensor:
    """One-hot [1, c_dim] (an empty [1, 0] for unconditional models)."""
    c = torch.zeros(1, c_dim)
    if c_dim:
        if not 0 <= class_idx < c_dim:
            raise ValueError(f"class {class_idx} is out of range for a model with {c_dim} classes")
        c[0, class_idx] = 1
    return c


def lattice_seeds(seed: int, offset: tuple[float, float]) -> list[tuple[int, float]]:
    """The seeds and bilinear weights of a fractional seed-pad position, as NVIDIA's visualizer blends them.

    The position is x = seed + offset[0], y = offset[1]; the corners (floor x + i, floor y + j) carry
    the seed (cx + 100 cy) mod 2**32 and weight (1 - |x - cx|)(1 - |y - cy|); zero weights are dropped.
    """
    x, y = seed + offset[0], offset[1]
    x0, y0 = math.floor(x), math.floor(y)
    out: list[tuple[int, float]] = []
    for cy in (y0, y0 + 1):
        for cx in (x0, x0 + 1):
            weight = (1 - abs(x - cx)) * (1 - abs(y - cy))
            if weight > 0:
                out.append(((cx + SEED_PAD_ROW * cy) % (MAX_SEED + 1), weight))
    return out


def map_z(generator: torch.nn.Module, z: np.ndarray, class_idx: int | list[int]) -> torch.Tensor:
    """Untruncated W+ [N, num_ws, w_dim] of float64 z [N, z_dim] (one class for all, or one per z)."""
    device = generator.mapping.w_avg.device
    classes = [class_idx] * len(z) if isinstance(class_idx, int) else class_idx
    c = torch.cat([class_vector(generator.c_dim, k) for k in classes]).to(device) if len(z) else None
    with torch.inference_mode():
        return generator.mapping(torch.from_numpy(np.asarray(z)).to(device, torch.float32), c)


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psis) -> torch.Tensor:
    """Pull each row of ws [..., num_ws, w_dim] toward w_avg by its own psi (NVIDIA's lerp).

    ``psis`` is one psi per row (a tuple), or a tensor [..., num_ws] of them for a batch of frames.
    """
    if isinstance(psis, torch.Tensor):
        return torch.lerp(w_avg.to(ws.dtype).expand_as(ws), ws, psis.to(ws.dtype)[..., None])
    if all(p == 1.0 for p in psis):
        return ws
    rows = [torch.lerp(w_avg.to(ws.dtype), ws[..., i, :], p) if p != 1.0 else ws[..., i, :] for i, p in enumerate(psis)]
    return torch.stack(rows, dim=-2)


def mix_rows(wa: torch.Tensor, wb: torch.Tensor, weights) -> torch.Tensor:
    """A's rows blended toward B's by a weight per row (a tuple, or a tensor [..., num_ws]).

    Weights that are all 0 or 1 copy rows exactly, as style_mixing.py does.
    """
    if not isinstance(weights, torch.Tensor):
        if not any(weights):
            return wa
        weights = torch.tensor(weights, dtype=wa.dtype, device=wa.device)
        if all(m in (0.0, 1.0) for m in weights.tolist()):
            return torch.where(weights[:, None] > 0.5, wb, wa)
    return torch.lerp(wa, wb, weights.to(wa.dtype)[..., None])


def edit_offset(edits, num_ws: int, w_dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The sum of the edits' displacements, [num_ws, w_dim]: ``amount * sigma * vector`` on each edit's rows."""
    offset = torch.zeros(num_ws, w_dim, dtype=dtype, device=device)
    for edit in edits:
        if len(edit.vector) != w_dim:
            raise StateError(None, f"edit {edit.name or edit.index!r} has a {len(edit.vector)}-d vector, the model's W has {w_dim}")
        rows = edit.row_range(num_ws)
        if edit.amount and len(rows):
            vector = torch.tensor(edit.vector, dtype=dtype, device=device)
            offset[rows.start:rows.stop] += edit.amount * edit.sigma * vector
    return offset


def apply_edits(w: torch.Tensor, edits) -> torch.Tensor:
    """W+ [num_ws, w_dim] moved along the edits' directions (the identity for no edits)."""
    if not any(edit.amount for edit in edits):
        return w
    return w + edit_offset(edits, w.shape[-2], w.shape[-1], w.device, w.dtype)


class MappingCache:
    """Untruncated W per (seed, class), so sliders, psi and mixing never re-run the mapping network.

    Truncation is a cheap lerp applied afterwards; caching before it keeps psi drags free too.
    """

    def __init__(self, generator: torch.nn.Module, capacity: int = 256):
        self.generator = generator
        self.capacity = capacity
        self._cache: OrderedDict[tuple[int, int], torch.Tensor] = OrderedDict()

    def w(self, seed: int, class_idx: int) -> torch.Tensor:
        """[num_ws, w_dim] untruncated W of one seed."""
        key = (seed, class_idx)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        self.prefetch([seed], class_idx)
        return self._cache[key]

    def prefetch(self, seeds: list[int], class_idx: int) -> None:
        """Map every missing seed in one batch."""
        missing = list(dict.fromkeys(s for s in seeds if (s, class_idx) not in self._cache))
        if not missing:
            return
        ws = map_z(self.generator, np.concatenate([seed_to_z(s, self.generator.z_dim) for s in missing]), class_idx)
        for seed, w in zip(missing, ws):
            self._cache[(seed, class_idx)] = w
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)

    def clear(self) -> None:
        self._cache.clear()


def latent_wplus(cache: MappingCache, latent: Latent, class_idx: int, psis: tuple[float, ...]) -> torch.Tensor:
    """[num_ws, w_dim] W+ of one latent: truncated, and blended over the seed pad if fractional."""
    g = cache.generator
    w_avg = g.mapping.w_avg
    if latent.w_plus is not None:
        w = torch.tensor(latent.w_plus, dtype=torch.float32, device=w_avg.device)
        if tuple(w.shape) != (g.num_ws, g.w_dim):
            raise StateError(None, f"imported W+ has shape {tuple(w.shape)}, the model needs ({g.num_ws}, {g.w_dim})")
        return truncate(w, w_avg, psis) if latent.follow_psi else w
    if not latent.is_fractional:
        return truncate(cache.w(latent.seed, class_idx), w_avg, psis)
    corners = lattice_seeds(latent.seed, latent.offset)
    cache.prefetch([s for s, _ in corners], class_idx)
    blend = sum(weight * truncate(cache.w(s, class_idx), w_avg, psis) for s, weight in corners)
    return blend


def state_wplus(cache: MappingCache, state: State) -> torch.Tensor:
    """The W+ [num_ws, w_dim] that a state puts into synthesis."""
    g = cache.generator
    psis = state.row_psis(g.num_ws)
    wa = latent_wplus(cache, state.a, state.class_idx, psis)
    mix = state.mix_weights(g.num_ws)
    w = mix_rows(wa, latent_wplus(cache, state.b, state.class_idx, psis), mix) if any(mix) else wa
    return apply_edits(w, state.edits)


# ---- W+ files ------------------------------------------------------------------------------------------

MAX_WPLUS_BYTES = 256 << 20  # thousands of 18 x 512 latents; anything larger is not a W+ file


def load_wplus_file(path: str | Path) -> np.ndarray:
    """Read W+ rows from NVIDIA's projected_w.npz (key 'w', [N, num_ws, w_dim]) or a .npy ([num_ws, w_dim]
    or [N, num_ws, w_dim]). Returns float32 [N, num_ws, w_dim].

    The array's header is checked before anything is allocated (a damaged or hostile file declares any
    shape it likes), object arrays are refused, and every failure is one StateError naming the file.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with zipfile.ZipFile(path) as archive:
                if "w.npy" not in archive.namelist():
                    names = ", ".join(n.removesuffix(".npy") for n in archive.namelist()) or "nothing"
                    raise StateError(path, f"npz has no 'w' array (has: {names})")
                if archive.getinfo("w.npy").file_size > MAX_WPLUS_BYTES + 4096:
                    raise StateError(path, "the 'w' array is far too large for a W+ latent")
                with archive.open("w.npy") as member:
                    w = _read_npy(member, path)
        else:
            with open(path, "rb") as handle:
                w = _read_npy(handle, path)
    except StateError:
        raise
    except FileNotFoundError:
        raise StateError(path, "file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError) as exc:
        raise StateError(path, f"not a readable .npy/.npz W+ file ({' '.join(str(exc).split())[:200]})") from None
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or not np.issubdtype(w.dtype, np.floating):
        raise StateError(path, f"expected float W+ of shape [num_ws, w_dim] or [N, num_ws, w_dim], got {w.dtype} {w.shape}")
    if not np.isfinite(w).all():
        raise StateError(path, "W+ holds NaN or infinite values")
    return w.astype(np.float32)


def _read_npy(handle, path: Path) -> np.ndarray:
    """One .npy array from an open binary file, its declared size checked first."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise StateError(path, f"unsupported .npy version {version}")
    if dtype.hasobject:
        raise StateError(path, "holds Python objects, refused (a W+ file is a plain float array)")
    if not np.issubdtype(dtype, np.floating) or dtype.itemsize > 8:
        raise StateError(path, f"expected a float W+ array, got {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize > MAX_WPLUS_BYTES:
        raise StateError(path, f"declares a {shape} array, far too large for a W+ latent")
    data = handle.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise StateError(path, f"file is truncated (the header declares {shape})")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def save_wplus_npz(path: str | Path, wplus: np.ndarray) -> None:
    """Write W+ [N, num_ws, w_dim] (or [num_ws, w_dim]) in projected_w.npz's layout, atomically."""
    import io

    from explorer.fileio import atomic_write_bytes

    w = np.asarray(wplus, dtype=np.float32)
    if w.ndim == 2:
        w = w[None]
    buffer = io.BytesIO()
    np.savez(buffer, w=w)
    atomic_write_bytes(path, buffer.getvalue())
