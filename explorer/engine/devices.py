"""Where models run: the one device policy for the CLI, the window and training (which supports fewer).

``auto`` means the best device this machine has: CUDA, then Apple's MPS, then the CPU. Asking for a
device the machine lacks is an error on the command line (``strict``) and a fall-back to the CPU in the
window, which says so in its status line rather than refusing to open.
"""

from __future__ import annotations

import torch

from explorer.errors import UsageError

DEVICES = ("auto", "cpu", "cuda", "mps")
TRAINING_DEVICES = ("auto", "cpu", "cuda")  # the trainer's ops (augmentation, R1's double backward) are not tested on MPS
_MISSING = {"cuda": "no CUDA device is available on this machine",
            "mps": "Apple's Metal backend is not available on this machine"}


def available_devices(supported: tuple[str, ...] = DEVICES) -> list[str]:
    """The devices this machine has (among ``supported``), best first, always ending with 'cpu'."""
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return [d for d in devices if d in supported] + ["cpu"]


def resolve_device(preference: str, strict: bool = True, supported: tuple[str, ...] = DEVICES) -> str:
    """'auto' -> the best device; an explicit device is kept if present, else refused (strict) or 'cpu'."""
    if preference not in supported:
        raise UsageError(f"unknown device {preference!r} (use {', '.join(supported)})")
    have = available_devices(supported)
    if preference == "auto":
        return have[0]
    if preference in have:
        return preference
    if strict:
        raise UsageError(f"--device {preference}: {_MISSING[preference]}")
    return "cpu"
