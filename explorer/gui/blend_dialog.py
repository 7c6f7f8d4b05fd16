"""Model > Blend with...: blend a second model into the open one layer by layer, and save the result.

A non-modal dialog drives the state's ``blend`` through the registry's ``blend/...`` addresses, so undo,
sessions, recipes and video keyframes carry it and the canvas renders it live (explorer/engine/blend.py
lerps the blended copy in place). Model B is opened and checked in the render thread before it becomes
part of the state: a file that does not load or does not fit is a one-line banner and the state stays as
it was. The curve editor paints B's share per synthesis layer; one stroke is one undo step. The dialog
mirrors every state change (undo moves the handles).

Model > Save blended model... writes the state's blend as a native .safetensors with the engine's
``save_blended_model`` (the function behind ``explorer blend``), as a job with progress.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from explorer.engine.blend import blend_weights, save_blended_model
from explorer.engine.describe import ModelDescription
from explorer.engine.params import ParamRegistry
from explorer.engine.state import State
from explorer.formats import MODEL_SUFFIXES
from explorer.gui import settings as prefs
from explorer.gui.curve_editor import CurveEditor
from explorer.gui.features import FeatureContext
from explorer.gui.widgets import ComboBox, DoubleSpinBox, blocked, show_value

MODES = (("off", "Off"), ("step", "Step"), ("sigmoid", "Sigmoid"), ("layers", "Per layer"))
CURVE_CONTROL = "blend/curve"  # one undo step per stroke across the handles


class BlendDialog(QDialog):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.widget)
        self.ctx = ctx
        self.setWindowTitle("Blend with another model")
        self.setModal(False)
        self._partners: list[str] = []  # models B picked in this window, most recent first
        self._listed: object = ()  # the model B the model box was filled for (refilled when it changes)

        self.model_box = ComboBox(objectName="blendModel")
        self.model_box.setMinimumContentsLength(28)
        self.model_box.setToolTip("Model B: same architecture as the open model, ideally fine-tuned from it")
        self.model_box.activated.connect(lambda index: self.choose_model(self.model_box.itemData(index)))
        browse = QPushButton("Browse\u2026", objectName="blendBrowse")
        browse.clicked.connect(self._browse)
        self.mode_box = ComboBox(objectName="blendMode")
        for value, label in MODES:
            self.mode_box.addItem(label, value)
        self.mode_box.activated.connect(lambda index: self._set_mode(self.mode_box.itemData(index)))
        self.mid_box = ComboBox(objectName="blendMid")
        self.mid_box.setToolTip("Resolution where B takes over (step) or weighs one half (sigmoid)")
        self.mid_box.activated.connect(lambda index: self.ctx.set_param("blend/mid", self.mid_box.itemData(index)))
        self.width_box = DoubleSpinBox(objectName="blendWidth")
        self.width_box.setRange(0.01, 16.0)
        self.width_box.setSingleStep(0.1)
        self.width_box.setToolTip("Sigmoid width in resolution steps (one doubling); smaller is sharper")
        self.width_box.valueChanged.connect(lambda v: self.ctx.set_param("blend/width", v))
        self.mapping_box = ComboBox(objectName="blendMapping")
        self.mapping_box.addItem("A (open model)", "a")
        self.mapping_box.addItem("B", "b")
        self.mapping_box.setToolTip("Whose mapping network and average W turn seeds into W")
        self.mapping_box.activated.connect(lambda index: self.ctx.set_param("blend/mapping", self.mapping_box.itemData(index)))
        self.curve = CurveEditor()
        self.curve.setObjectName("blendCurve")
        self.curve.pressed.connect(self.ctx.begin_gesture)
        self.curve.released.connect(self.ctx.end_gesture)
        self.curve.weightChanged.connect(self._set_layer)
        self.note = QLabel(objectName="blendNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #e0b050;")
        self.save_button = QPushButton("Save blended model\u2026", objectName="blendSave")
        self.save_button.clicked.connect(self.save_dialog)

        picker = QHBoxLayout()
        picker.addWidget(self.model_box, 1)
        picker.addWidget(browse)
        form = QFormLayout()
        form.addRow("Model B", picker)
        form.addRow("Curve", self.mode_box)
        form.addRow("Middle (px)", self.mid_box)
        form.addRow("Width", self.width_box)
        form.addRow("Mapping from", self.mapping_box)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("B's share per synthesis layer (drag the handles)"))
        layout.addWidget(self.curve, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)

        ctx.modelLoaded.connect(lambda info: self._set_model(info))
        ctx.stateChanged.connect(self.mirror)
        if ctx.model_info is not None:
            self._set_model(ctx.model_info)

    # ---- model B ------------------------------------------------------------------------------------
    def choose_model(self, path: str | None, mode: str | None = None) -> None:
        """Blend with the model file ``path`` (and curve ``mode``) once it has opened and fits the open
        model; until then, and if it fails (a banner says why), the state stays as it is."""
        info = self.ctx.model_info
        if not path or info is None:
            return
        state = self.ctx.state

        def check(renderer):  # in the render thread: hashing and opening a big B must not freeze the window
            return renderer.open_blend(_with_model(info, state, path, mode)).ancestry_warning()

        self.ctx.run_in_render_thread(check, lambda warning: self._model_opened(path, mode, warning))

    def _model_opened(self, path: str, mode: str | None, warning: str | None) -> None:
        # the state may have moved on meanwhile; B's hash is cached by now
        new = _with_model(self.ctx.model_info, self.ctx.state, path, mode)
        self._partners = [new.blend.model] + [p for p in self._partners if p != new.blend.model]
        self.note.setText(warning or "")
        if warning:
            self.ctx.show_status(warning, 10000)
        self.ctx.set_state(new, f"Blend with {Path(path).name}", "blend/model")
        self.mirror(self.ctx.state, refill=True)

    def _browse(self) -> None:
        start = self.model_box.currentData() or str(Path.cwd())
        patterns = " ".join(f"*{s}" for s in MODEL_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Blend with model", str(start), f"Models ({patterns})")
        if path:
            self.choose_model(path)

    def _fill_model_box(self, state: State, force: bool = False) -> None:
        current = state.blend.model if state.blend is not None else None
        if current == self._listed and not force:
            return
        self._listed = current
        known = [current] if current else []
        known += [p for p in self._partners + prefs.recent_files() if p not in known]
        model = self.ctx.model_info
        if model is not None and model.path is not None:
            known = [p for p in known if p != str(model.path)]  # blending a model with itself does nothing
        with blocked(self.model_box):
            self.model_box.clear()
            if not current:
                self.model_box.addItem("(choose model B)", None)
            for path in known:
                self.model_box.addItem(Path(path).name, path)
                self.model_box.setItemData(self.model_box.count() - 1, path, Qt.ToolTipRole)
            self.model_box.setCurrentIndex(0)

    # ---- the curve ----------------------------------------------------------------------------------
    def _set_mode(self, mode: str) -> None:
        if mode == "off":
            self.ctx.set_param("blend/model", "off")
        elif self.ctx.state.blend is None:  # a curve needs a model B: the one shown, if any
            if self.model_box.currentData() is None:
                self.ctx.show_status("Blend: choose model B first")
            self.choose_model(self.model_box.currentData(), mode)
            self.mirror(self.ctx.state)
        else:
            self.ctx.set_param("blend/mode", mode)

    def _set_layer(self, layer: int, weight: float) -> None:
        state = self.ctx.state
        if state.blend is None:
            self.mirror(state)
            return
        new = self._registry(state).set(state, f"blend/layer/{layer}", weight)
        self.ctx.set_state(new, "Blend curve", CURVE_CONTROL)

    def _registry(self, state: State) -> ParamRegistry:
        return ParamRegistry.for_model(self.ctx.model_info, state)

    # ---- mirroring ----------------------------------------------------------------------------------
    def _set_model(self, info) -> None:
        infos = list(info.layer_infos)
        self.curve.set_layers([i.name for i in infos], [i.resolution for i in infos])
        with blocked(self.mid_box):
            self.mid_box.clear()
            for resolution in sorted({i.resolution for i in infos}):
                self.mid_box.addItem(f"{resolution}", resolution)
        self.note.setText("")
        self.mirror(self.ctx.state)

    def mirror(self, state: State, refill: bool = False) -> None:
        """Show ``state``'s blend without emitting edits (``refill``: list the recent models again)."""
        blend = state.blend
        self._fill_model_box(state, refill)
        with blocked(self.mode_box, self.mid_box, self.width_box, self.mapping_box):
            self.mode_box.setCurrentIndex(self.mode_box.findData(blend.mode if blend else "off"))
            if blend is not None:
                if self.mid_box.findData(blend.mid) < 0:  # a mid between the model's layers (a state file)
                    self.mid_box.addItem(f"{blend.mid}", blend.mid)
                self.mid_box.setCurrentIndex(self.mid_box.findData(blend.mid))
                show_value(self.width_box, blend.width)
                self.mapping_box.setCurrentIndex(self.mapping_box.findData(blend.mapping))
        on = blend is not None
        self.mid_box.setEnabled(on and blend.mode in ("step", "sigmoid"))
        self.width_box.setEnabled(on and blend.mode == "sigmoid")
        self.mapping_box.setEnabled(on)
        self.curve.setEnabled(on)
        self.save_button.setEnabled(on)
        if not on:
            self.note.setText("")
        infos = self.ctx.model_info.layer_infos if self.ctx.model_info is not None else ()
        self.curve.set_weights(blend_weights(blend, infos) if on else [0.0] * len(infos))

    # ---- saving -------------------------------------------------------------------------------------
    def save_dialog(self) -> None:
        """Ask where, then save the state's blend (Model > Save blended model...)."""
        blend = self.ctx.state.blend
        if blend is None:
            self.ctx.show_error("Save blended model: no blend in this state (Model > Blend with... first)")
            return
        model = self.ctx.model_info
        suggestion = f"{model.path.stem if model and model.path else 'model'}-{Path(blend.model).stem}.safetensors"
        path, _ = QFileDialog.getSaveFileName(self.ctx.widget, "Save blended model", suggestion,
                                              "Native model (*.safetensors)")
        if path:  # the file dialog has asked before replacing a file
            self.save(path if path.lower().endswith(".safetensors") else path + ".safetensors")

    def save(self, path: str, on_saved=None) -> None:
        """Write the current blend to ``path`` as a job; ``on_saved(path)`` once it is written."""
        blend = self.ctx.state.blend
        if blend is None:
            self.ctx.show_error("Save blended model: no blend in this state")
            return

        def done(warning: str | None) -> None:
            self.ctx.show_status(f"Saved {path}" + (f" ({warning})" if warning else ""), 10000)
            if on_saved is not None:
                on_saved(path)

        self.ctx.run_job(f"Save {Path(path).name}", lambda job, model: save_blended_model(job, model, blend, path),
                         on_done=done)


def _with_model(info: ModelDescription, state: State, path: str, mode: str | None) -> State:
    """``state`` blended with the model file ``path`` (and curve ``mode``), through the registry."""
    registry = ParamRegistry.for_model(info, state)
    state = registry.set(state, "blend/model", path)
    return registry.set(state, "blend/mode", mode) if mode else state


class BlendFeature:
    """What ``install`` returns: the dialog (for tests) and how to show it."""

    def __init__(self, ctx: FeatureContext):
        self.dialog = BlendDialog(ctx)
        self.blend_action = ctx.add_action("model", "Blend with\u2026", self.show, name="blendWith",
                                           tip="Blend a second model into this one, layer by layer")
        self.save_action = ctx.add_action("model", "Save blended model\u2026", self.dialog.save_dialog,
                                          name="saveBlended", tip="Write the blend as a model file")

    def show(self) -> QWidget:
        self.dialog.mirror(self.dialog.ctx.state, refill=True)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog


def install(ctx: FeatureContext) -> BlendFeature:
    return BlendFeature(ctx)
