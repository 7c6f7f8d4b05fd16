"""Dock "Truncation & noise" (and, for StyleGAN3 models, the input transform: translate and rotate)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from explorer.engine.state import NOISE_MODES, State
from explorer.gui.seed_spin import SeedSpinBox
from explorer.gui.widgets import ComboBox, DoubleSpinBox, Slider, SpinBox, blocked, show_value

PSI_STEPS = 1000  # psi slider ticks per unit


class TruncationPanel(QWidget):
    param = Signal(str, object)  # (registry address, value): one parameter set, see MainWindow.set_param
    edit = Signal(object, str, str)  # fn(State) -> State, control name, undo text: several fields at once
    gestureStarted = Signal()  # a slider / the pad is pressed: changes until gestureEnded are one undo step
    gestureEnded = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.num_ws = 18
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        self.psi = DoubleSpinBox()
        self.psi.setObjectName("psi")
        self.psi.setRange(-1.0, 2.0)
        self.psi.setSingleStep(0.05)
        self.psi.setDecimals(3)
        self.psi.setValue(1.0)
        self.psi.setToolTip("Truncation psi: 1 = no truncation, 0 = the average image, <0 = the 'opposite'")
        self.psi_slider = Slider(Qt.Horizontal)
        self.psi_slider.setObjectName("psiSlider")
        self.psi_slider.setRange(-PSI_STEPS, 2 * PSI_STEPS)
        self.psi_slider.setValue(PSI_STEPS)
        psi_row = QHBoxLayout()
        psi_row.addWidget(self.psi_slider, 1)
        psi_row.addWidget(self.psi)
        form.addRow("Psi", psi_row)

        self.cutoff = SpinBox()
        self.cutoff.setObjectName("truncCutoff")
        self.cutoff.setToolTip("Truncate only rows below this index (the highest value: all rows)")
        self.cutoff.setRange(0, self.num_ws)
        self.cutoff.setValue(self.num_ws)
        self.cutoff.setSuffix(" rows")
        form.addRow("Cutoff", self.cutoff)

        self.noise_mode = ComboBox()
        self.noise_mode.setObjectName("noiseMode")
        self.noise_mode.addItems(list(NOISE_MODES))
        self.noise_mode.setToolTip("const: the model's stored noise; random: drawn from the noise seed; none: off")
        form.addRow("Noise", self.noise_mode)

        self.noise_seed = SeedSpinBox()
        self.noise_seed.setObjectName("noiseSeed")
        form.addRow("Noise seed", self.noise_seed)

        self.noise_strength = DoubleSpinBox()
        self.noise_strength.setObjectName("noiseStrength")
        self.noise_strength.setRange(0.0, 5.0)
        self.noise_strength.setSingleStep(0.1)
        self.noise_strength.setValue(1.0)
        form.addRow("Noise strength", self.noise_strength)
        layout.addLayout(form)

        self.transform_box = QGroupBox("Input transform (StyleGAN3)")
        tform = QFormLayout(self.transform_box)
        self.translate_x = self._spin("translateX", -2.0, 2.0, 0.01, 4, "Translate x in image widths")
        self.translate_y = self._spin("translateY", -2.0, 2.0, 0.01, 4, "Translate y in image widths")
        self.rotate = self._spin("rotate", -360.0, 360.0, 1.0, 2, "Rotate in degrees")
        self.reset_transform = QPushButton("Reset transform")
        self.reset_transform.setObjectName("resetTransform")
        tform.addRow("Translate x", self.translate_x)
        tform.addRow("Translate y", self.translate_y)
        tform.addRow("Rotate \u00b0", self.rotate)
        tform.addRow(self.reset_transform)
        layout.addWidget(self.transform_box)
        self.transform_box.hide()
        layout.addStretch(1)

        self.psi.valueChanged.connect(self._psi_edited)
        self.psi_slider.valueChanged.connect(lambda v: self.psi.setValue(v / PSI_STEPS))
        self.psi_slider.sliderPressed.connect(self.gestureStarted.emit)
        self.psi_slider.sliderReleased.connect(self.gestureEnded.emit)
        for widget, address in ((self.cutoff, "trunc_cutoff"), (self.noise_seed, "noise/seed"),
                                (self.noise_strength, "noise/strength"), (self.translate_x, "translate/x"),
                                (self.translate_y, "translate/y"), (self.rotate, "rotate")):
            widget.valueChanged.connect(lambda v, address=address: self.param.emit(address, v))
        self.noise_mode.currentTextChanged.connect(lambda t: self.param.emit("noise/mode", t))
        self.reset_transform.clicked.connect(lambda: self.edit.emit(
            lambda s: s.replace(translate=(0.0, 0.0), rotate=0.0), "resetTransform", "Reset transform"))

    @staticmethod
    def _spin(name, lo, hi, step, decimals, tip) -> DoubleSpinBox:
        spin = DoubleSpinBox()
        spin.setObjectName(name)
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setDecimals(decimals)
        spin.setToolTip(tip)
        return spin

    def _psi_edited(self, v: float) -> None:
        with blocked(self.psi_slider):
            self.psi_slider.setValue(round(v * PSI_STEPS))
        self.param.emit("psi", v)

    def set_model(self, num_ws: int, has_input_transform: bool) -> None:
        self.num_ws = num_ws
        with blocked(self.cutoff):
            self.cutoff.setRange(0, num_ws)
        self.transform_box.setVisible(has_input_transform)

    def set_state(self, state: State) -> None:
        widgets = (self.psi, self.psi_slider, self.cutoff, self.noise_mode, self.noise_seed, self.noise_strength,
                   self.translate_x, self.translate_y, self.rotate)
        with blocked(*widgets):
            show_value(self.psi, state.psi)
            self.psi_slider.setValue(round(state.psi * PSI_STEPS))
            show_value(self.cutoff, self.num_ws if state.cutoff is None else min(state.cutoff, self.num_ws))
            self.noise_mode.setCurrentText(state.noise_mode)
            show_value(self.noise_seed, state.noise_seed)
            show_value(self.noise_strength, state.noise_strength)
            show_value(self.translate_x, state.translate[0])
            show_value(self.translate_y, state.translate[1])
            show_value(self.rotate, state.rotate)
