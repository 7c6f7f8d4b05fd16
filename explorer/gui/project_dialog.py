"""File > Project image... (or a dropped photo): crop, choose stages, steps and losses, watch it converge.

The projection is ``explorer.engine.project.project``, the same as ``explorer project``, run as a window job
(on a private copy of the model, progress and cancel in the status bar and here); every few steps the target
and the current reconstruction show side by side. The result becomes seed A's latent (imported W+, final:
``follow_psi`` off) in one undoable step, so the artist can at once take rows from seed B, apply directions
or keyframe it. After PTI the tuned model is saved beside the photo and, if the artist agrees, opened with
the projection as its state. "Save projection video" writes NVIDIA's proj.mp4 ([target | reconstruction]
at every step) while it runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from explorer.engine.project import STAGES, Crop, ProjectionOptions, ProjectionPreview, fit_target, read_image
from explorer.engine.project.optimize import STAGE_LABELS
from explorer.engine.project.target import IMAGE_SUFFIXES, SourceImage
from explorer.engine.state import Latent
from explorer.errors import ExplorerError
from explorer.fileio import next_free_path
from explorer.gui.canvas import qimage_from_array
from explorer.gui.widgets import SpinBox, Thumbnail

PREVIEW_SIZE = 192
STEP_DEFAULTS = {stage: ProjectionOptions().steps_of(stage) for stage in STAGES}


class CropView(QWidget):
    """The photo with the square that will be projected: drag to move it, the wheel to resize it."""

    cropChanged = Signal(object)  # Crop

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(240, 240)
        self.source: SourceImage | None = None
        self.crop: Crop | None = None
        self._qimage = None

    def set_source(self, source: SourceImage) -> None:
        self.source, self._qimage = source, qimage_from_array(source.pixels)
        self.set_crop(Crop.centre(source.width, source.height))

    def set_crop(self, crop: Crop) -> None:
        w, h = self.source.width, self.source.height
        size = max(1, min(crop.size, w, h))
        self.crop = Crop(min(max(0, crop.left), w - size), min(max(0, crop.top), h - size), size)
        self.update()
        self.cropChanged.emit(self.crop)

    def _image_rect(self) -> QRectF:
        scale = min(self.width() / self.source.width, self.height() / self.source.height)
        w, h = self.source.width * scale, self.source.height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:
        if self.source is None:
            return
        painter = QPainter(self)
        rect = self._image_rect()
        painter.drawImage(rect, self._qimage)
        scale = rect.width() / self.source.width
        c = self.crop
        painter.setPen(QPen(QColor("#ffcc33"), 2))
        painter.drawRect(QRectF(rect.left() + c.left * scale, rect.top() + c.top * scale, c.size * scale, c.size * scale))

    def _source_point(self, pos: QPointF) -> tuple[float, float]:
        rect = self._image_rect()
        scale = rect.width() / self.source.width
        return (pos.x() - rect.left()) / scale, (pos.y() - rect.top()) / scale

    def mousePressEvent(self, event) -> None:
        self.mouseMoveEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.source is None:
            return
        x, y = self._source_point(event.position())
        half = self.crop.size / 2
        self.set_crop(Crop(round(x - half), round(y - half), self.crop.size))

    def wheelEvent(self, event) -> None:
        if self.source is None:
            return
        c = self.crop
        size = round(c.size * (0.9 if event.angleDelta().y() > 0 else 1.1))
        centre = (c.left + c.size / 2, c.top + c.size / 2)
        self.set_crop(Crop(round(centre[0] - size / 2), round(centre[1] - size / 2), max(8, size)))


class ProjectDialog(QDialog):
    """Choose and watch a projection; non-modal, so the artist can keep exploring while it runs."""

    def __init__(self, feature: "ProjectFeature"):
        super().__init__(feature.ctx.widget)
        self.feature = feature
        self.setWindowTitle("Project image")
        self.source: SourceImage | None = None
        self._job_ctx = None

        self.path_label = QLabel("(no image)")
        choose = QPushButton("Choose image...")
        choose.clicked.connect(self.choose_image)
        self.crop_view = CropView()
        self.crop_view.cropChanged.connect(lambda crop: self._show_target())

        stages = QGroupBox("Stages")
        grid = QGridLayout(stages)
        self.stage_boxes, self.step_boxes = {}, {}
        for row, stage in enumerate(STAGES):
            box = QCheckBox(STAGE_LABELS[stage])
            box.setObjectName(f"stage_{stage}")
            box.setChecked(stage in ProjectionOptions().stages)
            steps = SpinBox()
            steps.setObjectName(f"steps_{stage}")
            steps.setRange(1, 100_000)
            steps.setValue(STEP_DEFAULTS[stage])
            grid.addWidget(box, row, 0)
            grid.addWidget(QLabel("steps"), row, 1)
            grid.addWidget(steps, row, 2)
            self.stage_boxes[stage], self.step_boxes[stage] = box, steps

        losses = QGroupBox("Losses")
        form = QFormLayout(losses)
        self.loss_boxes = {}
        for name, label in (("pixel", "pixels (L2)"), ("ssim", "multi-scale SSIM"), ("d", "discriminator features"),
                            ("vgg", "VGG16 features")):
            box = QCheckBox(label)
            box.setObjectName(f"loss_{name}")
            box.setChecked(name in ProjectionOptions().losses)
            self.loss_boxes[name] = box
            form.addRow(box)
        self.d_file = QLineEdit()
        self.d_file.setPlaceholderText("the open model or its training snapshot")
        self.vgg_file = QLineEdit()
        self.vgg_file.setPlaceholderText("vgg16-397923af.pth")
        form.addRow("D from", self.d_file)
        form.addRow("VGG16 weights", self.vgg_file)

        self.video_box = QCheckBox("Save projection video")
        self.video_path = QLineEdit()
        self.target_view, self.current_view = Thumbnail(PREVIEW_SIZE), Thumbnail(PREVIEW_SIZE)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.run_button = QPushButton("Project")
        self.run_button.setObjectName("project_run")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        close = QPushButton("Close")
        close.clicked.connect(self.close)

        left = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.path_label, 1)
        top.addWidget(choose)
        left.addLayout(top)
        left.addWidget(self.crop_view, 1)
        right = QVBoxLayout()
        right.addWidget(stages)
        right.addWidget(losses)
        right.addWidget(self.video_box)
        right.addWidget(self.video_path)
        previews = QHBoxLayout()
        for title, view in (("target", self.target_view), ("reconstruction", self.current_view)):
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            column.addWidget(view)
            previews.addLayout(column)
        right.addLayout(previews)
        right.addWidget(self.status)
        right.addWidget(self.progress)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.cancel_button, close):
            buttons.addWidget(button)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right)

    # ---- choosing ------------------------------------------------------------------------------------
    def choose_image(self) -> None:
        pattern = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Project image", "", f"Images ({pattern})")
        if path:
            self.set_image(path)

    def set_image(self, path: str | Path) -> bool:
        """Show ``path`` as the target (its centre square cropped); False with a banner if it is unusable."""
        try:
            source = read_image(path)
        except ExplorerError as exc:
            self.feature.ctx.show_error(str(exc))
            return False
        self.source = source
        self.path_label.setText(Path(path).name + (f" ({'; '.join(source.notes)})" if source.notes else ""))
        self.video_path.setText(str(next_free_path(Path(path).parent, f"{Path(path).stem}-proj", ".mp4")))
        self.crop_view.set_source(source)
        return True

    def target(self) -> np.ndarray:
        info = self.feature.ctx.model_info
        return fit_target(self.source, info.img_resolution, info.img_channels, self.crop_view.crop)

    def _show_target(self) -> None:
        if self.source is not None and self.feature.ctx.model_info is not None:
            self.target_view.set_array(self.target())

    def options(self) -> ProjectionOptions:
        steps = {f"{stage}_steps": self.step_boxes[stage].value() for stage in STAGES}
        return ProjectionOptions(stages=tuple(s for s in STAGES if self.stage_boxes[s].isChecked()),
                                 losses=tuple(n for n, box in self.loss_boxes.items() if box.isChecked()),
                                 class_idx=self.feature.ctx.state.class_idx, **steps)

    # ---- running -------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.source is None:
            self.feature.ctx.show_error("Project image: choose an image first")
            return
        try:
            options = self.options()
            target = self.target()
        except ExplorerError as exc:
            self.feature.ctx.show_error(str(exc))
            return
        video = Path(self.video_path.text()) if self.video_box.isChecked() else None
        if video is not None and video.exists() and not self.feature.ctx.ask(f"{video.name} exists. Replace it?"):
            return
        files = {"d": self.d_file.text().strip() or None, "vgg": self.vgg_file.text().strip() or None}
        tuned_path = None
        if "pti" in options.stages:
            tuned_path = next_free_path(self.source.path.parent, f"{self.source.path.stem}-pti", ".safetensors")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("starting...")
        self.feature.run(self, options, target, files, video, tuned_path)

    def job_started(self, job_ctx) -> None:
        self._job_ctx = job_ctx

    def cancel(self) -> None:
        if self._job_ctx is not None:
            self._job_ctx.cancel()

    def show_progress(self, fraction: float | None, message: str) -> None:
        if fraction is not None:
            self.progress.setValue(round(1000 * fraction))
        self.status.setText(message)

    def show_preview(self, preview: ProjectionPreview) -> None:
        self.current_view.set_array(preview.image)

    def finished_job(self, text: str) -> None:
        self._job_ctx = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText(text)


class ProjectFeature:
    """Installs the menu entry and the photo file handler; applies results to the document."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.dialog: ProjectDialog | None = None
        self.last_result = None
        ctx.add_action("file", "Project image...", self.open_dialog, name="project_image",
                       tip="Find the latent of a photo (W, W+, PTI) and make it seed A")
        ctx.add_file_handler(IMAGE_SUFFIXES, self.offer)

    def open_dialog(self, path: str | None = None) -> ProjectDialog:
        if self.dialog is None:
            self.dialog = ProjectDialog(self)
        if path is not None and not self.dialog.set_image(path):
            return self.dialog
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def offer(self, path: str) -> bool:
        """A photo opened or dropped on the window (a JPEG, a PNG without a recipe): offer to project it."""
        if self.ctx.model_info is None:
            return False
        self.open_dialog(path)
        return True

    def run(self, dialog: ProjectDialog, options: ProjectionOptions, target: np.ndarray, files: dict,
            video: Path | None, tuned_path: Path | None) -> None:
        source_path = dialog.source.path

        def work(job_ctx, model):
            from explorer.engine.project import project
            from explorer.engine.project.files import ProjectionVideo, loss_networks, run_with_video, save_tuned_model

            dialog.job_started(job_ctx)
            d_features, vgg = loss_networks(options.losses, model, files["d"], files["vgg"])
            recording = None if video is None else ProjectionVideo(video, target.shape[0], overwrite=True)
            result = run_with_video(recording, lambda on_frame: project(
                model.generator, target, options, job_ctx, d_features, vgg, on_frame=on_frame))
            if tuned_path is not None:
                save_tuned_model(tuned_path, model, result, source_path)
            return result

        def done(result) -> None:
            self.last_result = result
            dialog.finished_job("done: " + ", ".join(f"{STAGE_LABELS[s]} {t:.0f} s" for s, t in result.seconds.items()))
            self.apply(result, source_path.name, tuned_path)

        def failed(text: str) -> None:
            dialog.finished_job(text)
            self.ctx.show_error(text)

        self.ctx.run_job(f"Project {source_path.name}", work, on_done=done, on_error=failed,
                         on_progress=dialog.show_progress, on_preview=dialog.show_preview,
                         on_cancelled=lambda: dialog.finished_job("cancelled"))

    def apply(self, result, name: str, tuned_path: Path | None) -> None:
        """The W+ as seed A, one undo step; after PTI, the tuned model opened with it if the artist wants."""
        state = self.ctx.state.replace(a=Latent(w_plus=result.wplus[0].tolist(), follow_psi=False))
        if tuned_path is not None and self.ctx.ask(f"Open the tuned model {tuned_path.name} with the projection of {name}?"):
            self.ctx.open_model(str(tuned_path), state=state)
            return
        self.ctx.set_state(state, f"Project {name}")


def install(ctx) -> ProjectFeature:
    return ProjectFeature(ctx)
