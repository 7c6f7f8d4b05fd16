"""Network snapshots and exact-resume states.

- ``network-snapshot-NNNNNN.safetensors``: our native format (``explorer.formats.native``) holding
  G_ema, G and D with their configs; ``explorer.formats.load_model`` opens it (and the run directory)
  directly, so a snapshot is immediately explorable. The metadata says kimg, tick and augment p.
- ``resume-NNNNNN.state.pt``: everything a run needs to continue as if never stopped, self-contained:
  the three networks' tensors, both optimiser states, the image count, tick and step counters, ADA's
  p and its sign accumulator, the path-length mean, and every process's RNG states (torch, CUDA,
  numpy, python). A plain tensor/number container read back with ``torch.load(weights_only=True)``, so
  it cannot run code. (Named ``.state.pt`` so that nothing mistakes it for a rosinality ``NNNNNN.pt``.)

Why the resume state holds its own copy of the weights: snapshot names count whole kimg, so short
runs overwrite ``network-snapshot-000000`` several times; a self-contained state can never be paired
with the wrong weights, whatever moment a SIGKILL strikes. Only the newest state is kept (the older one
is deleted after the new one is safely on disk), so the extra space is one snapshot's worth.

Both files are written atomically. Before writing, free disk space is checked against twice the
expected size, and the run stops with a one-line message if it is short.
"""

from __future__ import annotations

import io
import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from explorer.errors import ExplorerError
from explorer.fileio import atomic_write_bytes
from explorer.formats import native
from explorer.train.run_layout import RESUME_RE as _RESUME_RE, SNAPSHOT_RE, resume_name, snapshot_name
from explorer.train.run_options import run_options_problem

RESUME_VERSION = 1


class TrainingError(ExplorerError):
    """A training run cannot go on (no disk space, unusable resume file, ...). One line."""


def state_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * 4 for t in module.state_dict().values())


def check_disk_space(run_dir: Path, expected_bytes: int) -> None:
    free = shutil.disk_usage(run_dir).free
    if free < 2 * expected_bytes:
        raise TrainingError(
            f"{run_dir.name}: not enough free disk space for the next snapshot "
            f"({free / 2**20:.0f} MiB free, {2 * expected_bytes / 2**20:.0f} MiB needed); free some space and "
            f"--resume {run_dir}"
        )


# ------------------------------------------------------------------------------------ RNG states


