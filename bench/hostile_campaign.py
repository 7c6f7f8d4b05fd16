"""Hostile-model campaign (not in CI): crafted and mutated model files through the CLI entry points.

Every case is a file (or a run folder holding it) passed to ``explorer info``, ``explorer generate``,
``explorer convert`` and the window (``explorer gui FILE --screenshot``, offscreen) in a fresh process with an address-space limit and a time limit. Each run is counted
as one of:

- clean: exit 0, or exit 2 with exactly one line on stderr;
- traceback: "Traceback" on stderr (or any other exit);
- blow-up: the process died of the memory limit (MemoryError, allocation failure, SIGKILL);
- hang: it ran past the time limit;
- code executed: a payload's marker file appeared (every crafted payload would create one if run).

    python bench/hostile_campaign.py --mutants 200 --timeout 60 --memory-gb 4 [--entry-points info,gui]
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import random
import resource
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "nvidia"
SOURCES = [FIXTURES / "sg2-skip-32.pkl", FIXTURES / "sg3t-32.pkl", ROOT / "checkpoints" / "default.safetensors"]


class _Global:
    """Pickles as the global ``module.name`` without importing it (callable only to please the pickler)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):
        raise AssertionError("never called")


class _Call:
    """Pickles as REDUCE(func, args)."""

    def __init__(self, func: _Global, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class _Pickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def save_global_ref(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())

    dispatch[_Global] = save_global_ref


def _dumps(obj) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def crafted(marker: Path) -> dict[str, bytes]:
    """Payloads that would create ``marker`` if any of their code ran, and resource attacks."""
    touch = f"open({str(marker)!r}, 'w').close()"
    cases = {}
    for module, name, arg in (("os", "system", f"touch {marker}"), ("posix", "system", f"touch {marker}"),
                              ("builtins", "eval", touch), ("builtins", "exec", touch),
                              ("subprocess", "getoutput", f"touch {marker}"), ("torch", "load", str(marker)),
                              ("torch.jit", "load", str(marker)), ("numpy", "load", str(marker))):
        cases[f"reduce-{module}.{name}"] = _dumps({"G_ema": _Call(_Global(module, name), arg)})
    cases["inst-os.system"] = b"\x80\x02(S'touch " + str(marker).encode() + b"'\nios\nsystem\n."
    meta = {"type": "class", "version": 6, "class_name": "Evil", "state": {},
            "module_src": f"{touch}\nclass Evil: pass\n"}
    cases["persistent-evil-class"] = _dumps({"G_ema": _Call(_Global("torch_utils.persistence",
                                                                    "_reconstruct_persistent_obj"), meta)})
    level: list = [0]
    for _ in range(60):
        level = [level, level]
    cases["aliased-lists"] = pickle.dumps({"G_ema": level}, protocol=4)
    for opcode in (pickle.BINBYTES8, pickle.BINUNICODE8, pickle.BYTEARRAY8, pickle.FRAME):
        cases[f"declared-{opcode!r}"] = b"\x80\x05" + opcode + struct.pack("<Q", 2**60) + b"x" * 16
    cases["deep-tuple-key"] = b"\x80\x04}N" + b"\x85" * 200_000 + b"Ns."
    cases["empty-lists"] = b"\x80\x04](" + b"]" * 5_000_000 + b"e."
    header = b"[" * 200_000 + b"]" * 200_000
    cases["native-deep-json"] = struct.pack("<Q", len(header)) + header + b"\0" * 8
    return cases


def mutants(count: int, seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    sources = [p.read_bytes() for p in SOURCES if p.exists()]
    out = {}
    for i in range(count):
        data = rng.choice(sources)
        buf = bytearray(data)
        kind = rng.choice(("flip", "truncate", "splice", "length"))
        if kind == "flip":
            for _ in range(rng.randint(1, 16)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == "truncate":
            del buf[rng.randrange(1, len(buf)):]
        elif kind == "splice":
            n = rng.randint(1, 4096)
            a, b = rng.randrange(len(buf) - n), rng.randrange(len(buf) - n)
            buf[b:b + n] = data[a:a + n]
        else:
            at = rng.randrange(min(len(buf) - 8, 1 << 16))
            buf[at:at + 8] = b"\xff" * 8
        out[f"mutant{i:04d}-{kind}"] = bytes(buf)
    return out


def classify(proc: subprocess.CompletedProcess | None, marker: Path) -> str:
    if marker.exists():
        return "code executed"
    if proc is None:
        return "hang"
    err = proc.stderr
    if "MemoryError" in err or "not enough memory" in err or "std::bad_alloc" in err or proc.returncode in (-9, 137):
        return "blow-up"
    if "Traceback" in err:
        return "traceback"
    if proc.returncode == 0 or (proc.returncode == 2 and err.strip().count("\n") == 0):
        return "clean"
    return "traceback"


def run_case(argv: list[str], timeout: float, memory: int, cwd: Path) -> subprocess.CompletedProcess | None:
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               EXPLORER_SETTINGS_DIR=str(cwd / "settings"), EXPLORER_SESSION_DIR=str(cwd / "session"))
    try:
        return subprocess.run([sys.executable, "-m", "explorer", *argv], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutants", type=int, default=100, help="mutated files (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60, help="seconds per run (default 60)")
    parser.add_argument("--memory-gb", type=float, default=4, help="address-space limit per run (default 4)")
    parser.add_argument("--entry-points", default="info,generate,convert,folder,gui")
    args = parser.parse_args()
    counts: Counter = Counter()
    bad: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        marker = tmp / "MARKER-code-ran"
        cases = {**crafted(marker), **mutants(args.mutants, args.seed)}
        for name, data in cases.items():
            suffix = ".safetensors" if name.startswith("native") else ".pkl"
            model = tmp / f"{name}{suffix}"
            model.write_bytes(data)
            folder = tmp / f"{name}-run"
            folder.mkdir()
            (folder / f"network-snapshot-000001{suffix}").write_bytes(data)
            runs = {
                "info": ["info", str(model)],
                "generate": ["generate", "--network", str(model), "--seeds", "0", "--outdir", str(tmp / "out")],
                "convert": ["convert", str(model), str(tmp / "converted.safetensors"), "--force"],
                "folder": ["info", str(folder)],
                "gui": ["gui", str(model), "--screenshot", str(tmp / "window.png"), "--force"],
            }
            for entry in args.entry_points.split(","):
                proc = run_case(runs[entry], args.timeout, int(args.memory_gb * 2**30), tmp)
                outcome = classify(proc, marker)
                counts[outcome] += 1
                counts["cases"] += 1
                if outcome != "clean":
                    bad.append(f"{outcome:>13}  {entry:<8} {name}: {(proc.stderr if proc else '').strip()[-200:]}")
                marker.unlink(missing_ok=True)
    for line in bad:
        print(line)
    print(", ".join(f"{key}: {counts[key]}" for key in
                    ("cases", "clean", "traceback", "blow-up", "hang", "code executed")))
    return 0 if counts["cases"] == counts["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
