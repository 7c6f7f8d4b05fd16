"""Reading a training run directory from outside the trainer, while the trainer is still writing it. Qt-free.

The monitor window, ``explorer monitor`` and tests all look at a run the same way: through the files the
trainer leaves in ``<outdir>/<NNNNN>-<desc>/`` (NVIDIA's layout, see docs/notes-training.md):
``training_options.json``, ``log.txt``, ``stats.jsonl`` (one JSON object per tick, each statistic a
``{"num", "mean", "std"}``), ``metric-<name>.jsonl``, ``reals.png``, ``fakes_init.png``,
``fakesNNNNNN.png`` and ``network-snapshot-NNNNNN.<ext>``. Nothing here talks to the trainer process
directly, so a monitor can attach to a run started by anybody, finished or not, and closing the monitor
never disturbs the run.

Why incremental: stats.jsonl grows by a line per tick for days; re-reading it every second would make
polling cost grow with the run. ``JsonlTail`` remembers the byte offset and keeps a partial last line
(the trainer may be half-way through writing it) until its newline arrives.

Steering is by files too: a graceful stop is the file ``stop-request`` (the trainer finishes the tick,
writes a snapshot and exits); starting and resuming processes is ``explorer.train.launch``'s job. File
names come from ``explorer.train.run_layout``, shared with the trainer that writes them.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from explorer.errors import ExplorerError
from explorer.fileio import atomic_write_text

from explorer.train.run_layout import (
    FAKES_INIT_FILE, FAKES_RE, FINISHED_FILE, LOG_FILE, METRIC_RE, OPTIONS_FILE, PID_FILE, SNAPSHOT_RE, STATS_FILE,
    STOP_FILE,
)

_KIMG_IN_NAME = re.compile(r"(\d{6})")


class RunDirError(ExplorerError):
    """A folder that is not a training run: one line naming it."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        super().__init__(f"{self.path.name or self.path}: {' '.join(reason.split())}")


def is_run_dir(path: str | Path) -> bool:
    """A run dir has the options file or stats or the log (a run that just started may have only one)."""
    path = Path(path)
    return path.is_dir() and any((path / name).is_file() for name in (OPTIONS_FILE, STATS_FILE, LOG_FILE))


