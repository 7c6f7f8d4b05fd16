"""The run directory, in NVIDIA's layout so their tools and ours read each other's runs.

``<outdir>/<NNNNN>-<desc>/`` with NNNNN one past the largest leading number already there, holding
``training_options.json``, ``log.txt`` (everything printed, appended), ``stats.jsonl`` (one line per
tick), ``reals.png``, ``fakes_init.png``, ``fakesNNNNNN.png``, ``network-snapshot-NNNNNN.safetensors``,
``resume-NNNNNN.state.pt`` and ``metric-<name>.jsonl``. A ``stop-request`` (or ``STOP``) file asks the run
to finish its tick, snapshot and exit.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.errors import ExplorerError
from explorer.fileio import atomic_write_bytes, atomic_write_text
from explorer.train.run_layout import LOG_FILE, STATS_FILE, STOP_FILES


class RunWriteError(ExplorerError):
    """A run file could not be written (a full disk, say): one line; the previous file is intact."""


@contextlib.contextmanager
def writing(run_dir: Path, what: str):
    """Turn an OSError while writing ``what`` into a one-line error that says how to go on.

    Every run file is written atomically (or appended and rolled back), so the previous version is intact
    and no temporary file is left; the newest resume state is what ``--resume`` continues from.
    """
    try:
        yield
    except OSError as exc:
        raise RunWriteError(f"{Path(run_dir).name}: cannot write {what}: {exc.strerror or exc}; free some space "
                            f"and --resume {run_dir}") from None


def make_run_dir(outdir: str | Path, desc: str) -> Path:
    """Create ``outdir/NNNNN-desc`` (race-free: mkdir fails if another process took the number)."""
    outdir = Path(outdir).expanduser()
    outdir.mkdir(parents=True, exist_ok=True)
    while True:
        numbers = [int(m.group(1)) for p in outdir.iterdir() if p.is_dir() and (m := re.match(r"^(\d+)", p.name))]
        run_dir = outdir / f"{max(numbers, default=-1) + 1:05d}-{desc}"
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            continue


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


class Tee:
    """Copies writes to a stream into ``log.txt`` (append), line by line, so a killed run keeps its log."""

    def __init__(self, stream, path: Path):
        self.stream = stream
        self.file = open(path, "a", encoding="utf-8", buffering=1)

    def write(self, text: str) -> int:
        self.stream.write(text)
        if self.file is not None:
            try:
                self.file.write(text)
            except OSError as exc:  # a full disk must not turn every print into a crash
                self._give_up(exc)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
        if self.file is not None:
            try:
                self.file.flush()
            except OSError as exc:
                self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        self.file = None  # the partly written line stays; the console still gets everything
        self.stream.write(f"note: log.txt is no longer written ({exc.strerror or exc})\n")

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()


class RunLog:
    """Route stdout/stderr of the training process through ``log.txt`` while the run lasts."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOG_FILE
        self._saved = None

    def __enter__(self):
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = Tee(sys.stdout, self.path)
        sys.stderr = Tee(sys.stderr, self.path)
        return self

    def __exit__(self, *exc):
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self._saved
        for tee in (out, err):
            if isinstance(tee, Tee):
                tee.flush()
                tee.close()
        return False


def append_stats(run_dir: Path, stats: dict[str, dict]) -> None:
    """Append one line to stats.jsonl; on a write error the file is cut back to its previous end."""
    append_line(Path(run_dir) / STATS_FILE, json.dumps({**stats, "timestamp": time.time()}))


def append_line(path: Path, line: str) -> None:
    data = (line + "\n").encode("utf-8")
    with open(path, "ab", buffering=0) as f:  # unbuffered: a failed write is not retried at close
        end = f.tell()
        try:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        except OSError:
            with contextlib.suppress(OSError):
                f.truncate(end)  # never leave half a line for the monitor to trip on
            raise


def stop_requested(run_dir: Path) -> bool:
    return any((Path(run_dir) / name).exists() for name in STOP_FILES)


def clear_stop_request(run_dir: Path) -> None:
    for name in STOP_FILES:
        (Path(run_dir) / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------- image grids


def grid_size(resolution: int, cap: tuple[int, int] | None = None) -> tuple[int, int]:
    """NVIDIA's grid: gw = clip(7680 / R, 7, 32), gh = clip(4320 / R, 4, 32); optionally capped."""
    gw = int(np.clip(7680 // resolution, 7, 32))
    gh = int(np.clip(4320 // resolution, 4, 32))
    if cap is not None:
        gw, gh = min(gw, cap[0]), min(gh, cap[1])
    return gw, gh


def grid_indices(dataset, gw: int, gh: int, seed: int = 0) -> list[int]:
    """Which dataset items fill the reals grid: random, repeating if the dataset is small; for a
    labelled dataset each row holds one class where possible (as NVIDIA's grid does)."""
    rng = np.random.default_rng(seed)
    n = len(dataset)
    if not dataset.has_labels:
        order = rng.permutation(n)
        return [int(order[i % n]) for i in range(gw * gh)]
    by_label: dict[tuple, list[int]] = {}
    for i in rng.permutation(n):
        by_label.setdefault(tuple(dataset.label(int(i)).tolist()), []).append(int(i))
    keys = sorted(by_label)
    out = []
    for row in range(gh):
        items = by_label[keys[row % len(keys)]]
        out += [items[x % len(items)] for x in range(gw)]
    return out


def save_grid(images: np.ndarray | torch.Tensor, path: Path, grid: tuple[int, int], drange=(-1, 1)) -> None:
    """[N, C, H, W] images (float in ``drange`` or uint8) -> one PNG of gw x gh tiles (atomic)."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().numpy()
    images = np.asarray(images)
    if images.dtype != np.uint8:
        lo, hi = drange
        images = np.rint((images - lo) * (255 / (hi - lo))).clip(0, 255).astype(np.uint8)
    gw, gh = grid
    n, c, h, w = images.shape
    images = images[: gw * gh]
    if images.shape[0] < gw * gh:
        images = np.concatenate([images, np.zeros((gw * gh - images.shape[0], c, h, w), np.uint8)])
    tiles = images.reshape(gh, gw, c, h, w).transpose(0, 3, 1, 4, 2).reshape(gh * h, gw * w, c)
    image = Image.fromarray(tiles[:, :, 0] if c == 1 else tiles)
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
