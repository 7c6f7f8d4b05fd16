"""The render thread: owns the model and its ``Renderer``; the UI thread never waits on torch.

Requests carry the full state. Each kind of request has one slot ("render", "thumbA", "thumbB"): a newer
request replaces a pending one (latest wins) so a fast slider never builds a queue of stale frames, and the
state after the last change is always the one rendered last. Model loads and one-off jobs (W+ export) go
first, in order. Results come back as Qt signals (queued into the UI thread); each carries the model
``generation`` it was made with, so the window can drop results of a model it has since replaced.

Stopping early. Without it, a change made just after a render started waits for that render *and* its own
(up to two render times). Forward pre-hooks on the synthesis modules act as checkpoints: once a newer
request has waited ``STOP_GAP_S`` with nothing newer behind it (the artist has stopped moving), an in-flight
render with more than that left to go is abandoned and the newest state starts at once, so the image of the
last change arrives about one render time after it. A steady drag (requests closer than the gap) is never
interrupted, and a render that follows an abandoned one always finishes, so frames keep coming. Thumbnail
renders give way to any main render at once and are redone afterwards.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QImage

from explorer.engine.describe import describe
from explorer.engine.devices import resolve_device
from explorer.engine.state import State
from explorer.models import copy_without_hooks
from explorer.errors import ExplorerError
from explorer.gui.canvas import qimage_from_array


@dataclass
class RenderResult:
    seq: int
    generation: int
    state: State
    image: np.ndarray
    qimage: QImage
    ms: float
    key: str = "render"


STOP_GAP_S = 0.02  # mouse drags move every 8-16 ms; a 20 ms pause means the hand has stopped


class _Superseded(Exception):
    """Raised at a checkpoint inside synthesis to abandon a render that a newer request replaces."""


@dataclass
class _Job:
    kind: str
    payload: Any = None
    seq: int = 0
    t: float = field(default_factory=time.perf_counter)  # when it was requested


def one_line(exc: BaseException, path: str | Path | None = None) -> str:
    """An error as one line for the user: ExplorerErrors as they are, anything else with its type, and,
    when it came from a file, that file's name (a bare "RecursionError" tells the artist nothing)."""
    if isinstance(exc, ExplorerError):
        return str(exc)
    text = " ".join(str(exc).split()) or "no details"
    what = f"{type(exc).__name__}: {text}"
    return f"{Path(path).name}: cannot open ({what})" if path is not None else what


