"""The options of ``explorer train``, described once.

``TrainOptions`` is one frozen dataclass; each field's metadata (``Option``: flag, help, kind, range or
choices, and the one-line rule a bad value breaks) generates the argparse parser (``add_arguments``), the
validation (``TrainOptions.__post_init__``: one-line ``UsageError``s for absurd values), the command line
(``to_argv`` / ``from_argv``, which round-trip) and the JSON copy kept in ``training_options.json``
(``to_json``). ``explorer.train.loop.train`` takes a ``TrainOptions``. A field left at None means "the
--cfg preset's value" (or, on an exact resume, "the run's").
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from explorer.engine.devices import TRAINING_DEVICES
from explorer.errors import UsageError
from explorer.train.configs import CONFIGS
from explorer.train.dataset import TRANSFORMS

MAX_SEED = 2**26 - 1  # seed * processes + rank must stay a valid 32-bit numpy seed for up to 64 processes


@dataclass(frozen=True)
class Option:
    help: str
    kind: str  # path, int, float, bool, choice, text, list
    low: float | None = None
    high: float | None = None
    above: bool = False  # the value must be strictly above ``low``
    choices: tuple[str, ...] = ()
    rule: str = ""  # what a value outside the range breaks, said in the error
    required: bool = False
    power_of_two: bool = False

    def flag(self, name: str) -> str:
        return "--" + name.replace("_", "-")


def _opt(default=None, **meta):
    return field(default=default, metadata={"option": Option(**meta)})


def _desc_ok(text: str) -> bool:
    return 0 < len(text) <= 100 and not text.startswith(".") and all(c.isalnum() or c in "-_." for c in text)


@dataclass(frozen=True)
class TrainOptions:
    data: Path = _opt(kind="path", required=True, help="dataset zip (explorer dataset) or image folder")
    outdir: Path = _opt(kind="path", required=True, help="parent folder of the run directories")
    cfg: str = _opt("tiny", kind="choice", choices=tuple(CONFIGS), help="network and hyper-parameter preset")
    gpus: int = _opt(1, kind="int", low=1, high=1024, rule="must be at least 1",
                     help="processes (one per GPU; on CPU, gloo processes)")
    batch: int | None = _opt(kind="int", low=1, high=65536, help="total batch size (default: the cfg's)")
    gamma: float | None = _opt(kind="float", low=0, high=1e9, rule="the R1 weight cannot be negative",
                               help="R1 regularisation weight (default: the cfg's)")
    kimg: float | None = _opt(kind="float", low=0, high=1e9, above=True,
                              help="train until this many thousand images (default: the cfg's)")
    tick: float | None = _opt(kind="float", low=0, high=1e9, above=True, help="kimg per progress tick (default: the cfg's)")
    snap: int | None = _opt(kind="int", low=1, high=10**9, help="ticks between snapshots (default: the cfg's)")
    mirror: bool = _opt(False, kind="bool", help="add x-flipped copies of the images")
    aug: str = _opt("ada", kind="choice", choices=("ada", "fixed", "noaug"), help="augmentation mode (default ada)")
    target: float = _opt(0.6, kind="float", low=0, high=1, rule="must be between 0 and 1",
                         help="ADA target for E[sign(D(real))] (default 0.6)")
    p: float = _opt(0.2, kind="float", low=0, high=1, rule="must be between 0 and 1",
                    help="augment probability for --aug fixed (default 0.2)")
    cond: bool = _opt(False, kind="bool", help="train a class-conditional model (needs dataset labels)")
    resume: Path | None = _opt(kind="path", help="run directory or snapshot to continue from")
    fine_tune: bool = _opt(False, kind="bool",
                           help="with --resume: take only the snapshot's weights and train on with this command's "
                                "settings (--gamma, --glr, --dlr, --mbstd-group, ...): fresh optimisers, kimg from 0")
    seed: int = _opt(0, kind="int", low=0, high=MAX_SEED, help="random seed (default 0)")
    workers: int | None = _opt(kind="int", low=0, high=256, help="data loader processes (default 3 on GPU, 0 on CPU)")
    device: str = _opt("auto", kind="choice", choices=TRAINING_DEVICES, help="default: cuda if available")
    resolution: int | None = _opt(kind="int", low=4, high=4096, power_of_two=True,
                                  help="train at this size (default: the dataset's image size)")
    transform: str = _opt("center-crop", kind="choice", choices=TRANSFORMS,
                          help="how images that are not RESOLUTION square are fitted (default center-crop)")
    metrics: tuple[str, ...] | None = _opt(kind="list",
                                           help="comma list, e.g. fid50k_full,kid50k_full (needs --feature-net)")
    feature_net: Path | None = _opt(kind="path",
                                    help="TorchScript feature network for metrics, e.g. NVIDIA's inception-2015-12-05.pt "
                                         "(runs code from the file: trusted files only)")
    glr: float | None = _opt(kind="float", low=0, high=10, above=True, rule="a learning rate must be positive",
                             help="G learning rate (default: the cfg's)")
    dlr: float | None = _opt(kind="float", low=0, high=10, above=True, rule="a learning rate must be positive",
                             help="D learning rate (default: the cfg's)")
    mbstd_group: int | None = _opt(kind="int", low=1, high=65536, rule="the group must hold at least 1 image",
                                   help="minibatch-std group size (default: the cfg's)")
    threads: int | None = _opt(kind="int", low=1, high=1024,
                               help="CPU threads per process (default: torch's choice). On a machine busy with other "
                                    "work use 1, or set OMP_WAIT_POLICY=PASSIVE: spinning threads can make steps 10x slower")
    desc: str | None = _opt(kind="text", help="run directory name after the number (default: from the options)")

    def __post_init__(self):
        for f in fields(self):
            meta: Option = f.metadata["option"]
            value = getattr(self, f.name)
            if value is None:
                if meta.required:
                    raise UsageError(f"{meta.flag(f.name)} is required")
                continue
            object.__setattr__(self, f.name, _checked(f.name, meta, value))

    # -- command lines
    def to_argv(self, explicit=()) -> list[str]:
        """``explorer train`` arguments that give these options (``from_argv`` inverts it): the fields not at
        their default, and those named in ``explicit`` whatever their value."""
        argv = []
        for f in fields(self):
            meta: Option = f.metadata["option"]
            value = getattr(self, f.name)
            if value == f.default and not meta.required and (f.name not in explicit or value is None):
                continue
            if meta.kind == "bool":
                if value:
                    argv.append(meta.flag(f.name))
            elif meta.kind == "list":
                argv.append(f"{meta.flag(f.name)}={','.join(value)}")
            elif meta.kind == "float":
                text = repr(value)  # exact, and 50.0 reads --kimg=50
                argv.append(f"{meta.flag(f.name)}={text[:-2] if text.endswith('.0') else text}")
            else:
                argv.append(f"{meta.flag(f.name)}={value}")
        return argv

    @classmethod
    def from_argv(cls, argv: list[str]) -> "TrainOptions":
        return cls.from_namespace(build_parser().parse_args(argv))

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> "TrainOptions":
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})

    def to_json(self) -> dict:
        return {f.name: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for f in fields(self) for v in [getattr(self, f.name)]}


def _checked(name: str, meta: Option, value):
    flag = meta.flag(name)
    if meta.kind == "path":
        return Path(value).expanduser()
    if meta.kind == "bool":
        return bool(value)
    if meta.kind == "choice":
        if value not in meta.choices:
            raise UsageError(f"unknown {flag} {value!r} (choose {', '.join(meta.choices)})")
        return value
    if meta.kind == "text":
        if not _desc_ok(str(value)):
            raise UsageError(f"{flag} {value!r}: use 1-100 letters, digits, '-', '_' or '.' (it names a folder)")
        return str(value)
    if meta.kind == "list":
        from explorer.train.metrics import parse_metric

        names = tuple(n.strip() for n in (value.split(",") if isinstance(value, str) else value))
        names = tuple(n for n in names if n and n != "none")
        for n in names:
            parse_metric(n)
        return names or None
    number = int(value) if meta.kind == "int" else float(value)
    low_ok = meta.low is None or (number > meta.low if meta.above else number >= meta.low)
    if not (low_ok and (meta.high is None or number <= meta.high)) or (isinstance(number, float) and math.isnan(number)):
        shown = f"{number:g}" if isinstance(number, float) else str(number)
        if meta.rule:
            raise UsageError(f"{flag} {shown}: {meta.rule}")
        bound = f"above {meta.low:g}" if meta.above else f"at least {meta.low:g}"
        raise UsageError(f"{flag} {shown}: must be {bound} and at most {meta.high:g}")
    if meta.power_of_two and number & (number - 1):
        raise UsageError(f"{flag} {number}: not a power of two between 4 and 4096 (e.g. 64, 256, 1024)")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One argparse option per field (values are checked by ``TrainOptions``, in one line)."""
    types = {"path": Path, "int": int, "float": float, "text": str, "list": str, "choice": str}
    for f in fields(TrainOptions):
        meta: Option = f.metadata["option"]
        if meta.kind == "bool":
            parser.add_argument(meta.flag(f.name), action="store_true", help=meta.help)
            continue
        kwargs = dict(type=types[meta.kind], default=f.default, help=meta.help, required=meta.required)
        if meta.kind == "choice":
            kwargs["choices"] = meta.choices
        parser.add_argument(meta.flag(f.name), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone ``explorer train`` parser whose errors are one-line ``UsageError``s (never an exit)."""

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise UsageError(message)

    parser = Parser(prog="explorer train")
    add_arguments(parser)
    return parser
