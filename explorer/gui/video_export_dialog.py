"""File > Export video: format, fps, size and quality, then a render with progress, ETA and Cancel.

The export runs as a job (``FeatureContext.run_job``: its own thread, its own copy of the model, listed in
the status bar with a cancel button), so the artist can keep exploring while it renders. It goes through ``explorer.video.export.export_video``, the same path as
``explorer video``, so the window's video and the CLI's are the same frames. Cancel leaves no file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
    QVBoxLayout,
)

from explorer.engine.jobs import JobCancelled, JobContext
from explorer.errors import ExplorerError
from explorer.gui.widgets import ComboBox, DoubleSpinBox, SpinBox
from explorer.video.encoders import DEFAULT_CRF, FORMATS
from explorer.video.export import Cancelled, ExportResult, Progress, export_video
from explorer.video.soundtrack import Soundtrack, soundtrack_from_text
from explorer.video.timeline import Timeline

FORMAT_LABELS = {"mp4": "MP4 (H.264)", "webm": "WebM (VP9)", "gif": "GIF", "png": "PNG frames (folder)"}
SUFFIX = {"mp4": ".mp4", "webm": ".webm", "gif": ".gif", "png": ""}


def export_job(timeline: Timeline, output: Path, fmt: str, fps: float, scale: int, crf: int | None,
               overwrite: bool, soundtrack: Soundtrack | None = None):
    """The export as a job ``fn(job_ctx, model)``: ``export_video`` (the CLI's path) on the job's own copy
    of the model, its progress reported with the frame counts and ETA, cancelled at the next chunk."""
    from explorer.engine.render import Renderer

    def run(job_ctx: JobContext, model) -> ExportResult:
        def report(p: Progress) -> None:
            job_ctx.progress(p.done / max(p.total, 1), p.line())

        try:
            return export_video(Renderer(model), timeline, output, fmt=fmt, fps=fps, scale=scale, crf=crf,
                                overwrite=overwrite, progress=report, cancel=lambda: job_ctx.cancelled,
                                soundtrack=soundtrack)
        except Cancelled:
            raise JobCancelled() from None

    return run


def _with_browse(field: QLineEdit, browse) -> QHBoxLayout:
    """A path field with its Browse... button."""
    button = QPushButton("Browse\u2026")
    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(field, 1)
    row.addWidget(button)
    return row


class VideoExportDialog(QDialog):
    exportFinished = Signal(str)  # the written path
    exportFailed = Signal(str)  # one line ('cancelled' when cancelled)
    progressed = Signal(float, str)  # fraction done, "frame 12/240, 3.1 s left"

    def __init__(self, ctx, timeline: Timeline):
        super().__init__(ctx.widget)
        self.setObjectName("videoExportDialog")
        self.setAttribute(Qt.WA_DeleteOnClose)  # one dialog per export; a closed one goes away
        self.setWindowTitle("Export video")
        self.ctx = ctx
        self.timeline = timeline
        self.job = None  # the JobHandle of the export under way
        self.result: ExportResult | None = None

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.format = ComboBox()
        self.format.setObjectName("videoFormat")
        for fmt in FORMATS:
            self.format.addItem(FORMAT_LABELS[fmt], fmt)
        self.path = QLineEdit(str(self._suggest("mp4")))
        self.path.setObjectName("videoPath")
        row = _with_browse(self.path, self._browse)
        self.fps = DoubleSpinBox()
        self.fps.setObjectName("videoFps")
        self.fps.setRange(1, 240)
        self.fps.setDecimals(2)
        self.fps.setValue(timeline.fps)
        self.size = ComboBox()
        self.size.setObjectName("videoSize")
        res = ctx.model_info.img_resolution if ctx.model_info else 0
        for factor in (1, 2, 4):
            self.size.addItem(f"{factor}\u00d7 ({res * factor} px)" if res else f"{factor}\u00d7", factor)
        self.crf = SpinBox()
        self.crf.setObjectName("videoCrf")
        self.crf.setRange(0, 63)
        self.crf.setToolTip("Constant quality: lower is better and bigger (H.264 0..51, VP9 0..63)")
        self.crf.setValue(DEFAULT_CRF["mp4"])
        # A soundtrack: the frames follow its features through the mappings, the video lasts as long as
        # the audio and MP4 / WebM carry it (as `explorer video --audio --map`).
        audio = timeline.audio
        self.audio = QLineEdit(str(audio.path) if audio else "")
        self.audio.setObjectName("videoAudio")
        self.audio.setPlaceholderText("none: the keyframes alone")
        audio_row = _with_browse(self.audio, self._browse_audio)
        self.audio_maps = QLineEdit("; ".join(m.to_text() for m in audio.mappings) if audio else "")
        self.audio_maps.setObjectName("videoAudioMaps")
        self.audio_maps.setPlaceholderText("low:psi:0.5..1.2; onset:edit/0/amount:0..3")
        self.audio_maps.setToolTip("FEATURE:ADDRESS:LOW..HIGH, separated by ';' (features: low, mid, high, rms, "
                                   "onset, chroma/0..11); see docs/live-control.md")
        self.audio.textChanged.connect(self._update_info)
        self.info = QLabel()
        form.addRow("Format", self.format)
        form.addRow("File", row)
        form.addRow("Frame rate", self.fps)
        form.addRow("Size", self.size)
        form.addRow("Quality (CRF)", self.crf)
        form.addRow("Audio", audio_row)
        form.addRow("Audio drives", self.audio_maps)
        form.addRow("", self.info)
        layout.addLayout(form)

        self.progress = QProgressBar()
        self.progress.setObjectName("videoProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setObjectName("videoStatus")
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        layout.addWidget(self.buttons)

        self.format.currentIndexChanged.connect(self._format_changed)
        self.fps.valueChanged.connect(self._update_info)
        self._update_info()

    # ---- the form ------------------------------------------------------------------------------------
    def _suggest(self, fmt: str) -> Path:
        from explorer.fileio import next_free_path

        folder = self.ctx.default_export_dir()
        stem = Path(self.ctx.model_info.name).stem if self.ctx.model_info else "video"
        if fmt == "png":
            candidate = next_free_path(folder, stem + "-frames", "")
        else:
            candidate = next_free_path(folder, stem + "-video", SUFFIX[fmt])
        return candidate

    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        current = Path(self.path.text())
        self.path.setText(str(current.with_suffix(SUFFIX[fmt])) if fmt != "png" else str(current.with_suffix("")))
        self.crf.setEnabled(fmt in DEFAULT_CRF)
        if fmt in DEFAULT_CRF:
            self.crf.setValue(DEFAULT_CRF[fmt])

    def _update_info(self) -> None:
        if self.audio.text().strip():
            self.info.setText("as long as the audio; its sound goes into MP4 and WebM")
            return
        frames = self.timeline.frame_count(self.fps.value())
        self.info.setText(f"{frames} frames, {frames / self.fps.value():.2f} s"
                          + (" (loops)" if self.timeline.loop else ""))

    def _browse_audio(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Audio track", self.audio.text() or str(self.ctx.default_export_dir()),
                                              "Audio (*.wav *.mp3 *.flac *.ogg *.m4a *.aac *.opus);;All files (*)")
        if path:
            self.audio.setText(path)

    def soundtrack(self) -> Soundtrack | None:
        """The soundtrack the form names (None without an audio file); a bad file or mapping raises one line."""
        audio = self.audio.text().strip()
        if not audio:
            return None
        maps = [m.strip() for m in self.audio_maps.text().split(";") if m.strip()]
        return soundtrack_from_text(audio, maps)

    def _browse(self) -> None:
        fmt = self.format.currentData()
        if fmt == "png":
            path = QFileDialog.getExistingDirectory(self, "Folder for PNG frames", str(Path(self.path.text()).parent))
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export video", self.path.text(),
                                                  f"{FORMAT_LABELS[fmt]} (*{SUFFIX[fmt]})")
        if path:
            self.path.setText(path)

    # ---- running -------------------------------------------------------------------------------------
    def start(self, overwrite: bool | None = None) -> None:
        """Start the export with the form's values; an existing output is replaced only if the artist agrees."""
        info = self.ctx.model_info
        if info is None:
            self._fail("no model is open")
            return
        if self.running:
            return
        output = Path(self.path.text()).expanduser()
        fmt = self.format.currentData()
        if overwrite is None:
            overwrite = False
            exists = output.exists() and (fmt != "png" or (output.is_dir() and any(output.iterdir())))
            if exists:
                if not self.ctx.ask(f"{output.name} exists. Replace it?"):
                    return
                overwrite = True
        try:
            soundtrack = self.soundtrack()
        except ExplorerError as exc:
            self._fail(str(exc))
            return
        job = export_job(self.timeline, output, fmt, self.fps.value(), self.size.currentData(),
                         self.crf.value() if fmt in DEFAULT_CRF else None, overwrite, soundtrack)
        frames = self.timeline.frame_count(self.fps.value()) if soundtrack is None else 1000  # audio: in 1/1000s
        self.progress.setRange(0, max(1, frames))
        self.progress.setValue(0)
        self.status.setText("Preparing\u2026")
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.job = self.ctx.run_job(f"Export {output.name}", job, on_done=self._succeeded, on_error=self._failed,
                         on_progress=self._progressed, on_cancelled=self._cancelled)

    def cancel_or_close(self) -> None:
        if self.running:
            self.job.cancel()
            self.status.setText("Cancelling\u2026")
        else:
            self.reject()

    def _progressed(self, fraction: float | None, message: str) -> None:
        self.progress.setValue(round((fraction or 0.0) * self.progress.maximum()))
        self.status.setText(message)
        self.progressed.emit(fraction or 0.0, message)

    @property
    def running(self) -> bool:
        return self.job is not None

    def _finished(self) -> None:
        self.job = None
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _succeeded(self, result: ExportResult) -> None:
        self._finished()
        self.result = result
        notes = "; ".join(result.notes)
        self.status.setText(f"Saved {result.path} ({result.frames} frames)" + (f"; {notes}" if notes else ""))
        self.ctx.clear_error()  # an earlier failed attempt's banner no longer holds
        self.ctx.show_status(f"Saved {result.path}", 8000)
        self.exportFinished.emit(str(result.path))

    def _cancelled(self) -> None:
        self._finished()
        self.status.setText("Cancelled; nothing was written")
        self.exportFailed.emit("cancelled")

    def _failed(self, reason: str) -> None:
        self._finished()
        self._fail(reason)

    def _fail(self, reason: str) -> None:
        self.status.setText(reason)
        self.ctx.show_error(reason)
        self.exportFailed.emit(reason)

    def closeEvent(self, event) -> None:
        if self.running:  # closing mid-export cancels it (nothing is written) and forgets its callbacks
            self.job.cancel(detach=True)
            self.job = None
        super().closeEvent(event)
