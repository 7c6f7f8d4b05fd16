"""Long work off the UI thread: video export, preflight, projection, direction finding, dragging.

An engine function that may take more than a moment takes a ``JobContext`` and calls
``ctx.progress(fraction, message)`` now and then, ``ctx.check()`` where stopping is safe (it raises
``JobCancelled`` once the job is cancelled) and, if it has something to show on the way (a reconstruction,
a dragged frame), ``ctx.preview(payload)``. The same function runs

- from the CLI with ``JobContext()`` or ``text_progress()`` (progress on stderr), and
- from the window through ``JobRunner.submit``, which runs it on a thread of its own and reports back
  through callbacks (the GUI marshals them to the UI thread; this module never imports Qt).

Sharing the model: a job may read the generator the window renders with (rendering never changes weights),
but a job that changes weights (fine-tuning, blending) works on its own copy (``copy.deepcopy``).
Errors end a job as one line (``Job.error``): an ``ExplorerError`` says what it says; anything else is
prefixed with the job's name, so a banner never shows a bare "MemoryError".
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from explorer.errors import ExplorerError


class JobCancelled(Exception):
    """Raised by ``JobContext.check()`` inside a job that has been cancelled."""


class JobContext:
    """What a running job sees: a place to report progress and previews, and whether to stop."""

    def __init__(self, on_progress: Callable[[float | None, str], None] | None = None,
                 on_preview: Callable[[Any], None] | None = None, cancel_event: threading.Event | None = None):
        self._on_progress = on_progress
        self._on_preview = on_preview
        self._cancel = cancel_event or threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        """Stop here (raise ``JobCancelled``) if the job was cancelled."""
        if self._cancel.is_set():
            raise JobCancelled()

    def progress(self, fraction: float | None, message: str = "") -> None:
        """Report how far the job is (0..1, or None when unknown) and what it is doing."""
        if self._on_progress is not None:
            if fraction is not None:
                fraction = min(1.0, max(0.0, float(fraction)))
            self._on_progress(fraction, message)

    def preview(self, payload: Any) -> None:
        """Hand an intermediate result to whoever watches (the window shows it; the CLI ignores it)."""
        if self._on_preview is not None:
            self._on_preview(payload)


def text_progress(stream=None, min_interval: float = 0.5) -> JobContext:
    """A context for the command line: progress as one rewritten line on stderr, at most twice a second."""
    stream = stream or sys.stderr
    last = [0.0]

    def show(fraction: float | None, message: str) -> None:
        now = time.monotonic()
        if fraction is not None and fraction < 1.0 and now - last[0] < min_interval:
            return
        last[0] = now
        percent = "" if fraction is None else f"{100 * fraction:5.1f}% "
        stream.write(f"\r{percent}{message}"[:120].ljust(40) + ("\n" if fraction == 1.0 else ""))
        stream.flush()

    return JobContext(on_progress=show)


def one_line_error(name: str, exc: BaseException) -> str:
    """The message a job's failure shows: ours as it is, anything else named and flattened to one line."""
    if isinstance(exc, ExplorerError):
        text = str(exc)
    else:
        detail = str(exc) or "no details"
        text = f"{name} failed: {type(exc).__name__}: {detail}"
    return " ".join(text.split())


PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"


@dataclass
class Job:
    """One submitted job; its fields are written by the job's thread and read by anyone."""

    id: int
    name: str
    status: str = PENDING
    fraction: float | None = None
    message: str = ""
    result: Any = None
    error: str | None = None
    context: JobContext = field(default_factory=JobContext, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED, CANCELLED)

    def cancel(self) -> None:
        self.context.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (for the CLI and tests); True if it did within ``timeout``."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished


class JobRunner:
    """Runs jobs on threads of their own and tells callbacks how they go.

    Callbacks run on the job's thread: a GUI passes functions that post to its UI thread. ``on_done``
    gets the result, ``on_error`` the one-line message, ``on_progress`` (fraction, message),
    ``on_preview`` the payload; a cancelled job calls ``on_cancelled`` (or nothing). ``on_change``
    (given once, to the runner) hears of every job that starts, moves or ends, for a jobs list.
    """

    def __init__(self, on_change: Callable[[Job], None] | None = None):
        self._on_change = on_change
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._jobs: list[Job] = []

    def submit(self, name: str, fn: Callable[[JobContext], Any], *,
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[float | None, str], None] | None = None,
               on_preview: Callable[[Any], None] | None = None,
               on_cancelled: Callable[[], None] | None = None) -> Job:
        job = Job(id=next(self._ids), name=name)

        def progress(fraction, message):
            job.fraction, job.message = fraction, message
            if on_progress is not None:
                on_progress(fraction, message)
            self._changed(job)

        job.context = JobContext(on_progress=progress, on_preview=on_preview)

        def run():
            job.status = RUNNING
            self._changed(job)
            try:
                job.result = fn(job.context)
            except JobCancelled:
                job.status = CANCELLED
                self._changed(job)
                if on_cancelled is not None:
                    on_cancelled()
                return
            except BaseException as exc:  # a job must end with a message, whatever went wrong
                job.error = one_line_error(name, exc)
                job.status = FAILED
                self._changed(job)
                if on_error is not None:
                    on_error(job.error)
                return
            if job.context.cancelled:  # finished anyway, but the user no longer wants the result
                job.status = CANCELLED
                self._changed(job)
                if on_cancelled is not None:
                    on_cancelled()
                return
            job.status, job.fraction = DONE, 1.0
            self._changed(job)
            if on_done is not None:
                on_done(job.result)

        with self._lock:
            self._jobs = [j for j in self._jobs if not j.finished] + [job]
        job._thread = threading.Thread(target=run, name=f"job-{job.id}-{name}", daemon=True)
        job._thread.start()
        return job

    def jobs(self) -> list[Job]:
        """Jobs that are running or waiting, oldest first."""
        with self._lock:
            return [j for j in self._jobs if not j.finished]

    def cancel_all(self, wait_s: float = 0.0) -> None:
        """Cancel every job; wait up to ``wait_s`` for them to end (a closing window lets an export
        remove its temporary file)."""
        jobs = self.jobs()
        for job in jobs:
            job.cancel()
        deadline = time.monotonic() + wait_s
        for job in jobs:
            job.wait(max(0.0, deadline - time.monotonic()))

    def _changed(self, job: Job) -> None:
        if self._on_change is not None:
            self._on_change(job)
