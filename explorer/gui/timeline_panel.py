"""The video timeline, docked under the canvas: keyframes of states, timing, easing, scrub, preview, export.

- "Add keyframe" stores the current state (with its thumbnail); keyframes can be reordered (drag, or the
  arrow buttons), replaced by the current state, removed, or shown again (double-click: an undoable state
  change). The selected keyframe's duration and easing describe the segment that starts at it.
- Scrubbing asks the render thread for the interpolated state at that frame (``TimelineSampler.state_at``)
  and puts its image on the canvas; only the newest scrub position is rendered (one request in flight).
- Play renders a preview at a reduced rate (at most ``PREVIEW_FPS`` frames per second) and size (at most
  ``PREVIEW_SIDE`` pixels) chunk by chunk in the render thread, caches it, and loops it on the canvas; stop
  puts the current state's image back.
- Export opens ``VideoExportDialog``. The timeline is saved with the session under the key "timeline";
  the "Timeline" menu also opens / saves timeline files (``explorer video --timeline`` reads both) and
  builds one from a recipe (seed walk A to B, truncation sweep, circle through A and B, noise loop, spin).

Timeline edits are not on the state's undo stack (they are not states); the session keeps them.
Nothing here runs torch: the render thread does, through ``ctx.run_in_render_thread``. The panel is a
feature (``install(ctx)``): it sees the window only through its ``FeatureContext``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu,
    QPushButton, QToolButton, QVBoxLayout, QWidget,
)

from explorer.engine.state import State
from explorer.errors import ExplorerError
from explorer.gui.canvas import qimage_from_array
from explorer.gui.state_drag import accept_state_drops
from explorer.gui.widgets import ComboBox, DoubleSpinBox, Slider
from explorer.video import recipes
from explorer.video.easing import EASINGS
from explorer.video.timeline import KINDS, Keyframe, Timeline

PREVIEW_FPS = 12.0
PREVIEW_SIDE = 256
PREVIEW_CHUNK = 4  # frames per render-thread job (1 above 256 px, so edits never wait long behind the preview)
THUMB_SIDE = 72


def _reduced(image: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """Every k-th pixel so the preview is at most ``side`` pixels across (cheap, and crisp enough)."""
    step = max(1, -(-max(image.shape[:2]) // side))
    return np.ascontiguousarray(image[::step, ::step])


class _RenderSide:
    """What the render thread keeps between preview jobs: one FrameSource / sampler per timeline shown.

    Only the render thread touches it (every method is called from inside ``run_in_render_thread``).
    """

    def __init__(self):
        self._key = None
        self._value = None

    def get(self, key, build):
        if key != self._key:
            self._key, self._value = key, build()
        return self._value


class TimelinePanel(QWidget):
    timelineChanged = Signal(object)  # Timeline
    previewShown = Signal(int)  # frame index put on the canvas (scrub or play)

    def __init__(self, ctx):
        super().__init__()
        self.setObjectName("timelinePanel")
        self.ctx = ctx
        self.timeline = Timeline(kind="cubic", fps=30.0)
        self.dialog = None
        self._ids: list[int] = []  # a stable id per keyframe, parallel to timeline.keyframes
        self._new_id = itertools.count(1).__next__
        self._thumbs: dict[State, np.ndarray] = {}
        self._thumbs_asked: set[State] = set()
        self._side = _RenderSide()
        self._scrub_wanted: int | None = None
        self._scrub_busy = False
        self._preview: list[np.ndarray] = []
        self._preview_key = None
        self._preview_busy = False
        self._play_index = 0
        self._play_timer = QTimer(self)
        self._play_timer.timeout.connect(self._play_tick)
        self._build()
        ctx.modelLoaded.connect(self._on_model_loaded)
        self._refresh()

    # ================================================================ widgets
    def _build(self) -> None:
        def button(text, slot, name, tip=""):
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False: slot())
            return b

        self.add_button = button("+ Keyframe", self.add_current, "addKeyframe", "Add the current state as a keyframe")
        self.update_button = button("Update", self.replace_selected, "updateKeyframe",
                                    "Replace the selected keyframe by the current state")
        self.remove_button = button("Remove", self.remove_selected, "removeKeyframe")
        self.left_button = button("\u25c0", lambda: self.move_selected(-1), "keyframeLeft", "Move earlier")
        self.right_button = button("\u25b6", lambda: self.move_selected(+1), "keyframeRight", "Move later")
        for b in (self.left_button, self.right_button):
            b.setFixedWidth(self.fontMetrics().horizontalAdvance("\u25c0") + 24)
        self.kind = ComboBox()
        self.kind.setObjectName("timelineKind")
        self.kind.addItems(list(KINDS))
        self.kind.setToolTip("linear: straight in W; slerp: great circle in Z between seeds; cubic: smooth spline")
        self.kind.currentTextChanged.connect(lambda k: self._edit(self.timeline.replace(kind=k), "Interpolation"))
        self.loop = QCheckBox("Loop")
        self.loop.setObjectName("timelineLoop")
        self.loop.toggled.connect(lambda on: self._edit(self.timeline.replace(loop=on), "Loop"))
        self.fps = DoubleSpinBox()
        self.fps.setObjectName("timelineFps")
        self.fps.setRange(1, 240)
        self.fps.setSuffix(" fps")
        self.fps.setDecimals(2)
        self.fps.valueChanged.connect(lambda v: self._edit(self.timeline.replace(fps=v), "Frame rate", control="fps"))
        self.play_button = button("\u25b6 Play", self.toggle_play, "playTimeline", "Loop a reduced preview on the canvas")
        self.export_button = button("Export video\u2026", self.open_export_dialog, "exportVideo")
        self.more_button = QToolButton()
        self.more_button.setObjectName("timelineMore")
        self.more_button.setText("Timeline")
        self.more_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.more_button)
        menu.addAction("Seed walk from A to B", self.recipe_seed_walk)
        menu.addAction("Truncation sweep (loop)", self.recipe_truncation_sweep)
        menu.addAction("Circle through seeds A and B (loop)", lambda: self.recipe_in_render_thread("circle"))
        menu.addAction("Noise loop around seed A", lambda: self.recipe_in_render_thread("noise"))
        menu.addAction("Spin and circle (StyleGAN3)", self.recipe_spin)
        menu.addSeparator()
        menu.addAction("Open timeline\u2026", self.open_timeline_dialog)
        menu.addAction("Save timeline\u2026", self.save_timeline_dialog)
        menu.addAction("Clear", lambda: self.set_timeline(
            Timeline(kind=self.timeline.kind, fps=self.timeline.fps), "Clear timeline"))
        self.more_button.setMenu(menu)

        top = QHBoxLayout()
        for w in (self.add_button, self.update_button, self.remove_button, self.left_button, self.right_button):
            top.addWidget(w)
        top.addStretch(1)
        for w in (QLabel("Interpolation"), self.kind, self.loop, self.fps, self.play_button, self.export_button,
                  self.more_button):
            top.addWidget(w)

        self.keys = QListWidget()
        self.keys.setObjectName("keyframeList")
        self.keys.setViewMode(QListWidget.ListMode)  # list mode lays items out in order and drags reorder them
        self.keys.setFlow(QListWidget.LeftToRight)
        accept_state_drops(self.keys.viewport(), self.add_state)  # a favourite dropped here is a keyframe
        self.keys.setWrapping(False)
        self.keys.setSpacing(3)
        self.keys.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.keys.setFixedHeight(THUMB_SIDE + 30)
        self.keys.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.keys.setDragDropMode(QAbstractItemView.InternalMove)
        self.keys.setSelectionMode(QAbstractItemView.SingleSelection)
        self.keys.model().rowsMoved.connect(self._rows_moved)
        self.keys.currentRowChanged.connect(lambda _: self._refresh_selected())
        self.keys.itemDoubleClicked.connect(lambda item: self.show_keyframe(self.keys.row(item)))

        self.duration = DoubleSpinBox()
        self.duration.setObjectName("keyframeDuration")
        self.duration.setRange(0.0, 3600.0)
        self.duration.setDecimals(2)
        self.duration.setSingleStep(0.25)
        self.duration.setSuffix(" s")
        self.duration.setToolTip("Seconds from this keyframe to the next (with Loop, the last one's goes back to the first)")
        self.duration.valueChanged.connect(self._duration_changed)
        self.easing = ComboBox()
        self.easing.setObjectName("keyframeEasing")
        self.easing.addItems(list(EASINGS))
        self.easing.currentTextChanged.connect(self._easing_changed)
        self.scrub = Slider(Qt.Horizontal)
        self.scrub.setObjectName("timelineScrub")
        self.scrub.valueChanged.connect(self.scrub_to)
        self.time_label = QLabel()
        self.time_label.setObjectName("timelineTime")
        self.time_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("frame 9999/9999 · 999.99 s") + 8)

        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Segment"))
        bottom.addWidget(self.duration)
        bottom.addWidget(self.easing)
        bottom.addWidget(self.scrub, 1)
        bottom.addWidget(self.time_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.keys)
        layout.addLayout(bottom)

    # ================================================================ editing
    def set_timeline(self, timeline: Timeline, text: str = "Replace timeline") -> None:
        """Replace the whole timeline (opening a file, a recipe): undoable, so no keyframes are lost."""
        self._edit(timeline, text, [self._new_id() for _ in timeline.keyframes], select=0 if timeline.keyframes else -1)

    def _edit(self, timeline: Timeline, text: str, ids: list[int] | None = None, select: int | None = None,
              control: str = "") -> None:
        """Change the timeline as one step on the window's undo stack (changes from one ``control``
        in one gesture, such as spinning the duration, merge into one step)."""
        ids = tuple(self._ids if ids is None else ids)
        if timeline == self.timeline and ids == tuple(self._ids):
            return
        select = self.keys.currentRow() if select is None else select
        old = (self.timeline, tuple(self._ids), self.keys.currentRow())
        self.ctx.push_undo(old, (timeline, ids, select), text, control, self._restore)

    def _restore(self, value: tuple[Timeline, tuple[int, ...], int]) -> None:
        """Show a (timeline, keyframe ids, selected row) value: an edit, its undo or its redo."""
        timeline, ids, select = value
        self.stop()
        self.timeline, self._ids = timeline, list(ids)
        self._preview, self._preview_key = [], None
        self._refresh()
        self.keys.setCurrentRow(min(select, len(ids) - 1))
        self.timelineChanged.emit(timeline)

    def add_current(self) -> None:
        """Add the current state as a keyframe (after the selected one, else at the end)."""
        self.add_state(self.ctx.state)

    def add_state(self, state: State) -> None:
        """Add ``state`` as a keyframe (after the selected one, else at the end): the current one, or a
        favourite dropped on the keyframe list."""
        at = self.keys.currentRow() + 1 if self.keys.currentRow() >= 0 else len(self._ids)
        result = self.ctx.last_result
        if result is not None and result.state == state:
            self._thumbs[state] = result.image
        ids = self._ids[:at] + [self._new_id()] + self._ids[at:]
        self._edit(self.timeline.inserted(at, Keyframe(state)), "Add keyframe", ids, select=at)

    def replace_selected(self) -> None:
        row = self.keys.currentRow()
        if row >= 0:
            key = self.timeline.keyframes[row].replace(state=self.ctx.state)
            self._edit(self.timeline.with_keyframe(row, key), f"Update keyframe {row + 1}")

    def remove_selected(self) -> None:
        row = self.keys.currentRow()
        if row >= 0:
            ids = self._ids[:row] + self._ids[row + 1:]
            self._edit(self.timeline.removed(row), f"Remove keyframe {row + 1}", ids,
                       select=min(row, len(ids) - 1))

    def move_selected(self, delta: int) -> None:
        row = self.keys.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < len(self._ids):
            return
        ids = list(self._ids)
        ids.insert(target, ids.pop(row))
        self._edit(self.timeline.moved(row, target), "Move keyframe", ids, select=target)

    def _rows_moved(self, *_args) -> None:
        """A drag reordered the list: follow it."""
        order = [self.keys.item(i).data(Qt.UserRole) for i in range(self.keys.count())]
        if order == self._ids:
            return
        by_id = dict(zip(self._ids, self.timeline.keyframes))
        timeline = self.timeline.replace(keyframes=tuple(by_id[i] for i in order))
        select = self.keys.currentRow()
        QTimer.singleShot(0, lambda: self._edit(timeline, "Move keyframe", order, select=select))

    def set_segment(self, row: int, duration: float | None = None, easing: str | None = None) -> None:
        key = self.timeline.keyframes[row]
        changes = {k: v for k, v in (("duration", duration), ("easing", easing)) if v is not None}
        # Spinning one keyframe's duration is one undo step; each easing choice is its own.
        control = f"duration:{self._ids[row]}" if duration is not None else ""
        self._edit(self.timeline.with_keyframe(row, key.replace(**changes)),
                   f"Keyframe {row + 1} {' and '.join(changes)}", control=control)

    def _duration_changed(self, value: float) -> None:
        if self.keys.currentRow() >= 0:
            self.set_segment(self.keys.currentRow(), duration=value)

    def _easing_changed(self, name: str) -> None:
        if self.keys.currentRow() >= 0:
            self.set_segment(self.keys.currentRow(), easing=name)

    def show_keyframe(self, row: int) -> None:
        """Make a keyframe's state the current state (undoable)."""
        self.ctx.set_state(self.timeline.keyframes[row].state, f"Show keyframe {row + 1}")

    # ================================================================ showing the timeline
    def _refresh(self) -> None:
        tl = self.timeline
        for widget, value in ((self.kind, tl.kind), (self.loop, tl.loop), (self.fps, tl.fps)):
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                widget.setCurrentText(value)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(value)
            else:
                widget.setValue(value)
            widget.blockSignals(False)
        shown = [self.keys.item(i).data(Qt.UserRole) for i in range(self.keys.count())]
        if shown != self._ids:  # keyframes added, removed or moved: rebuild the list
            self.keys.blockSignals(True)
            row = self.keys.currentRow()
            self.keys.clear()
            for ident in self._ids:
                item = QListWidgetItem()
                item.setData(Qt.UserRole, ident)
                item.setFlags(item.flags() | Qt.ItemIsDragEnabled)
                self.keys.addItem(item)
            self.keys.setCurrentRow(min(row, self.keys.count() - 1))
            self.keys.blockSignals(False)
        self._refresh_items()
        self._refresh_selected()
        frames = tl.frame_count()
        self.scrub.blockSignals(True)
        self.scrub.setRange(0, max(frames - 1, 0))
        self.scrub.blockSignals(False)
        self._show_time(self.scrub.value())
        has = bool(tl.keyframes)
        for w in (self.play_button, self.export_button, self.scrub):
            w.setEnabled(has)
        self._ask_thumbnails()

    def _refresh_items(self) -> None:
        for row, key in enumerate(self.timeline.keyframes):
            item = self.keys.item(row)
            if item is None:
                continue
            seed = "W+" if key.state.a.w_plus is not None else f"seed {key.state.a.seed}"
            last = row == len(self.timeline.keyframes) - 1 and not self.timeline.loop
            timing = "end" if last else f"{key.duration:g} s {key.easing}"
            item.setText(f"{row + 1}: {seed}\n{timing}")
            image = self._thumbs.get(key.state)
            if image is not None:
                qimage = qimage_from_array(_reduced(image, THUMB_SIDE))
                mode = Qt.FastTransformation if qimage.width() < THUMB_SIDE else Qt.SmoothTransformation
                item.setIcon(QIcon(QPixmap.fromImage(qimage.scaled(THUMB_SIDE, THUMB_SIDE, Qt.KeepAspectRatio, mode))))

    def _refresh_selected(self) -> None:
        row = self.keys.currentRow()
        has = 0 <= row < len(self.timeline.keyframes)
        for w in (self.duration, self.easing, self.update_button, self.remove_button, self.left_button,
                  self.right_button):
            w.setEnabled(has)
        if has:
            key = self.timeline.keyframes[row]
            for w in (self.duration, self.easing):
                w.blockSignals(True)
            self.duration.setValue(key.duration)
            self.easing.setCurrentText(key.easing)
            for w in (self.duration, self.easing):
                w.blockSignals(False)

    def _show_time(self, frame: int) -> None:
        total = self.timeline.frame_count()
        self.time_label.setText(f"frame {frame + 1 if total else 0}/{total} \u00b7 {frame / self.timeline.fps:.2f} s")

    def _ask_thumbnails(self) -> None:
        if self.ctx.model_info is None:
            return
        for key in self.timeline.keyframes:
            state = key.state
            if state in self._thumbs or state in self._thumbs_asked:
                continue
            self._thumbs_asked.add(state)
            model = self.ctx.model_info

            def done(image, state=state, model=model):
                self._thumbs_asked.discard(state)
                if model is self.ctx.model_info:  # not rendered by a model since replaced
                    self._thumbs[state] = image
                    self._refresh_items()

            def failed(state=state):
                self._thumbs_asked.discard(state)

            self._run(lambda renderer, s=state: renderer.render(s), done, failed)

    def _on_model_loaded(self, _info) -> None:
        self.stop()
        self._thumbs.clear()
        self._thumbs_asked.clear()
        self._preview, self._preview_key = [], None
        self._refresh()

    # ================================================================ scrubbing
    def scrub_to(self, frame: int) -> None:
        """Show frame ``frame`` (at the timeline's fps) on the canvas; only the newest request is rendered."""
        self._show_time(frame)
        if not self.timeline.keyframes or self.ctx.model_info is None:
            return
        self.stop(restore=False)
        self._scrub_wanted = frame
        if not self._scrub_busy:
            self._scrub_next()

    def _scrub_next(self) -> None:
        frame, self._scrub_wanted = self._scrub_wanted, None
        if frame is None:
            return
        timeline, side = self.timeline, self._side
        positions = timeline.positions()
        if not 0 <= frame < len(positions):
            return
        pos = positions[frame]
        self._scrub_busy = True

        def job(renderer):
            from explorer.video.interpolate import TimelineSampler

            sampler = side.get(("sampler", id(renderer), timeline), lambda: TimelineSampler(renderer, timeline))
            return renderer.render(sampler.state_at(pos))

        def done(image):
            self._scrub_busy = False
            if self._scrub_wanted is None and timeline == self.timeline:
                self._put_on_canvas(image, frame)
            self._scrub_next()

        def failed():
            self._scrub_busy = False

        self._run(job, done, failed)

    # ================================================================ preview playback
    def toggle_play(self) -> None:
        self.stop() if self._play_timer.isActive() else self.play()

    def play(self) -> None:
        if not self.timeline.keyframes or self.ctx.model_info is None:
            return
        fps = min(self.timeline.fps, PREVIEW_FPS)
        key = (self.timeline, fps, self.ctx.model_info)
        if key != self._preview_key:
            self._preview, self._preview_key = [], key
        self._preview_total = self.timeline.frame_count(fps)
        self._play_index = 0
        self._play_timer.start(int(1000 / fps))
        self.play_button.setText("\u25a0 Stop")
        self._render_more()

    def stop(self, restore: bool = True) -> None:
        if not self._play_timer.isActive():
            return
        self._play_timer.stop()
        self.play_button.setText("\u25b6 Play")
        result = self.ctx.last_result
        if restore and result is not None:
            self.ctx.canvas.set_image(result.image, result.qimage)

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def _render_more(self) -> None:
        """Render the next chunk of preview frames in the render thread, one chunk at a time."""
        if self._preview_busy or len(self._preview) >= self._preview_total:
            return
        key = self._preview_key
        timeline, fps, _ = key
        first = len(self._preview)
        info = self.ctx.model_info
        chunk = PREVIEW_CHUNK if info is None or info.img_resolution <= 256 else 1  # keep the window responsive
        last = min(first + chunk, self._preview_total)
        side = self._side
        self._preview_busy = True

        def job(renderer):
            from explorer.video.render import FrameSource

            source = side.get(("preview", id(renderer), timeline, fps),
                              lambda: FrameSource(renderer, [timeline], fps=fps, batch_size=PREVIEW_CHUNK))
            return [_reduced(f) for f in source.render_range(first, last)]

        def done(frames):
            self._preview_busy = False
            if key == self._preview_key and len(self._preview) == first:
                self._preview.extend(frames)
                if self.playing:
                    self._render_more()

        def failed():
            self._preview_busy = False
            self.stop()

        self._run(job, done, failed)

    def _play_tick(self) -> None:
        if self._play_index < len(self._preview):
            self._put_on_canvas(self._preview[self._play_index], self._play_index)
            self._move_playhead(self._play_index)
            self._play_index = (self._play_index + 1) % max(self._preview_total, 1)

    def _move_playhead(self, preview_index: int) -> None:
        """Show where the preview is: the scrubber and frame counter follow it (at the timeline's fps, which
        the preview may play at a reduced rate), without asking the scrubber for a render of its own."""
        _, preview_fps, _ = self._preview_key
        frame = min(round(preview_index * self.timeline.fps / preview_fps), max(self.timeline.frame_count() - 1, 0))
        self.scrub.blockSignals(True)
        self.scrub.setValue(frame)
        self.scrub.blockSignals(False)
        self._show_time(frame)

    # ================================================================ helpers
    def _run(self, job, done, failed) -> None:
        """``job(renderer)`` in the render thread, then ``done(result)`` here; on an error ``failed()`` and
        the window's one-line banner (the window itself would drop ``done`` and leave us waiting)."""
        from explorer.gui.render_worker import one_line

        def guarded(renderer):
            try:
                return True, job(renderer)
            except Exception as exc:
                return False, one_line(exc)

        def back(outcome):
            ok, value = outcome
            if ok:
                done(value)
            else:
                failed()
                self.ctx.show_error(value)

        self.ctx.run_in_render_thread(guarded, back)

    def _put_on_canvas(self, image: np.ndarray, frame: int) -> None:
        self.ctx.canvas.set_image(image)
        self.previewShown.emit(frame)

    def open_export_dialog(self):
        """The Export video dialog for this timeline (returned for tests)."""
        from explorer.gui.video_export_dialog import VideoExportDialog

        if not self.timeline.keyframes:
            self.ctx.show_error("the timeline has no keyframes; add the current state with + Keyframe")
            return None
        self.dialog = VideoExportDialog(self.ctx, self.timeline)
        self.dialog.show()
        return self.dialog

    # ================================================================ recipes and files
    def recipe_seed_walk(self) -> None:
        """A and B as two keyframes (everything else as now)."""
        state = self.ctx.state.replace(mix=())
        self.set_timeline(recipes.seed_walk([state.a.seed, state.b.seed], 2.0, state, self.timeline.kind,
                                            fps=self.timeline.fps), "Seed walk")

    def recipe_truncation_sweep(self) -> None:
        self.set_timeline(recipes.truncation_sweep(self.ctx.state, 0.3, 1.0, 4.0, fps=self.timeline.fps),
                          "Truncation sweep")

    def recipe_spin(self) -> None:
        info = self.ctx.model_info
        if info is not None and not info.has_input_transform:
            self.ctx.show_error("this model has no input transform: a spin would stand still (StyleGAN3 only)")
            return
        self.set_timeline(recipes.transform_animation(self.ctx.state, 1, 0.1, 8.0, fps=self.timeline.fps), "Spin")

    def recipe_in_render_thread(self, which: str) -> None:
        """Recipes that map points of a latent curve need the model: built in the render thread."""
        if self.ctx.model_info is None:
            self.ctx.show_error("no model is open")
            return
        state, fps = self.ctx.state, self.timeline.fps

        def job(renderer):
            if which == "circle":
                return recipes.circular_loop(renderer, [state.a.seed, state.b.seed], state.replace(mix=()), fps=fps)
            return recipes.noise_loop(renderer, state.a.seed, state.replace(mix=()), fps=fps)

        self._run(job, lambda timeline: self.set_timeline(timeline, "Circular loop" if which == "circle"
                                                          else "Noise loop"), lambda: None)

    def open_timeline_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open timeline", str(self.ctx.default_export_dir()),
                                              "Timelines and sessions (*.json)")
        if path:
            self.open_timeline(path)

    def open_timeline(self, path) -> None:
        try:
            self.set_timeline(Timeline.load(path), f"Open timeline {Path(path).name}")
        except ExplorerError as exc:
            self.ctx.show_error(str(exc))

    def save_timeline_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save timeline", str(self.ctx.default_export_dir()
                                                                          / "timeline.json"), "Timelines (*.json)")
        if path:  # the dialog asked before replacing
            self.save_timeline(path, overwrite=True)

    def save_timeline(self, path, overwrite: bool = False) -> None:
        try:
            self.timeline.save(path, overwrite=overwrite)
        except FileExistsError:
            self.ctx.show_error(f"{Path(path).name}: already exists; not overwritten")
        except OSError as exc:
            self.ctx.show_error(f"{Path(path).name}: cannot write ({exc.strerror or exc})")
        else:
            self.ctx.show_status(f"Saved {path}")

    # ================================================================ session
    def session_json(self):
        return self.timeline.to_json() if self.timeline.keyframes else None

    def load_session_json(self, data) -> None:
        try:
            timeline = Timeline.from_json(data, "session timeline")
            self._restore((timeline, tuple(self._new_id() for _ in timeline.keyframes), -1))
        except ExplorerError as exc:
            self.ctx.show_error(f"timeline not restored: {exc}")


def install(ctx) -> TimelinePanel:
    """Dock the panel under the canvas, keep it in the session, and add File > Export video."""
    panel = TimelinePanel(ctx)
    panel.dock = ctx.add_dock(panel, "Timeline", "timelineDock", area="bottom", scroll=False)
    ctx.register_session_part("timeline", panel.session_json, panel.load_session_json)
    panel.export_action = ctx.add_action("file", "Export &video\u2026", panel.open_export_dialog, "Ctrl+Alt+E",
                                         "Render the timeline to MP4, WebM, GIF or PNG frames", "actionExportVideo")
    return panel
