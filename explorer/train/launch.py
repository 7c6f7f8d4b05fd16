"""Starting trainers from a window: ``python -m explorer train ...`` as a detached process, and finding the
run folder it makes. Qt-free; the training dialog (Start) and the monitor (Resume) both use it.

The process is detached (its own session) so the run outlives the window that started it; its console
goes to a hidden log in the output folder, because a trainer that fails before it has a run folder (a bad
option, a broken dataset) leaves its one-line error only there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from explorer.train.run_layout import OPTIONS_FILE
from explorer.train.run_reader import RunDirError, RunReader, is_run_dir, run_dirs_in


def train_command(args: list[str]) -> list[str]:
    """``python -m explorer train ARGS`` with this interpreter (so a venv's trainer is the one run)."""
    return [sys.executable, "-m", "explorer", "train", *args]


def resume_command(run_dir: str | Path, options: dict | None = None) -> list[str]:
    """``explorer train --resume RUN_DIR`` with the data and output folder the run was started with
    (the trainer writes the continuation as a new run dir beside this one)."""
    run_dir = Path(run_dir)
    if options is None:
        try:
            options = json.loads((run_dir / OPTIONS_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            raise RunDirError(run_dir, f"cannot resume: {OPTIONS_FILE} is missing or unreadable") from None
    ts = options.get("training_set_kwargs") if isinstance(options, dict) else None
    data = ts.get("path") if isinstance(ts, dict) else None
    if not isinstance(data, str) or not data or "\0" in data:
        raise RunDirError(run_dir, f"cannot resume: {OPTIONS_FILE} does not name the dataset")
    return train_command(["--resume", str(run_dir), "--data", str(data), "--outdir", str(run_dir.parent)])


def console_log_path(outdir: str | Path) -> Path:
    """Where a detached trainer's console output goes until it has a run dir (hidden, in the outdir)."""
    return Path(outdir) / f".explorer-train-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"


def last_error_line(console: str | Path) -> str:
    """The trainer's one-line error from its console output (``explorer train: error: ...``), else its last line."""
    try:
        text = Path(console).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [""])[-1][:400]


def find_new_run(outdir: str | Path, before: set[str], resumed_from: Path | None = None) -> Path | None:
    """A run dir in ``outdir`` not in ``before`` (and, if given, resumed from ``resumed_from``)."""
    for path in reversed(run_dirs_in(outdir)):
        if path.name in before or not is_run_dir(path):
            continue
        if resumed_from is None:
            return path
        reader = RunReader(path)
        reader._poll_options()
        parent = reader.resumed_from
        if parent is not None and parent.resolve() == Path(resumed_from).resolve():
            return path
    return None


def start_detached(argv: list[str], console_log: str | Path, cwd: str | Path | None = None) -> subprocess.Popen:
    """Start ``argv`` in its own session so it outlives the window; stdout/stderr go to ``console_log``.

    The console log matters when the trainer fails before it has a run dir (a bad option, a broken
    dataset): that one line is all the user will get, so the dialog shows it.
    """
    console_log = Path(console_log)
    console_log.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
    else:
        kwargs["start_new_session"] = True
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(console_log, "ab") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=str(cwd) if cwd else None, env=env, **kwargs)
