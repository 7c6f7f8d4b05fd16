"""Seed helpers shared by the window and the CLI: random seeds and the 2-D seed pad.

The seed pad (NVIDIA's visualizer "latent" widget) is a plane where x runs along seeds and y in steps of
``SEED_PAD_ROW`` seeds; a ``Latent`` stores it as an integer ``seed`` plus a fractional ``offset``
(x = seed + offset[0], y = offset[1]). Positions (x + 100 k, y - k) name the same seeds, which is what
``pad_latent`` uses to keep the shown integer seed the nearest lattice seed while dragging.
"""

from __future__ import annotations

import math
import random

from explorer.engine.latents import SEED_PAD_ROW
from explorer.engine.state import MAX_SEED, Latent

_rng = random.SystemRandom()


def random_seed() -> int:
    """A uniformly random seed in 0..2**32-1 (what the dice buttons and ``R`` give)."""
    return _rng.randint(0, MAX_SEED)


def step_seed(seed: int, delta: int) -> int:
    """``seed + delta`` wrapped into 0..2**32-1 (Left/Right arrows never fall off the ends)."""
    return (seed + delta) % (MAX_SEED + 1)


def pad_position(latent: Latent) -> tuple[float, float]:
    """The seed-pad (x, y) of a latent."""
    return latent.seed + latent.offset[0], latent.offset[1]


def pad_latent(x: float, y: float, snap: bool = False) -> Latent:
    """The latent at pad position (x, y): integer seed = round(x) + 100 round(y), the rest as offset.

    With ``snap`` the offset is dropped, as the visualizer's "Snap" button does.
    """
    rx, ry = math.floor(x + 0.5), math.floor(y + 0.5)
    seed = (rx + SEED_PAD_ROW * ry) % (MAX_SEED + 1)
    if snap:
        return Latent(seed=seed)
    # x' = seed + dx must be the same point as x up to the (x + 100k, y - k) equivalence, with k = ry
    return Latent(seed=seed, offset=(x - rx, y - ry))