def capture_rng() -> dict:
    state = {
        "torch": torch.get_rng_state(),
        "python": list(_to_lists(random.getstate())),
    }
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state["numpy"] = [name, torch.from_numpy(np.asarray(keys, np.int64)), int(pos), int(has_gauss), float(cached)]
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_to_tuples(state["python"]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _to_lists(value):
    return [_to_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def _to_tuples(value):
    return tuple(_to_tuples(v) for v in value) if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------- writing


def save_snapshot(run_dir: Path, cur_nimg: int, networks: dict, extra: dict) -> Path:
    """``networks``: {"G_ema": (config, module), "G": ..., "D": ...}; returns the file written."""
    path = Path(run_dir) / snapshot_name(cur_nimg)
    tensors = {prefix: (config, module.state_dict()) for prefix, (config, module) in networks.items()}
    provenance = {
        "source_file": f"{Path(run_dir).name}/{path.name}",
        "sha256": "",
        "source_format": "native",
        "trained_with": "explorer train",
    }
    metadata = {k: str(v) for k, v in extra.items()}
    native.write(path, tensors, provenance, extra_metadata=metadata)
    return path


def save_resume_state(run_dir: Path, cur_nimg: int, state: dict) -> Path:
    """Write the state atomically, then delete older resume states of this run directory."""
    path = Path(run_dir) / resume_name(cur_nimg)
    buffer = io.BytesIO()
    torch.save({"version": RESUME_VERSION, **state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    for old in Path(run_dir).iterdir():
        if old != path and _RESUME_RE.match(old.name):
            old.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------------------- reading


def find_resume_point(path: Path, weights_only: bool = False) -> tuple[Path, Path | None]:
    """A run directory, snapshot or resume state -> (snapshot or state file, resume state or None).

    For a directory: its newest resume state (exact resume) or, failing that, its newest snapshot
    (weights only). For a snapshot: exact if the directory's resume state was written with it.
    ``weights_only`` (fine-tuning): always (snapshot, None), a resume state standing for its snapshot.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise TrainingError(f"{path.name}: --resume: no such run directory or snapshot")
    if path.is_file():
        if _RESUME_RE.match(path.name):
            return (_snapshot_written_with(path), None) if weights_only else (path, path)
        if weights_only:
            return path, None
        meta = native.read_metadata(path) if path.suffix == ".safetensors" else {}
        for candidate in sorted(p for p in path.parent.iterdir() if _RESUME_RE.match(p.name)):
            state = load_resume_state(candidate)  # an unreadable one is an error, never a silent fresh start
            if state["snapshot"] == path.name and str(state["cur_nimg"]) == meta.get("cur_nimg"):
                return path, candidate
        return path, None
    if not weights_only:
        # Every resume state must be readable: skipping a broken one would silently restart at kimg 0.
        states = [(int(load_resume_state(p)["cur_nimg"]), p) for p in path.iterdir()
                  if _RESUME_RE.match(p.name)]
        if states:
            res = max(states)[1]
            return res, res
    snaps = sorted(path.glob("network-snapshot-*.safetensors"))
    if not snaps:
        raise TrainingError(f"{path.name}: --resume: the folder holds no network snapshot or resume state")
    return snaps[-1], None


def _snapshot_written_with(state_path: Path) -> Path:
    snap = state_path.parent / str(load_resume_state(state_path).get("snapshot", ""))
    if not snap.is_file():
        raise TrainingError(f"{state_path.name}: the network snapshot written with it ({snap.name}) is missing")
    return snap


_NO_EXACT_RESUME = ("an exact resume is impossible: add --fine-tune to start from the run's snapshot weights, "
                    "or start a fresh run")


def unusable_state(path: Path, reason: str) -> TrainingError:
    return TrainingError(f"{Path(path).name}: unusable resume state ({reason}); {_NO_EXACT_RESUME}")


def load_resume_state(path: Path) -> dict:
    """Read and check a resume state. ``weights_only`` loading runs no code from the file; the checks
    make a damaged or hostile state a one-line error here instead of a crash (or a silent restart) later."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise unusable_state(path, f"cannot read it: {type(exc).__name__}") from None
    if not isinstance(state, dict) or state.get("version") != RESUME_VERSION:
        raise unusable_state(path, "not a resume state of this program's version")
    problem = resume_state_problem(state)
    if problem:
        raise unusable_state(path, problem)
    return state


def _is_int(value, low: int = 0, high: int = 2**62) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_number(value, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def resume_state_problem(state: dict) -> str | None:
    """What is wrong with a loaded resume state's own fields (None when usable); see ``run_options_problem``
    for the run options it carries."""
    if not isinstance(state.get("snapshot"), str) or not SNAPSHOT_RE.match(state["snapshot"]):
        return "its snapshot name is not a network-snapshot-NNNNNN.safetensors file name"
    for key in ("cur_nimg", "cur_tick", "batch_idx"):
        if not _is_int(state.get(key)):
            return f"{key} is not a non-negative whole number"
    if not _is_int(state.get("world_size"), 1, 1024):
        return "world_size is not a process count"
    if not _is_number(state.get("augment_p"), 0.0, 1.0):
        return "augment_p is not a probability"
    acc = state.get("ada_acc")
    if not (isinstance(acc, list) and len(acc) == 2 and all(_is_number(v, -1e18, 1e18) for v in acc)):
        return "ada_acc is not two numbers"
    for key in ("pl_mean", "total_time"):
        if not _is_number(state.get(key, 0.0), -1e18, 1e18):
            return f"{key} is not a number"
    networks = state.get("networks")
    if not (isinstance(networks, dict) and set(networks) == {"G", "G_ema", "D"} and all(
            isinstance(sd, dict) and all(isinstance(k, str) and isinstance(t, torch.Tensor) for k, t in sd.items())
            for sd in networks.values())):
        return "networks are not the G, G_ema and D tensors"
    opt = state.get("opt")
    if not (isinstance(opt, dict) and set(opt) == {"G", "D"} and all(isinstance(v, dict) for v in opt.values())):
        return "the optimiser states are missing"
    rng = state.get("rng")
    if not (isinstance(rng, list) and rng and all(isinstance(r, dict) for r in rng)):
        return "the random-number states are missing"
    saved = capture_rng()
    try:
        for r in rng:
            restore_rng(r)  # the one faithful check of a generator state is to set it
    except Exception:
        return "a random-number state is damaged"
    finally:
        restore_rng(saved)
    if not isinstance(state.get("options"), str):
        return "the run options are missing"
    try:
        options = json.loads(state["options"])
    except (json.JSONDecodeError, RecursionError):
        return "the run options are not JSON"
    return run_options_problem(options, networks)


def load_snapshot_networks(path: Path) -> tuple[dict, dict]:
    """(metadata, {prefix: (config, state_dict)}) of a native snapshot; errors are one line."""
    try:
        return native.read_networks(path)
    except ExplorerError:
        raise
    except Exception as exc:
        raise TrainingError(f"{Path(path).name}: cannot read snapshot ({exc})") from None


def read_start_networks(path: Path) -> tuple[dict, dict]:
    """Networks to fine-tune from (a weights-only resume): (metadata, {prefix: (config, tensors)}).

    Our snapshots give G_ema, G and D; any other model file ``explorer.formats`` can open (NVIDIA
    pickles, rosinality checkpoints, converted files) gives its render generator, used for both G
    and G_ema, and D starts from scratch. Only StyleGAN2 generators can be trained here.
    """
    path = Path(path)
    from explorer.formats import detect_format, read_model_data
    from explorer.formats.validate import check_generator

    if path.suffix == ".safetensors" and detect_format(path) == "native":
        meta, nets = load_snapshot_networks(path)
    else:
        data = read_model_data(path)
        meta, nets = {}, {"G_ema": (data.config, data.tensors), "G": (data.config, data.tensors)}
    arch = nets["G_ema"][0].get("arch") if "G_ema" in nets else None
    if arch != "stylegan2":
        raise TrainingError(f"{path.name}: only StyleGAN2 generators can be trained or fine-tuned here (this is {arch})")
    for prefix in ("G_ema", "G"):  # bounded configs and tensors matching them, before anything is built
        if prefix in nets:
            check_generator(path, *nets[prefix])
    return meta, nets


def copy_params_and_buffers(src: dict[str, torch.Tensor], dst: torch.nn.Module) -> list[str]:
    """Copy tensors by name where shapes match (NVIDIA's non-strict resume); returns names not found."""
    own = dst.state_dict()
    missing = []
    with torch.no_grad():
        for name, tensor in own.items():
            if name in src and tuple(src[name].shape) == tuple(tensor.shape):
                tensor.copy_(src[name].to(tensor.dtype))
            else:
                missing.append(name)
    return missing


def metadata_json(meta: dict, key: str):
    try:
        return json.loads(meta[key])
    except (KeyError, json.JSONDecodeError):
        return None
