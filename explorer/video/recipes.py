"""Timelines built for you. Each returns an ordinary ``Timeline`` the artist can then edit.

Recipes that only change state fields (seed walks, truncation sweeps, motion) need no model. Recipes that
follow a curve in latent space (circular loop, noise loop) need the model to map their points, and store
them in the keyframes as imported W+ rows (``Latent.w_plus``, untruncated and marked ``follow_psi``, so the
base state's psi and mixing still apply); their first keyframe is the plain seed itself. Those curves are sampled at
``keyframes`` points and joined by the periodic cubic spline, which follows a circle closely from about
eight points on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from explorer.engine.latents import map_z, seed_to_z
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.errors import UsageError
from explorer.video.timeline import Keyframe, Timeline


def _segment(seconds: float, count: int) -> float:
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"duration must be a positive number of seconds, got {seconds!r}")
    return seconds / count


# ---- seed walks --------------------------------------------------------------------------------------

def seed_walk(seeds: Sequence[int], seconds_per_seed: float = 2.0, base: State | None = None,
              kind: str = "cubic", easing: str = "linear", loop: bool = False, fps: float = 30.0) -> Timeline:
    """One keyframe per seed (A latent), ``seconds_per_seed`` apart, everything else from ``base``."""
    if not seeds:
        raise UsageError("a seed walk needs at least one seed")
    base = base or State()
    _segment(seconds_per_seed, 1)
    keys = tuple(Keyframe(base.replace(a=Latent(seed=int(s))), seconds_per_seed, easing) for s in seeds)
    return Timeline(keys, kind, loop, fps)


def grid_seeds(seeds: Sequence[int], cols: int = 1, rows: int = 1, num_keyframes: int | None = None,
               shuffle_seed: int | None = None) -> list[list[int]]:
    """The keyframe seeds of each grid cell, laid out as gen_video.py does.

    Optionally shuffled with ``RandomState(shuffle_seed)``; K = len(seeds) / (cols * rows) keyframes per cell
    unless ``num_keyframes`` is given (then seeds repeat cyclically); cell (x, y) takes the K consecutive
    seeds from index (y * cols + x) * K. Cells are returned row by row.
    """
    seeds = list(seeds)
    cells = cols * rows
    if not seeds or cells < 1:
        raise UsageError("a video needs at least one seed and one grid cell")
    if shuffle_seed is not None:
        np.random.RandomState(shuffle_seed).shuffle(seeds)
    if num_keyframes is None:
        if len(seeds) % cells:
            raise UsageError(f"{len(seeds)} seeds do not divide into a {cols}x{rows} grid; give a multiple of {cells}"
                             " seeds or --num-keyframes")
        num_keyframes = len(seeds) // cells
    if num_keyframes < 1:
        raise UsageError(f"need at least one keyframe per cell, got {num_keyframes}")
    flat = [seeds[i % len(seeds)] for i in range(num_keyframes * cells)]
    return [flat[c * num_keyframes:(c + 1) * num_keyframes] for c in range(cells)]


# ---- state sweeps ------------------------------------------------------------------------------------

def truncation_sweep(base: State, psi_from: float = 0.3, psi_to: float = 1.0, seconds: float = 4.0,
                     loop: bool = True, easing: str = "smoothstep", fps: float = 30.0) -> Timeline:
    """psi from ``psi_from`` to ``psi_to``; with ``loop`` it comes back (a pulsing truncation)."""
    keys = (Keyframe(base.replace(psi=psi_from, layer_psi=()), _segment(seconds, 2 if loop else 1), easing),
            Keyframe(base.replace(psi=psi_to, layer_psi=()), _segment(seconds, 2 if loop else 1), easing))
    return Timeline(keys, "linear", loop, fps)


def transform_animation(base: State, turns: int = 1, radius: float = 0.0, seconds: float = 8.0,
                        keyframes: int = 8, fps: float = 30.0) -> Timeline:
    """StyleGAN3 motion: ``turns`` full rotations while the view circles ``radius`` image widths around
    ``base``'s translate, as one seamless loop at constant speed. Models without an input transform
    ignore translate and rotate, so the video stands still.
    """
    if isinstance(turns, bool) or not isinstance(turns, int):
        raise UsageError(f"turns must be a whole number so the loop closes, got {turns!r}")
    count = max(keyframes, 4 * abs(turns), 3)  # < 180 degrees apart, so the loop closes the right way round
    keys = []
    for k in range(count):
        angle = 2 * math.pi * k / count
        translate = (base.translate[0] + radius * math.cos(angle) - radius, base.translate[1] + radius * math.sin(angle))
        keys.append(Keyframe(base.replace(rotate=base.rotate + 360.0 * turns * k / count, translate=translate),
                             _segment(seconds, count)))
    return Timeline(tuple(keys), "cubic", True, fps)


# ---- curves in latent space --------------------------------------------------------------------------

def _map(renderer: Renderer, z: np.ndarray, class_idx: int) -> torch.Tensor:
    """Untruncated W+ [N, num_ws, w_dim] of float64 z [N, z_dim]."""
    return map_z(renderer.generator, z, class_idx).cpu()


def _curve_timeline(base: State, first_seed: int, points: torch.Tensor, seconds: float, fps: float) -> Timeline:
    """A looping cubic timeline through untruncated W+ ``points`` [K, num_ws, w_dim]; keyframe 0 is the seed."""
    step = _segment(seconds, len(points))
    keys = [Keyframe(base.replace(a=Latent(seed=first_seed)), step)]
    for w in points[1:]:
        keys.append(Keyframe(base.replace(a=Latent(seed=first_seed, w_plus=tuple(map(tuple, w.tolist())), follow_psi=True)), step))
    return Timeline(tuple(keys), "cubic", True, fps)


def _circle(points: list[np.ndarray], count: int) -> np.ndarray:
    """``count`` points evenly round a closed curve through ``points`` (flat vectors), starting at the first.

    Two points p, q and a centre o: o + cos t (p - o) + sin t (q - o), an ellipse through both (a circle
    when p - o and q - o are orthogonal and equally long, as random latents nearly are). Three points:
    their circumscribed circle, in their plane.
    """
    angles = 2 * np.pi * np.arange(count) / count
    if len(points) == 2:
        p, q = points
        return np.stack([np.cos(t) * p + np.sin(t) * q for t in angles])
    p1, p2, p3 = points
    a, b = p2 - p1, p3 - p1
    gram = np.array([[a @ a, a @ b], [a @ b, b @ b]])
    if abs(np.linalg.det(gram)) < 1e-12 * (a @ a) * (b @ b):
        raise UsageError("the three seeds lie on one line; no circle passes through them")
    alpha, beta = np.linalg.solve(gram, 0.5 * np.array([a @ a, b @ b]))
    centre = p1 + alpha * a + beta * b
    u = p1 - centre
    radius = np.linalg.norm(u)
    u = u / radius
    v = (p2 - centre) - ((p2 - centre) @ u) * u
    v = v / np.linalg.norm(v)
    return np.stack([centre + radius * (np.cos(t) * u + np.sin(t) * v) for t in angles])


def circular_loop(renderer: Renderer, seeds: Sequence[int], base: State | None = None, space: str = "z",
                  seconds: float = 8.0, keyframes: int = 12, fps: float = 30.0) -> Timeline:
    """A loop round a circle in the plane of two or three seeds, in Z (then mapped) or in W.

    Two seeds: the circle about the origin of Z (about ``w_avg`` in W) through both; three seeds: the
    circle through all three.
    """
    base = base or State()
    if len(seeds) not in (2, 3):
        raise UsageError(f"a circular loop needs two or three seeds, got {len(seeds)}")
    if space not in ("z", "w"):
        raise UsageError(f"circle space must be 'z' or 'w', got {space!r}")
    if keyframes < 4:
        raise UsageError(f"a circular loop needs at least 4 keyframes, got {keyframes}")
    g = renderer.generator
    z = np.concatenate([seed_to_z(int(s), g.z_dim) for s in seeds])
    if space == "z":
        points = _map(renderer, _circle(list(z), keyframes), base.class_idx)
    else:
        w = _map(renderer, z, base.class_idx).double().reshape(len(seeds), -1).numpy()
        origin = g.mapping.w_avg.detach().double().cpu().repeat(g.num_ws).numpy() if len(seeds) == 2 else 0.0
        circle = _circle(list(w - origin), keyframes) + origin
        points = torch.from_numpy(circle).float().reshape(keyframes, g.num_ws, g.w_dim)
    return _curve_timeline(base, int(seeds[0]), points, seconds, fps)


def noise_loop(renderer: Renderer, seed: int, base: State | None = None, strength: float = 0.6,
               seconds: float = 8.0, keyframes: int = 16, walk_seed: int = 0, fps: float = 30.0) -> Timeline:
    """A smooth random walk in Z that returns to where it started (the seed), then mapped.

    z(t) = z0 + strength * sum_k (a_k (cos kt - 1) + b_k sin kt) / k over three harmonics, with a_k, b_k
    drawn from ``RandomState(walk_seed)``, rescaled to |z0| so the walk stays where the mapping was trained.
    """
    base = base or State()
    if not math.isfinite(strength) or strength < 0:
        raise UsageError(f"noise loop strength must be a non-negative number, got {strength!r}")
    if keyframes < 4:
        raise UsageError(f"a noise loop needs at least 4 keyframes, got {keyframes}")
    g = renderer.generator
    z0 = seed_to_z(int(seed), g.z_dim)[0]
    rng = np.random.RandomState(walk_seed)
    harmonics = [(k, rng.randn(g.z_dim), rng.randn(g.z_dim)) for k in (1, 2, 3)]
    norm = math.sqrt(sum(1 / k**2 for k, _, _ in harmonics))
    zs = []
    for t in 2 * np.pi * np.arange(keyframes) / keyframes:
        z = z0 + strength * sum((a * (np.cos(k * t) - 1) + b * np.sin(k * t)) / k for k, a, b in harmonics) / norm
        zs.append(z * np.linalg.norm(z0) / np.linalg.norm(z))
    return _curve_timeline(base, int(seed), _map(renderer, np.stack(zs), base.class_idx), seconds, fps)
