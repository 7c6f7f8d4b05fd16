"""From seeds to W+: the latent maths, matching NVIDIA's tools number for number.

- seed -> z exactly as gen_images.py: ``numpy.random.RandomState(seed).randn(1, z_dim)``;
- conditional models get a one-hot class vector;
- truncation is ``torch.lerp(w_avg, w, psi)`` row by row, so a psi per row is as cheap as one psi;
- fractional seeds blend the up-to-four lattice seeds of the visualizer's seed pad (seed = x + 100 y)
  bilinearly in W, after truncation;
- style mixing blends A's and B's rows with a weight per row (0/1 weights are style_mixing.py's copy).
"""

from __future__ import annotations

import math
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


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psis: tuple[float, ...]) -> torch.Tensor:
    """Pull each row of ws [..., num_ws, w_dim] toward w_avg by its own psi (NVIDIA's lerp)."""
    if all(p == 1.0 for p in psis):
        return ws
    rows = [torch.lerp(w_avg.to(ws.dtype), ws[..., i, :], p) if p != 1.0 else ws[..., i, :] for i, p in enumerate(psis)]
    return torch.stack(rows, dim=-2)


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
        g = self.generator
        device = g.mapping.w_avg.device
        z = torch.from_numpy(np.concatenate([seed_to_z(s, g.z_dim) for s in missing])).to(device, torch.float32)
        c = class_vector(g.c_dim, class_idx).to(device).expand(len(missing), -1)
        with torch.inference_mode():
            ws = g.mapping(z, c)
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
        return truncate(w, w_avg, psis)
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
    if not any(mix):
        return wa
    wb = latent_wplus(cache, state.b, state.class_idx, psis)
    weights = torch.tensor(mix, dtype=wa.dtype, device=wa.device)[:, None]
    if all(m in (0.0, 1.0) for m in mix):  # exact row copies, as style_mixing.py does
        return torch.where(weights > 0.5, wb, wa)
    return torch.lerp(wa, wb, weights)


# ---- W+ files ------------------------------------------------------------------------------------------

def load_wplus_file(path: str | Path) -> np.ndarray:
    """Read W+ rows from NVIDIA's projected_w.npz (key 'w', [N, num_ws, w_dim]) or a .npy ([num_ws, w_dim]
    or [N, num_ws, w_dim]). Returns float32 [N, num_ws, w_dim]."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as data:
                if "w" not in data.files:
                    raise StateError(path, f"npz has no 'w' array (has: {', '.join(data.files) or 'nothing'})")
                w = data["w"]
        else:
            w = np.load(path, allow_pickle=False)
    except StateError:
        raise
    except FileNotFoundError:
        raise StateError(path, "file not found") from None
    except (OSError, ValueError) as exc:
        raise StateError(path, f"not a readable .npy/.npz W+ file ({exc})") from None
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or not np.issubdtype(w.dtype, np.floating):
        raise StateError(path, f"expected float W+ of shape [num_ws, w_dim] or [N, num_ws, w_dim], got {w.dtype} {w.shape}")
    if not np.isfinite(w).all():
        raise StateError(path, "W+ holds NaN or infinite values")
    return w.astype(np.float32)


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
