"""Argument helpers shared by the sub-commands: the network option, seed lists, devices, output files."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch

from explorer.engine.describe import ModelDescription
from explorer.engine.devices import DEVICES, resolve_device
from explorer.engine.params import ParamRegistry
from explorer.engine.state import State
from explorer.errors import ParamError, UsageError
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
    parser.add_argument("--device", default="auto", choices=DEVICES,
                        help="where to run the model (default: auto = cuda, else mps, else cpu)")


def pick_device(name: str) -> torch.device:
    """Resolve 'auto' and refuse devices this machine lacks with a clear message."""
    return torch.device(resolve_device(name, strict=True))


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


# ---- the state flags shared by generate, video and gui ----------------------------------------------------

@dataclass(frozen=True)
class StateFlag:
    """A dedicated command-line flag for one or two registry addresses (``--translate x,y`` sets two)."""

    dest: str
    flag: str
    addresses: tuple[str, ...]
    metavar: str


STATE_FLAGS = (
    StateFlag("trunc", "--trunc", ("psi",), "PSI"),
    StateFlag("trunc_cutoff", "--trunc-cutoff", ("trunc_cutoff",), "K"),
    StateFlag("class_idx", "--class", ("class",), "C"),
    StateFlag("noise_mode", "--noise-mode", ("noise/mode",), "MODE"),
    StateFlag("noise_seed", "--noise-seed", ("noise/seed",), "S"),
    StateFlag("translate", "--translate", ("translate/x", "translate/y"), "X,Y"),
    StateFlag("rotate", "--rotate", ("rotate",), "DEG"),
)
TRANSFORM_ADDRESSES = ("translate/x", "translate/y", "rotate")

# The flags' help comes from the registry of a model that has every kind of parameter.
_EVERY_KIND_OF_MODEL = ModelDescription(num_ws=18, w_dim=512, c_dim=10, img_resolution=1024, has_input_transform=True)


def add_state_args(parser: argparse.ArgumentParser) -> None:
    """Flags that set parameters of the rendered state; --state gives the starting point."""
    registry = ParamRegistry.for_model(_EVERY_KIND_OF_MODEL)
    for flag in STATE_FLAGS:
        params = [registry[a] for a in flag.addresses]
        label = " / ".join(p.label for p in params)
        ranges = params[0].range_text if params[0].address != "class" else "0..classes-1"
        parser.add_argument(flag.flag, dest=flag.dest, metavar=flag.metavar,
                            help=f"{label} ({ranges}; sets {', '.join(flag.addresses)})")
    parser.add_argument("--set", dest="set", action="append", default=[], metavar="ADDRESS=VALUE",
                        help="set any parameter by its address, e.g. psi=0.5 or mix/3=1 (repeatable; "
                             "`explorer params` lists them)")
    parser.add_argument("--state", type=Path, help="start from a saved state JSON (flags override its fields)")


def state_flags_given(args) -> list[str]:
    """The state flags (as typed) that the command line gave, --set included."""
    given = [flag.flag for flag in STATE_FLAGS if getattr(args, flag.dest) is not None]
    return given + (["--set"] if getattr(args, "set", None) else [])


def state_from_args(args, model, base: State | None = None) -> State:
    """The state from --state (or ``base``, e.g. one favourite of a favourites file), with every given state
    flag and then every --set applied, checked against ``model``'s parameters (a generator or a model
    description)."""
    state = base if base is not None else State.load(args.state) if args.state else State()
    registry = ParamRegistry.for_model(model, state)
    ignored = []
    for flag in STATE_FLAGS:
        text = getattr(args, flag.dest)
        if text is None:
            continue
        values = text.split(",") if len(flag.addresses) > 1 else [text]
        if len(values) != len(flag.addresses):
            raise UsageError(f"{flag.flag} needs {len(flag.addresses)} numbers separated by a comma, got {text!r}")
        for address, value in zip(flag.addresses, values):
            if address not in registry and address in TRANSFORM_ADDRESSES:
                ignored.append(flag.flag)
                continue
            if address == "class" and address not in registry:
                raise UsageError(f"{flag.flag} {text}: this model is not conditional (it has no classes)")
            try:
                state = registry.set(state, address, value)
            except ParamError as exc:
                raise UsageError(f"{flag.flag} {text}: {exc.reason}") from None
    if ignored:
        print(f"note: this model has no input transform; {'/'.join(dict.fromkeys(ignored))} ignored")
    return registry.apply(state, getattr(args, "set", None) or [])


def class_given(args) -> bool:
    """Whether the command line chose a class (--class, --set class=C, or a --state file)."""
    return (args.class_idx is not None or args.state is not None
            or any(text.partition("=")[0].strip() == "class" for text in args.set))


def check_class(generator, state: State, class_given: bool) -> None:
    """Conditional models need a class in range; say so in one line."""
    c_dim = generator.c_dim
    if c_dim and not class_given:
        raise UsageError(f"this model is conditional ({c_dim} classes): give --class 0..{c_dim - 1}")
    if c_dim and not 0 <= state.class_idx < c_dim:
        raise UsageError(f"--class {state.class_idx} is out of range 0..{c_dim - 1}")


def command_state(args, generator, base: State | None = None, edits: tuple = ()) -> State:
    """What a rendering command renders: --state (or ``base``) with its flags and --set applied, the class
    checked, then ``edits`` (the parsed --edit values) appended."""
    state = state_from_args(args, generator, base)
    check_class(generator, state, class_given(args))
    return state.replace(edits=state.edits + tuple(edits)) if edits else state
