"""The status bar's jobs indicator: the oldest running job's name, progress and a cancel button, and how
many more are waiting. Hidden while no job runs. It reads ``JobRunner.jobs()`` whenever one changes."""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from explorer.engine.jobs import Job


class JobsIndicator(QWidget):
    def __init__(self, list_jobs: Callable[[], list[Job]], parent=None):
        super().__init__(parent)
        self.setObjectName("jobsIndicator")
        self._list_jobs = list_jobs
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(120)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("\u2715")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.clicked.connect(self.cancel_shown)
        for w in (self.label, self.bar, self.cancel_button):
            row.addWidget(w)
        self._shown: Job | None = None
        self.hide()

    def refresh(self) -> None:
        jobs = self._list_jobs()
        self._shown = jobs[0] if jobs else None
        if self._shown is None:
            self.hide()
            return
        job = self._shown
        more = f" (+{len(jobs) - 1})" if len(jobs) > 1 else ""
        self.label.setText(f"{job.name}{': ' + job.message if job.message else ''}{more}")
        if job.fraction is None:
            self.bar.setRange(0, 0)  # busy, length unknown
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(job.fraction * 1000))
        self.show()

    def cancel_shown(self) -> None:
        if self._shown is not None:
            self._shown.cancel()
