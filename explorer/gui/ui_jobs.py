"""The engine's ``JobRunner`` for Qt code: every callback runs in the UI thread.

The runner's callbacks run on the job's own thread, where widgets must not be touched; ``UiJobRunner``
posts each one to the thread of the object that owns it (queued signal). When that owner has been deleted
(a dialog closed mid-job) the call is dropped instead of reaching a dead widget.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from explorer.engine.jobs import Job, JobContext, JobRunner


class _UiCall(QObject):
    """Runs callables in its own (the UI) thread: another thread emits, Qt queues the call here."""

    call = Signal(object)

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.call.connect(self._run)  # a slot of an object of the UI thread: queued when emitted elsewhere

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()

    def later(self, fn: Callable | None) -> Callable | None:
        """``fn`` wrapped to run in the UI thread whatever thread calls it (None stays None)."""
        if fn is None:
            return None

        def post(*args) -> None:
            try:
                self.call.emit(lambda: fn(*args))
            except RuntimeError:  # the owner (and this object with it) has been deleted: nobody to tell
                pass

        return post


class UiJobRunner(QObject):
    jobsChanged = Signal()  # a job started, moved or ended (queued to the UI thread)

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._ui = _UiCall(self)
        self._runner = JobRunner(on_change=self._ui.later(lambda job: self.jobsChanged.emit()))

    def submit(self, name: str, fn: Callable[[JobContext], Any], *,
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[float | None, str], None] | None = None,
               on_preview: Callable[[Any], None] | None = None,
               on_cancelled: Callable[[], None] | None = None) -> Job:
        """As ``JobRunner.submit``, with the callbacks called in the UI thread."""
        later = self._ui.later
        return self._runner.submit(name, fn, on_done=later(on_done), on_error=later(on_error),
                                   on_progress=later(on_progress), on_preview=later(on_preview),
                                   on_cancelled=later(on_cancelled))

    def jobs(self) -> list[Job]:
        return self._runner.jobs()

    def cancel_all(self, wait_s: float = 0.0) -> None:
        self._runner.cancel_all(wait_s)
