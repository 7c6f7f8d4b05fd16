"""Seed helpers shared by the window and the CLI: seed lists ("0-3,7"), random seeds and the 2-D seed pad.

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
from explorer.errors import UsageError

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


def parse_int_list(text: str, what: str = "seed", low: int = 0, high: int = MAX_SEED) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7] (inclusive ranges, as NVIDIA's scripts), each within low..high."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                start_text, end_text = part.split("-", 1)
                start, end = int(start_text), int(end_text)
                if end < start:
                    raise UsageError(f"{what} range {part!r} runs backwards")
                if end - start > 100_000:
                    raise UsageError(f"{what} range {part!r} is too long (at most 100,000 values)")
                values.extend(range(start, end + 1))
            else:
                values.append(int(part))
        except ValueError:
            raise UsageError(f"bad {what} list {text!r}: {part!r} is not a number or a range a-b") from None
    if not values:
        raise UsageError(f"empty {what} list {text!r}")
    for v in values:
        if not low <= v <= high:
            raise UsageError(f"{what} {v} is out of range {low}..{high}")
    return values
