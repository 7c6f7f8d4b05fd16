"""Dock "Style layers": one A-to-B slider per W+ row, grouped coarse / middle / fine, with per-row psi.

Row labels and groups come from ``explorer.engine.layers`` (the model's ``layer_infos``), so the CLI and the
window agree on what "coarse" means for any resolution.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from explorer.engine.layers import GROUPS, StyleRow, rows_in_group
from explorer.engine.params import OFF
from explorer.engine.state import State
from explorer.gui.widgets import DoubleSpinBox, Slider, blocked, show_value

SLIDER_STEPS = 1000


class LayersPanel(QWidget):
    param = Signal(str, object)  # (registry address, value): one parameter set, see MainWindow.set_param
    edit = Signal(object, str, str)  # fn(State) -> State, control name, undo text: several rows at once
    gestureStarted = Signal()  # a slider / the pad is pressed: changes until gestureEnded are one undo step
    gestureEnded = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[StyleRow] = []
        self.sliders: list[Slider] = []
        self.values: list[QLabel] = []
        self.psi_checks: list[QCheckBox] = []
        self.psi_spins: list[DoubleSpinBox] = []
        self.psi_markers: list[QLabel] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        buttons = QGridLayout()
        specs = [("coarseFromB", "Coarse from B", "coarse"), ("middleFromB", "Middle from B", "middle"),
                 ("fineFromB", "Fine from B", "fine"), ("allA", "All A", None), ("allB", "All B", "all"),
                 ("swapAB", "Swap A \u2194 B", "swap")]
        self.buttons: dict[str, QPushButton] = {}
        for i, (name, text, what) in enumerate(specs):
            button = QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(lambda _=False, w=what, t=text, n=name: self._preset(w, t, n))
            buttons.addWidget(button, i // 3, i % 3)
            self.buttons[name] = button
        self.buttons["coarseFromB"].setToolTip("Coarse rows from B, the rest from A (pose, face shape)")
        self.buttons["middleFromB"].setToolTip("Middle rows from B, the rest from A (features, hair)")
        self.buttons["fineFromB"].setToolTip("Fine rows from B, the rest from A (colour, micro-structure)")
        layout.addLayout(buttons)

        self.advanced = QCheckBox("Per-row psi (advanced)")
        self.advanced.setObjectName("advancedRows")
        self.advanced.toggled.connect(self._show_advanced)
        layout.addWidget(self.advanced)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        layout.addWidget(self.scroll, 1)
        self.set_rows([])

    # ---- building the rows for a model -------------------------------------------------------------------
    def set_rows(self, rows: list[StyleRow]) -> None:
        self.rows = list(rows)
        self.sliders, self.values, self.psi_checks, self.psi_spins, self.psi_markers = [], [], [], [], []
        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(1, 1)
        if not rows:
            grid.addWidget(QLabel("Open a model to see its style layers."), 0, 0)
        line = 0
        for group in GROUPS:
            members = [r for r in rows if r.group == group]
            if not members:
                continue
            res = sorted({r.resolution for r in members})
            header = QLabel(f"{group.capitalize()}  ({res[0]}\u2013{res[-1]} px)" if len(res) > 1 else f"{group.capitalize()}  ({res[0]} px)")
            header.setStyleSheet("font-weight: bold; color: #9ab; padding-top: 6px;")
            grid.addWidget(header, line, 0, 1, 5)
            line += 1
            for row in members:
                self._add_row(grid, line, row)
                line += 1
        grid.setRowStretch(line, 1)
        self.scroll.setWidget(body)
        for name, group in (("coarseFromB", "coarse"), ("middleFromB", "middle"), ("fineFromB", "fine")):
            self.buttons[name].setEnabled(any(r.group == group for r in rows))  # tiny models may lack one
        self._show_advanced(self.advanced.isChecked())

    def _add_row(self, grid: QGridLayout, line: int, row: StyleRow) -> None:
        i = row.index
        label = QLabel(f"{i}  {row.resolution}px  {row.layers[0] if row.layers else ''}")
        label.setToolTip(f"W+ row {i} styles: {', '.join(row.layers) or '-'}")
        label.setMinimumWidth(110)
        slider = Slider(Qt.Horizontal)
        slider.setObjectName(f"layerMix{i}")
        slider.setRange(0, SLIDER_STEPS)
        slider.setPageStep(100)
        slider.setToolTip(f"Row {i} ({', '.join(row.layers)}): 0 = A, 1 = B")
        value = QLabel("A")
        value.setMinimumWidth(34)
        check = QCheckBox()
        check.setObjectName(f"layerPsiOn{i}")
        check.setToolTip("Give this row its own truncation psi")
        spin = DoubleSpinBox()
        spin.setObjectName(f"layerPsi{i}")
        spin.setRange(-1.0, 2.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(1.0)
        spin.setEnabled(False)
        # With the advanced column hidden a row's own psi is still in force (the state and the session keep
        # it), so the row says so.
        marker = QLabel()
        marker.setObjectName(f"layerPsiMarker{i}")
        marker.setStyleSheet("color: #e0b050;")
        marker.hide()
        slider.valueChanged.connect(lambda v, i=i: self.param.emit(f"mix/{i}", v / SLIDER_STEPS))
        slider.sliderPressed.connect(self.gestureStarted.emit)
        slider.sliderReleased.connect(self.gestureEnded.emit)
        check.toggled.connect(spin.setEnabled)  # at once: the state round trip leaves a ticked box alone
        check.toggled.connect(lambda on, i=i: self.param.emit(f"psi/{i}", self.psi_spins[i].value() if on else OFF))
        spin.valueChanged.connect(lambda v, i=i: self.param.emit(f"psi/{i}", v))
        for col, w in enumerate((label, slider, value, check, spin)):
            grid.addWidget(w, line, col)
        grid.addWidget(marker, line, 3, 1, 2)  # where the advanced column is when it is shown
        self.sliders.append(slider)
        self.values.append(value)
        self.psi_checks.append(check)
        self.psi_spins.append(spin)
        self.psi_markers.append(marker)

    def _show_advanced(self, on: bool) -> None:
        for w in self.psi_checks + self.psi_spins:
            w.setVisible(on)
        for check, marker in zip(self.psi_checks, self.psi_markers):
            marker.setVisible(not on and check.isChecked())

    def _preset(self, what: str | None, text: str, name: str) -> None:
        n = len(self.rows)
        if not n:
            return
        if what == "swap":
            self.edit.emit(lambda s: s.swapped(), name, text)
            return
        rows = range(n) if what == "all" else rows_in_group(self.rows, what) if what else []
        mix = tuple(1.0 if i in rows else 0.0 for i in range(n))
        self.edit.emit(lambda s: s.replace(mix=mix), name, text)

    # ---- mirroring the state -----------------------------------------------------------------------------
    def set_state(self, state: State) -> None:
        n = len(self.rows)
        mix = state.mix_weights(n)
        own = [state.layer_psi[k] if k < len(state.layer_psi) else None for k in range(n)]
        for i in range(n):
            value = round(mix[i] * SLIDER_STEPS)
            if self.sliders[i].value() != value:  # a drag step touches only its own row
                with blocked(self.sliders[i]):
                    self.sliders[i].setValue(value)
            text = "A" if mix[i] == 0 else "B" if mix[i] == 1 else f"{mix[i]:.2f}"
            if self.values[i].text() != text:
                self.values[i].setText(text)
            with blocked(self.psi_checks[i], self.psi_spins[i]):
                self.psi_checks[i].setChecked(own[i] is not None)
                self.psi_spins[i].setEnabled(own[i] is not None)
                if own[i] is not None:
                    show_value(self.psi_spins[i], own[i])
            self.psi_markers[i].setVisible(own[i] is not None and not self.advanced.isChecked())
            if own[i] is not None and self.psi_markers[i].text() != f"\u03c8 {own[i]:.2f}":
                self.psi_markers[i].setText(f"\u03c8 {own[i]:.2f}")
                self.psi_markers[i].setToolTip(f"Row {i} has its own truncation psi {own[i]:.2f} "
                                               "(tick \"Per-row psi (advanced)\" to change it)")
