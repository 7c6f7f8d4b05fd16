"""File > Export video: format, fps, size and quality, then a render with progress, ETA and Cancel.

The export runs in its own QThread on its own copy of the model (loaded again from the same file and
checked against its sha256), so the artist can keep exploring while it renders and the render thread's
stop-early hooks never touch it. It goes through ``explorer.video.export.export_video``, the same path as
``explorer video``, so the window's video and the CLI's are the same frames. Cancel leaves no file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout,
)

from explorer.errors import UsageError
from explorer.video.encoders import DEFAULT_CRF, FORMATS
from explorer.video.export import Cancelled, ExportResult, Progress, export_video
from explorer.video.timeline import Timeline

FORMAT_LABELS = {"mp4": "MP4 (H.264)", "webm": "WebM (VP9)", "gif": "GIF", "png": "PNG frames (folder)"}
SUFFIX = {"mp4": ".mp4", "webm": ".webm", "gif": ".gif", "png": ""}


class ExportThread(QThread):
    """Loads the model anew and runs ``export_video``; reports through signals (queued to the UI thread)."""

    progressed = Signal(object)  # Progress
    succeeded = Signal(object)  # ExportResult
    failed = Signal(str)  # one line; '' when cancelled

    def __init__(self, model_path: Path, sha256: str, device: str, timeline: Timeline, output: Path, fmt: str,
                 fps: float, scale: int, crf: int | None, overwrite: bool, parent=None):
        super().__init__(parent)
        self.args = (model_path, sha256, device, timeline, output, fmt, fps, scale, crf, overwrite)
        self.cancel_event = threading.Event()

    def run(self) -> None:
        from explorer.engine.render import Renderer
        from explorer.formats import load_model
        from explorer.engine.devices import resolve_device
        from explorer.gui.render_worker import one_line

        model_path, sha256, device, timeline, output, fmt, fps, scale, crf, overwrite = self.args
        try:
            model = load_model(model_path, resolve_device(device, strict=False))
            if sha256 and model.sha256 != sha256:
                raise UsageError(f"{model_path.name} changed on disk since it was opened; reopen it first")
            result = export_video(Renderer(model), timeline, output, fmt=fmt, fps=fps, scale=scale, crf=crf,
                                  overwrite=overwrite, progress=self.progressed.emit, cancel=self.cancel_event)
        except Cancelled:
            self.failed.emit("")
        except Exception as exc:  # one line for the dialog, never a traceback
            self.failed.emit(one_line(exc))
        else:
            self.succeeded.emit(result)


class VideoExportDialog(QDialog):
    exportFinished = Signal(str)  # the written path
    exportFailed = Signal(str)  # one line ('cancelled' when cancelled)

    def __init__(self, window, timeline: Timeline):
        super().__init__(window)
        self.setObjectName("videoExportDialog")
        self.setAttribute(Qt.WA_DeleteOnClose)  # one dialog per export; a closed one goes away
        self.setWindowTitle("Export video")
        self.window_ = window
        self.timeline = timeline
        self.thread: ExportThread | None = None
        self.result: ExportResult | None = None

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.format = QComboBox()
        self.format.setObjectName("videoFormat")
        for fmt in FORMATS:
            self.format.addItem(FORMAT_LABELS[fmt], fmt)
        self.path = QLineEdit(str(self._suggest("mp4")))
        self.path.setObjectName("videoPath")
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.fps = QDoubleSpinBox()
        self.fps.setObjectName("videoFps")
        self.fps.setRange(1, 240)
        self.fps.setDecimals(2)
        self.fps.setValue(timeline.fps)
        self.size = QComboBox()
        self.size.setObjectName("videoSize")
        res = window.model_info.img_resolution if window.model_info else 0
        for factor in (1, 2, 4):
            self.size.addItem(f"{factor}\u00d7 ({res * factor} px)" if res else f"{factor}\u00d7", factor)
        self.crf = QSpinBox()
        self.crf.setObjectName("videoCrf")
        self.crf.setRange(0, 63)
        self.crf.setToolTip("Constant quality: lower is better and bigger (H.264 0..51, VP9 0..63)")
        self.crf.setValue(DEFAULT_CRF["mp4"])
        self.info = QLabel()
        form.addRow("Format", self.format)
        form.addRow("File", row)
        form.addRow("Frame rate", self.fps)
        form.addRow("Size", self.size)
        form.addRow("Quality (CRF)", self.crf)
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

        app = QApplication.instance()
        if app is not None:  # quitting mid-export: cancel and join, so no thread outlives the window
            app.aboutToQuit.connect(self._stop_thread)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.fps.valueChanged.connect(self._update_info)
        self._update_info()

    # ---- the form ------------------------------------------------------------------------------------
    def _suggest(self, fmt: str) -> Path:
        from explorer.fileio import next_free_path

        folder = self.window_.default_export_dir()
        stem = Path(self.window_.model_info.name).stem if self.window_.model_info else "video"
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
        frames = self.timeline.frame_count(self.fps.value())
        self.info.setText(f"{frames} frames, {frames / self.fps.value():.2f} s"
                          + (" (loops)" if self.timeline.loop else ""))

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
        info = self.window_.model_info
        if info is None:
            self._fail("no model is open")
            return
        if self.thread is not None:
            return
        output = Path(self.path.text()).expanduser()
        fmt = self.format.currentData()
        if overwrite is None:
            overwrite = False
            exists = output.exists() and (fmt != "png" or (output.is_dir() and any(output.iterdir())))
            if exists:
                if not self.window_.ask(f"{output.name} exists. Replace it?"):
                    return
                overwrite = True
        from explorer.gui import settings as prefs

        self.thread = ExportThread(info.path, info.sha256, prefs.device_preference(), self.timeline, output, fmt,
                                   self.fps.value(), self.size.currentData(),
                                   self.crf.value() if fmt in DEFAULT_CRF else None, overwrite, self)
        self.thread.progressed.connect(self._progressed)
        self.thread.succeeded.connect(self._succeeded)
        self.thread.failed.connect(self._failed)
        self.progress.setRange(0, max(1, self.timeline.frame_count(self.fps.value())))
        self.progress.setValue(0)
        self.status.setText("Loading the model\u2026")
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.thread.start()

    def cancel_or_close(self) -> None:
        if self.thread is not None:
            self.thread.cancel_event.set()
            self.status.setText("Cancelling\u2026")
        else:
            self.reject()

    def _progressed(self, p: Progress) -> None:
        self.progress.setRange(0, p.total)
        self.progress.setValue(p.done)
        self.status.setText(p.line())

    def _finish_thread(self) -> None:
        if self.thread is not None:
            self.thread.wait()
            self.thread = None
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _succeeded(self, result: ExportResult) -> None:
        self._finish_thread()
        self.result = result
        notes = "; ".join(result.notes)
        self.status.setText(f"Saved {result.path} ({result.frames} frames)" + (f"; {notes}" if notes else ""))
        self.window_.clear_error()  # an earlier failed attempt's banner no longer holds
        self.window_.statusBar().showMessage(f"Saved {result.path}", 8000)
        self.exportFinished.emit(str(result.path))

    def _failed(self, reason: str) -> None:
        self._finish_thread()
        if not reason:
            self.status.setText("Cancelled; nothing was written")
            self.exportFailed.emit("cancelled")
            return
        self._fail(reason)

    def _fail(self, reason: str) -> None:
        self.status.setText(reason)
        self.window_.show_error(reason)
        self.exportFailed.emit(reason)

    def _stop_thread(self) -> None:
        """Cancel a running export and wait for it (it removes its temporary file)."""
        if self.thread is not None:
            self.thread.cancel_event.set()
            self.thread.wait()
            self.thread = None

    def closeEvent(self, event) -> None:
        self._stop_thread()
        super().closeEvent(event)