class RenderWorker(QThread):
    modelLoaded = Signal(int, object)  # generation, ModelDescription
    loadFailed = Signal(str, str)  # path, one-line reason
    rendered = Signal(object)  # RenderResult (key 'render' or 'thumbA' / 'thumbB')
    renderFailed = Signal(str)
    jobDone = Signal(int, object, str)  # token, result, error ('' when fine)
    busyChanged = Signal(bool)

    def __init__(self, threads: int = 1, parent=None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._slots: OrderedDict[str, _Job] = OrderedDict()
        self._jobs: list[_Job] = []
        self._stop = False
        self._threads = threads
        self._threads_applied = None
        self.renderer = None  # touched only in this thread
        self.generation = 0
        self.render_count = 0  # main renders done (tests and the benchmark read it)
        self.thumb_count = 0
        self.abandoned_count = 0  # main renders stopped early for a newer state
        self.render_ms = 0.0
        self._expected_s: float | None = None  # running estimate of a main render's duration
        self._current: _Job | None = None
        self._current_started = 0.0
        self._abandoned_last = False

    # ---- called from the UI thread (never block) -------------------------------------------------------
    def request_render(self, state: State, seq: int, key: str = "render") -> None:
        with self._cond:
            self._slots[key] = _Job(key, state, seq)
            self._cond.notify()

    def request_load(self, path: str | Path, device: str) -> None:
        with self._cond:
            self._jobs.append(_Job("load", (str(path), device)))
            self._cond.notify()

    def submit(self, token: int, fn: Callable) -> None:
        """Run ``fn(renderer)`` in this thread; ``jobDone(token, result, error)`` reports back."""
        with self._cond:
            self._jobs.append(_Job("call", fn, token))
            self._cond.notify()

    def cancel_renders(self, prefix: str) -> None:
        """Forget pending renders whose key starts with ``prefix`` (never the main render's)."""
        with self._cond:
            for key in [k for k in self._slots if k.startswith(prefix) and k != "render"]:
                del self._slots[key]

    def set_threads(self, threads: int) -> None:
        with self._cond:
            self._threads = max(1, int(threads))
            self._cond.notify()

    def stop(self) -> None:
        """Stop and join. A render in flight is abandoned at its next checkpoint; a model load (which has
        none) is waited for, since destroying a running QThread would abort the process."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self.wait()

    # ---- the thread ------------------------------------------------------------------------------------
    def _next(self) -> _Job | None:
        with self._cond:
            while not self._stop and not self._jobs and not self._slots:
                self._cond.wait()
            if self._stop:
                return None
            if self._jobs:
                return self._jobs.pop(0)
            for key in ("render", "thumbA", "thumbB"):
                if key in self._slots:
                    return self._slots.pop(key)
            return self._slots.popitem(last=False)[1]

    def run(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            self._apply_threads()
            try:
                if job.kind == "load":
                    self._load(*job.payload)
                elif job.kind == "call":
                    self._call(job)
                else:
                    self._render(job)
            except Exception:  # never let the thread die; the window shows one line
                self.renderFailed.emit("internal error: " + traceback.format_exc().strip().splitlines()[-1])

    def _apply_threads(self) -> None:
        if self._threads != self._threads_applied:
            import torch

            torch.set_num_threads(self._threads)
            self._threads_applied = self._threads

    def _load(self, path: str, device: str) -> None:
        import explorer.formats as formats
        from explorer.engine.render import Renderer

        self.busyChanged.emit(True)
        try:
            model = formats.load_model(path, resolve_device(device, strict=False))
            renderer = Renderer(model)
        except Exception as exc:  # the old model stays
            self.loadFailed.emit(path, one_line(exc, path))
            return
        finally:
            self.busyChanged.emit(False)
        g = model.generator
        info = dataclasses.replace(describe(model), device=str(renderer.device))
        for module in g.synthesis.modules():
            module.register_forward_pre_hook(self._checkpoint)
        self.renderer = renderer
        self._expected_s = None
        self.generation += 1
        with self._cond:  # requests made for the previous model are void
            self._slots.clear()
        self.modelLoaded.emit(self.generation, info)

    def _checkpoint(self, module, args) -> None:
        """Forward pre-hook on every synthesis module: abandon this render if a newer one should go first."""
        if self._stop:
            raise _Superseded  # closing: do not make the window wait for a long render
        job = self._current
        if job is None:
            return
        pending = self._slots.get("render")  # a plain read; the GIL makes it atomic
        if pending is None:
            return
        if job.kind != "render":
            raise _Superseded  # thumbnails always give way
        if self._abandoned_last or self._expected_s is None:
            return
        now = time.perf_counter()
        if now - pending.t >= STOP_GAP_S and self._current_started + self._expected_s - now > STOP_GAP_S:
            raise _Superseded

    def _render(self, job: _Job) -> None:
        if self.renderer is None:
            return
        state: State = job.payload
        start = time.perf_counter()
        self._current, self._current_started = job, start
        try:
            image = self.renderer.render(state)
        except _Superseded:
            if job.kind == "render":
                self.abandoned_count += 1
                self._abandoned_last = True
            else:
                with self._cond:  # redo the thumbnail after the main render
                    self._slots.setdefault(job.kind, job)
            return
        except Exception as exc:
            self.renderFailed.emit(one_line(exc))
            return
        finally:
            self._current = None
        elapsed = time.perf_counter() - start
        ms = elapsed * 1000
        if job.kind == "render":
            self.render_count += 1
            self.render_ms = ms
            self._abandoned_last = False
            self._expected_s = elapsed if self._expected_s is None else 0.7 * self._expected_s + 0.3 * elapsed
        else:
            self.thumb_count += 1
        result = RenderResult(job.seq, self.generation, state, image, qimage_from_array(image), ms, job.kind)
        self.rendered.emit(result)

    def private_model(self):
        """A copy of the open ``formats.Model`` for a job (call in this thread, e.g. through ``submit``):
        its own weights, without this thread's checkpoint hooks, which would abandon the job's forward
        passes whenever a render is pending."""
        model = self.renderer.model
        return dataclasses.replace(model, generator=copy_without_hooks(model.generator), notes=list(model.notes))

    def _call(self, job: _Job) -> None:
        try:
            if self.renderer is None:
                raise ExplorerError("no model is open")
            result = job.payload(self.renderer)
        except Exception as exc:
            self.jobDone.emit(job.seq, None, one_line(exc))
            return
        self.jobDone.emit(job.seq, result, "")
