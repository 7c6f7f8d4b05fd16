"""Argument helpers shared by the sub-commands: the network option, seed lists, devices, output files."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from explorer.engine.state import MAX_SEED, NOISE_MODES, State
from explorer.errors import UsageError
from explorer.formats import BUNDLED_MODEL

def default_network() -> Path | None:
    """The bundled model, if this checkout has one."""
    return BUNDLED_MODEL if BUNDLED_MODEL.is_file() else None


def add_network_arg(parser: argparse.ArgumentParser, positional: bool = False) -> None:
    help_text = "model file or training-run folder (default: the bundled checkpoints/default.safetensors)"
    if positional:
        parser.add_argument("network", nargs="?", help=help_text)
    else:
        parser.add_argument("--network", metavar="N", help=help_text)


def resolve_network(value: str | None) -> Path:
    if value:
        return Path(value)
    bundled = default_network()
    if bundled is None:
        raise UsageError("no --network given and no bundled model in checkpoints/default.safetensors")
    return bundled


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="where to run the model (default: auto = cuda, else mps, else cpu)")


def pick_device(name: str) -> torch.device:
    """Resolve 'auto' and refuse devices this machine lacks with a clear message."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available on this machine")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UsageError("--device mps: Apple's Metal backend is not available on this machine")
    return torch.device(name)


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


def parse_pair(text: str, what: str) -> tuple[float, float]:
    """'0.2,-0.1' -> (0.2, -0.1)."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{what} must be two numbers 'x,y', got {text!r}") from None
    return x, y


def check_writable(path: Path, force: bool) -> None:
    """Refuse to overwrite an existing output unless --force was given."""
    if path.exists() and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite)")


# ---- the state flags shared by generate and video -------------------------------------------------------

STATE_FLAGS = ("trunc", "trunc_cutoff", "class_idx", "noise_mode", "noise_seed", "translate", "rotate", "state")


def add_state_args(parser: argparse.ArgumentParser) -> None:
    """Flags that set fields of the rendered state; --state gives the starting point."""
    parser.add_argument("--trunc", type=float, help="truncation psi (default 1)")
    parser.add_argument("--trunc-cutoff", type=int, help="truncate only the first K rows of W+")
    parser.add_argument("--class", dest="class_idx", type=int, help="class index for conditional models")
    parser.add_argument("--noise-mode", choices=NOISE_MODES, help="noise inputs (default const)")
    parser.add_argument("--noise-seed", type=int, help="seed of the noise in --noise-mode random")
    parser.add_argument("--translate", help="StyleGAN3: translate x,y in image widths")
    parser.add_argument("--rotate", type=float, help="StyleGAN3: rotate in degrees")
    parser.add_argument("--state", type=Path, help="start from a saved state JSON (flags override its fields)")


def state_from_args(args) -> State:
    """The state from --state, with every given state flag applied on top."""
    state = State.load(args.state) if args.state else State()
    changes = {}
    if args.trunc is not None:
        changes["psi"] = args.trunc
    if args.trunc_cutoff is not None:
        changes["cutoff"] = args.trunc_cutoff
    if args.class_idx is not None:
        changes["class_idx"] = args.class_idx
    if args.noise_mode is not None:
        changes["noise_mode"] = args.noise_mode
    if args.noise_seed is not None:
        changes["noise_seed"] = args.noise_seed
    if args.translate is not None:
        changes["translate"] = parse_pair(args.translate, "--translate")
    if args.rotate is not None:
        changes["rotate"] = args.rotate
    try:
        return state.replace(**changes)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_class(generator, state: State, class_given: bool) -> None:
    """Conditional models need a class in range; say so in one line."""
    c_dim = generator.c_dim
    if c_dim and not class_given:
        raise UsageError(f"this model is conditional ({c_dim} classes): give --class 0..{c_dim - 1}")
    if c_dim and not 0 <= state.class_idx < c_dim:
        raise UsageError(f"--class {state.class_idx} is out of range 0..{c_dim - 1}")