def check_run_dir(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise RunDirError(path, "no such folder")
    if not path.is_dir():
        raise RunDirError(path, "is a file, not a training-run folder")
    if not is_run_dir(path):
        raise RunDirError(path, f"is not a training-run folder (no {OPTIONS_FILE}, {STATS_FILE} or {LOG_FILE})")
    return path


def resolve_run_dir(path: str | Path) -> Path:
    """A run dir as given, or the newest run in an output folder (people often pick the parent folder)."""
    path = Path(path).expanduser()
    if path.is_dir() and not is_run_dir(path):
        runs = [p for p in run_dirs_in(path) if is_run_dir(p)]
        if runs:
            return runs[-1]
    return check_run_dir(path)


# ------------------------------------------------------------------------------------------ jsonl tail


class JsonlTail:
    """Reads only the new complete lines of a growing JSON-lines file.

    A file that shrinks (rewritten by a resumed trainer, say) is read again from the start and
    ``reset`` is set so the caller can drop what it had. Lines that are not JSON are counted in
    ``bad_lines`` and skipped: a monitor must keep going past one damaged line.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.offset = 0
        self._partial = b""
        self.bad_lines = 0
        self.reset = False

    def read_new(self) -> list[dict]:
        self.reset = False
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:
            self.offset, self._partial, self.reset = 0, b"", True
        if size == self.offset:
            return []
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read(size - self.offset)
        except OSError:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        rows = []
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.bad_lines += 1
                continue
            if isinstance(row, dict):
                rows.append(row)
            else:
                self.bad_lines += 1
        return rows


def stat_value(row: dict, name: str) -> float | None:
    """The mean of statistic ``name`` in one stats.jsonl row (NVIDIA's {"num","mean","std"}), or a plain number."""
    value = row.get(name)
    if isinstance(value, dict):
        value = value.get("mean")
    if isinstance(value, (int, float)) and value == value:  # drop NaN, which pyqtgraph cannot draw
        return float(value)
    return None


# ------------------------------------------------------------------------------------------ snapshots


@dataclass
class Snapshot:
    """One point of the timeline: the fixed-seed fakes grid and/or the network saved at ``kimg``.

    ``kimg`` is -1 for ``fakes_init.png`` (before any training).
    """

    kimg: int
    fakes: Path | None = None
    network: Path | None = None

    @property
    def label(self) -> str:
        return "init" if self.kimg < 0 else f"{self.kimg} kimg"


def list_snapshots(run_dir: str | Path) -> list[Snapshot]:
    """Every fakes grid and network snapshot in the folder, by kimg (init first)."""
    run_dir = Path(run_dir)
    by_kimg: dict[int, Snapshot] = {}
    try:
        names = os.listdir(run_dir)
    except OSError:
        return []
    for name in names:
        if name == FAKES_INIT_FILE:
            by_kimg.setdefault(-1, Snapshot(-1)).fakes = run_dir / name
        elif m := FAKES_RE.match(name):
            by_kimg.setdefault(int(m.group(1)), Snapshot(int(m.group(1)))).fakes = run_dir / name
        elif m := SNAPSHOT_RE.match(name):
            snap = by_kimg.setdefault(int(m.group(1)), Snapshot(int(m.group(1))))
            # Prefer our native format when both exist (it opens without unpickling).
            if snap.network is None or name.endswith(".safetensors"):
                snap.network = run_dir / name
    return [by_kimg[k] for k in sorted(by_kimg)]


# ------------------------------------------------------------------------------------------- the reader


@dataclass
class Series:
    """One plotted statistic: x in kimg, y its per-tick mean."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)


@dataclass
class Update:
    """What changed since the previous ``RunReader.poll()``, so the monitor redraws only that."""

    new_rows: int = 0
    stats_reset: bool = False
    metrics_changed: bool = False
    snapshots_changed: bool = False
    log_changed: bool = False
    options_changed: bool = False

    @property
    def anything(self) -> bool:
        return bool(self.new_rows or self.stats_reset or self.metrics_changed or self.snapshots_changed
                    or self.log_changed or self.options_changed)


class RunReader:
    """Everything the monitor shows about one run dir, kept up to date by ``poll()``.

    ``series[name]`` holds every statistic seen in stats.jsonl against ``Progress/kimg``;
    ``metrics[name]`` holds metric results against the kimg of the snapshot they measured.
    """

    MAX_HISTORY = 8  # resumed-from runs followed back at most this far (and never in a cycle)

    def __init__(self, run_dir: str | Path, _depth: int = 0):
        self.run_dir = Path(run_dir)
        self._depth = _depth
        self.history: RunReader | None = None  # the run this one resumed from, read once
        self.options: dict = {}
        self.series: dict[str, Series] = {}
        self.metrics: dict[str, Series] = {}
        self.rows = 0
        self.last_row: dict = {}
        self.snapshots: list[Snapshot] = []
        self._stats = JsonlTail(self.run_dir / STATS_FILE)
        self._metric_tails: dict[str, JsonlTail] = {}
        self._options_mtime: float | None = None
        self._snap_key: tuple = ()
        self._log_key: tuple = ()

    # -- polling

    def poll(self) -> Update:
        update = Update()
        update.options_changed = self._poll_options()
        if update.options_changed and self.history is None and self.rows == 0:
            self._load_history()
        rows = self._stats.read_new()
        if self._stats.reset:
            self.rows, self.last_row = 0, {}
            self._seed_from_history()
            update.stats_reset = True
        for row in rows:
            self._add_row(row)
        update.new_rows = len(rows)
        update.metrics_changed = self._poll_metrics()
        update.snapshots_changed = self._poll_snapshots()
        update.log_changed = self._poll_log()
        return update

    def _poll_options(self) -> bool:
        path = self.run_dir / OPTIONS_FILE
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return False
        if mtime == self._options_mtime:
            return False
        try:
            options = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return False  # half-written; try again next poll
        self._options_mtime = mtime
        self.options = options if isinstance(options, dict) else {}
        return True

    # -- resumed runs: `explorer train --resume` writes a new run dir; show the whole story in one place

    @property
    def resumed_from(self) -> Path | None:
        """The run dir this run resumed from (training_options.json ``resume.snapshot``'s folder)."""
        resume = self.options.get("resume")
        snapshot = resume.get("snapshot") if isinstance(resume, dict) else None
        if not snapshot:
            return None
        parent = Path(str(snapshot)).parent
        try:
            if parent.resolve() == self.run_dir.resolve() or not is_run_dir(parent):
                return None
        except (OSError, ValueError):  # ValueError: a NUL byte in a damaged options file
            return None
        return parent

    def _load_history(self) -> None:
        parent = self.resumed_from
        if parent is None or self._depth >= self.MAX_HISTORY:
            return
        self.history = RunReader(parent, _depth=self._depth + 1)
        self.history.poll()
        self._seed_from_history()

    def _seed_from_history(self) -> None:
        """Start the series with the earlier run's points; this run's first row trims any overlap."""
        self.series.clear()
        self.metrics.clear()
        if self.history is None:
            return
        for name, series in self.history.series.items():
            self.series[name] = Series(list(series.x), list(series.y))
        for name, series in self.history.metrics.items():
            self.metrics[name] = Series(list(series.x), list(series.y))

    def _add_row(self, row: dict) -> None:
        kimg = stat_value(row, "Progress/kimg")
        if kimg is None:
            return
        last = max((s.x[-1] for s in self.series.values() if s.x), default=None)
        if last is not None and kimg <= last:
            # A resumed run restarts at its last snapshot and re-trains the ticks after it: drop those.
            for series in self.series.values():
                keep = sum(1 for x in series.x if x < kimg)
                del series.x[keep:], series.y[keep:]
        for name in row:
            value = stat_value(row, name)
            if value is None or name == "timestamp":
                continue
            series = self.series.setdefault(name, Series())
            series.x.append(kimg)
            series.y.append(value)
        self.rows += 1
        self.last_row = row

    def _poll_metrics(self) -> bool:
        changed = False
        try:
            names = [n for n in os.listdir(self.run_dir) if METRIC_RE.match(n)]
        except OSError:
            return False
        for name in sorted(names):
            tail = self._metric_tails.setdefault(name, JsonlTail(self.run_dir / name))
            for row in tail.read_new():
                results = row.get("results")
                snapshot = str(row.get("snapshot_pkl") or row.get("snapshot") or "")
                m = _KIMG_IN_NAME.search(Path(snapshot).name)
                if not isinstance(results, dict) or not m:
                    continue
                for metric, value in results.items():
                    if isinstance(value, (int, float)):
                        series = self.metrics.setdefault(metric, Series())
                        series.x.append(float(int(m.group(1))))
                        series.y.append(float(value))
                        changed = True
        return changed

    def _poll_snapshots(self) -> bool:
        snapshots = list_snapshots(self.run_dir)
        if self.history is not None:
            # The earlier run's timeline, then this run's (its fakes_init is the resume point: left out).
            own = [s for s in snapshots if s.kimg >= 0]
            first = own[0].kimg if own else None
            earlier = [s for s in self.history.snapshots if first is None or s.kimg < first]
            snapshots = earlier + own
        key = tuple((s.kimg, s.fakes, s.network, _mtime(s.fakes)) for s in snapshots)
        if key == self._snap_key:
            return False
        self._snap_key, self.snapshots = key, snapshots
        return True

    def _poll_log(self) -> bool:
        path = self.run_dir / LOG_FILE
        try:
            st = path.stat()
            key = (st.st_size, st.st_mtime)
        except OSError:
            key = ()
        if key == self._log_key:
            return False
        self._log_key = key
        return True

    # -- derived facts

    @property
    def kimg(self) -> float:
        return stat_value(self.last_row, "Progress/kimg") or 0.0

    @property
    def total_kimg(self) -> float | None:
        """The run's length from training_options.json (NVIDIA's ``total_kimg``, or ``kimg``)."""
        for key in ("total_kimg", "kimg"):
            value = self.options.get(key)
            if isinstance(value, (int, float)) and value > 0:
                return float(value)
        return None

    @property
    def sec_per_kimg(self) -> float | None:
        """Recent speed: from the last ticks' clock (robust to one slow tick), else the trainer's own figure."""
        clock = self.series.get("Timing/total_sec")
        if clock and len(clock.y) >= 2:
            n = min(len(clock.y), 5)
            dk = clock.x[-1] - clock.x[-n]
            dt = clock.y[-1] - clock.y[-n]
            if dk > 0 and dt > 0:
                return dt / dk
        return stat_value(self.last_row, "Timing/sec_per_kimg")

    @property
    def eta_seconds(self) -> float | None:
        total, speed = self.total_kimg, self.sec_per_kimg
        if total is None or speed is None:
            return None
        return max(0.0, (total - self.kimg) * speed)

    @property
    def latest_network(self) -> Path | None:
        for snap in reversed(self.snapshots):
            if snap.network is not None:
                return snap.network
        return None

    def log_tail(self, max_lines: int = 200, max_bytes: int = 64 * 1024) -> str:
        """The end of log.txt (at most ``max_bytes`` read, whatever the log's size)."""
        path = self.run_dir / LOG_FILE
        try:
            with open(path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - max_bytes))
                data = handle.read()
        except OSError:
            return ""
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        lines = text.split("\n")
        if size > max_bytes:
            lines = lines[1:]  # the first line is probably cut
        # Progress bars redraw with bare carriage returns; keep only what the line ended as.
        lines = [line.rsplit("\r", 1)[-1] for line in lines]
        return "\n".join(lines[-max_lines:]).rstrip("\n")

    def status(self, process_running: bool | None = None) -> str:
        """'running', 'stopping', 'finished', 'stopped' or 'failed' (see ``run_status``)."""
        return run_status(self.run_dir, self.kimg, self.total_kimg, self.sec_per_tick(), process_running)

    def sec_per_tick(self) -> float | None:
        return stat_value(self.last_row, "Timing/sec_per_tick")


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime if path is not None else None
    except OSError:
        return None


# ------------------------------------------------------------------------------------------ run status


def read_pid(run_dir: str | Path) -> int | None:
    """The pid in the trainer's ``train.pid`` (None when there is none, or it does not hold a number)."""
    try:
        return int((Path(run_dir) / PID_FILE).read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on Linux also: is a Python process, guarding against pid reuse)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            text = cmdline.read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # a zombie has finished
            return False
        return b"python" in text.lower() or b"explorer" in text.lower()
    return True


def run_status(
    run_dir: str | Path,
    kimg: float = 0.0,
    total_kimg: float | None = None,
    sec_per_tick: float | None = None,
    process_running: bool | None = None,
) -> str:
    """Decide whether a run is going, from what is on disk.

    Evidence, strongest first: ``process_running`` (the caller started the process and can ask it);
    the pid file the trainer keeps while it runs; otherwise recent writes to stats.jsonl / log.txt
    (within three ticks, and at least two minutes, since a tick can be slow). Not running then means
    'finished' when the kimg target was reached or the trainer left a done marker, else 'stopped'
    (stopped on request, killed, or crashed: the log says which; all can be resumed).
    """
    run_dir = Path(run_dir)
    running = process_running
    ending = log_ending(run_dir)
    if running is None:
        pid = read_pid(run_dir)
        if pid is not None:
            running = pid_alive(pid)
        elif ending:
            running = False
        else:
            newest = max((_mtime(run_dir / n) or 0.0) for n in (STATS_FILE, LOG_FILE))
            window = max(120.0, 3 * (sec_per_tick or 0.0))
            running = newest > 0 and time.time() - newest < window
    if running:
        return "stopping" if (run_dir / STOP_FILE).exists() else "running"
    if ending == "failed":
        return "failed"
    if ending == "done" or (total_kimg is not None and kimg >= total_kimg) or (run_dir / FINISHED_FILE).exists():
        return "finished"
    return "stopped"


def log_ending(run_dir: str | Path) -> str | None:
    """How the trainer said it ended, from the last line of log.txt: 'done', 'stopped', 'failed' or None.

    Our trainer ends its log with ``done: ...`` or ``stopped on request ...``; a crash leaves Python's
    last exception line. None means the log does not say (still running, or killed without a word).
    """
    try:
        with open(Path(run_dir) / LOG_FILE, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.replace("\r", "\n").split("\n") if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    if last.startswith("done:"):
        return "done"
    if last.startswith("stopped on request"):
        return "stopped"
    if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b", last) or last.startswith("explorer train: error"):
        return "failed"
    return None


# --------------------------------------------------------------------------------------------- control


def request_stop(run_dir: str | Path) -> Path:
    """Ask the trainer to finish its tick, write a snapshot and exit (it polls for this file)."""
    path = Path(run_dir) / STOP_FILE
    atomic_write_text(path, f"requested {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    return path


def run_dirs_in(outdir: str | Path) -> list[Path]:
    """The numbered run folders (``NNNNN-desc``) in an output folder, oldest number first."""
    outdir = Path(outdir)
    try:
        entries = [p for p in outdir.iterdir() if p.is_dir() and re.match(r"^\d+-", p.name)]
    except OSError:
        return []
    return sorted(entries, key=lambda p: int(p.name.split("-", 1)[0]))


def format_duration(seconds: float | None) -> str:
    """'3 h 12 min', '45 s', '2 d 4 h': precision a person reads at a glance."""
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {m:02d} min"
    days, h = divmod(hours, 24)
    return f"{days} d {h} h"
