"""The run folder's file names, in one place for the trainer that writes them and the readers (monitor,
resume) that look for them. NVIDIA's layout; see docs/notes-training.md."""

from __future__ import annotations

import re
from pathlib import Path

OPTIONS_FILE = "training_options.json"
LOG_FILE = "log.txt"
STATS_FILE = "stats.jsonl"
REALS_FILE = "reals.png"
FAKES_INIT_FILE = "fakes_init.png"
PID_FILE = "train.pid"  # the trainer's pid while it runs (a SIGKILL leaves it, with a dead pid)
FINISHED_FILE = "finished"  # written when a run reaches its kimg target
STOP_FILE = "stop-request"
STOP_FILES = (STOP_FILE, "STOP")  # either asks the run to finish its tick, snapshot and exit
PART_SUFFIX = ".part"  # fileio.atomic_write's temporary files: never a snapshot, removed on resume

FAKES_RE = re.compile(r"^fakes(\d{6})\.png$")
SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d{6})\.(safetensors|pkl)$")
RESUME_RE = re.compile(r"^resume-(\d+)\.state\.pt$")
METRIC_RE = re.compile(r"^metric-(.+)\.jsonl$")


def fakes_name(cur_nimg: int) -> str:
    return f"fakes{cur_nimg // 1000:06d}.png"


def snapshot_name(cur_nimg: int) -> str:
    return f"network-snapshot-{cur_nimg // 1000:06d}.safetensors"


def resume_name(cur_nimg: int) -> str:
    return f"resume-{cur_nimg // 1000:06d}.state.pt"


def metric_name(metric: str) -> str:
    return f"metric-{metric}.jsonl"


def remove_partial_files(run_dir: str | Path) -> list[str]:
    """Delete the temporary ``.part`` files a killed writer left in ``run_dir``; returns their names.

    Only call this for a folder no live trainer is writing (a live one's ``.part`` is its next snapshot).
    """
    removed = []
    for path in Path(run_dir).iterdir():
        if path.name.endswith(PART_SUFFIX) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return sorted(removed)
