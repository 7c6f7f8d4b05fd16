"""Easing curves: how a segment's local time u in [0, 1] is reshaped before interpolating.

Every curve maps 0 to 0 and 1 to 1, so the frame at a keyframe time is the keyframe itself whatever the
easing. ``hold`` stays on the segment's first keyframe and cuts to the next one at its time, for
slideshow-style seed walks.
"""

from __future__ import annotations

from collections.abc import Callable

from explorer.errors import UsageError


def _linear(u: float) -> float:
    return u


def _ease_in(u: float) -> float:  # quadratic: starts at rest, arrives at full speed
    return u * u


def _ease_out(u: float) -> float:  # quadratic: leaves at full speed, arrives at rest
    return 1.0 - (1.0 - u) * (1.0 - u)


def _ease_in_out(u: float) -> float:  # cubic in, cubic out: a firmer stop than smoothstep
    return 4.0 * u**3 if u < 0.5 else 1.0 - (-2.0 * u + 2.0) ** 3 / 2.0


def _smoothstep(u: float) -> float:  # Hermite 3u^2 - 2u^3: gentle rest at both ends
    return u * u * (3.0 - 2.0 * u)


def _hold(u: float) -> float:
    return 1.0 if u >= 1.0 else 0.0


EASINGS: dict[str, Callable[[float], float]] = {
    "linear": _linear,
    "ease-in": _ease_in,
    "ease-out": _ease_out,
    "ease-in-out": _ease_in_out,
    "smoothstep": _smoothstep,
    "hold": _hold,
}


def check_easing(name: str) -> str:
    """``name`` if it is a known easing, else a one-line UsageError listing the choices."""
    if not isinstance(name, str) or name not in EASINGS:
        raise UsageError(f"unknown easing {name!r} (choose from: {', '.join(EASINGS)})")
    return name


def ease(name: str, u: float) -> float:
    """The eased position of local time ``u`` (clamped to [0, 1]) under the curve ``name``."""
    u = min(1.0, max(0.0, float(u)))
    return EASINGS[check_easing(name)](u)
