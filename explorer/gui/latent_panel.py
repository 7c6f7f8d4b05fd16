"""Dock "Latent": seeds A and B, dice, thumbnails, the seed pad for A and the class picker.

Widgets never compute latents: each edit is sent as a function State -> State (``edit``) that the window
applies and records for undo; ``set_state`` mirrors a state back into the widgets without emitting.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget,
)

from explorer.engine.seeds import pad_latent, pad_position, random_seed
from explorer.engine.state import Latent, State
from explorer.gui.seed_spin import SeedSpinBox
from explorer.gui.seed_pad import SeedPad
from explorer.gui.widgets import ComboBox, Thumbnail, blocked, dice_icon



class LatentPanel(QWidget):
    param = Signal(str, object)  # (registry address, value): one parameter set, see MainWindow.set_param
    edit = Signal(object, str, str)  # fn(State) -> State, control name, undo text: the seed pad's latents
    gestureStarted = Signal()  # a slider / the pad is pressed: changes until gestureEnded are one undo step
    gestureEnded = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self.seed_a, self.dice_a, self.thumb_a = self._seed_row(grid, 0, "A")
        self.seed_b, self.dice_b, self.thumb_b = self._seed_row(grid, 2, "B")
        layout.addLayout(grid)

        self.w_plus_note = QLabel()
        self.w_plus_note.setWordWrap(True)
        self.w_plus_note.setStyleSheet("color: #e0b050;")
        self.w_plus_note.hide()
        layout.addWidget(self.w_plus_note)

        layout.addWidget(QLabel("Seed pad (A): drag to blend seeds"))
        self.pad = SeedPad()
        layout.addWidget(self.pad)
        pad_row = QHBoxLayout()
        self.offset_label = QLabel("offset +0.00, +0.00")
        self.offset_label.setObjectName("seedOffset")
        self.snap_button = QPushButton("Snap")
        self.snap_button.setObjectName("snapSeed")
        self.snap_button.setToolTip("Round the pad position to the nearest seed")
        self.snap_on_release = QCheckBox("Snap on release")
        self.snap_on_release.setObjectName("snapOnRelease")
        self.snap_on_release.setToolTip("Off: a drag keeps its fractional blend (as NVIDIA's visualizer)")
        pad_row.addWidget(self.offset_label, 1)
        pad_row.addWidget(self.snap_on_release)
        pad_row.addWidget(self.snap_button)
        layout.addLayout(pad_row)

        class_row = QHBoxLayout()
        self.class_label = QLabel("Class")
        self.class_combo = ComboBox()
        self.class_combo.setObjectName("classIdx")
        self.class_combo.setToolTip("Class given to a conditional model's mapping network")
        class_row.addWidget(self.class_label)
        class_row.addWidget(self.class_combo, 1)
        layout.addLayout(class_row)
        self.set_class_count(0)
        layout.addStretch(1)

        self.seed_a.valueChanged.connect(lambda v: self.param.emit("seed_a", v))
        self.seed_b.valueChanged.connect(lambda v: self.param.emit("seed_b", v))
        self.dice_a.clicked.connect(lambda: self.seed_a.setValue(random_seed()))
        self.dice_b.clicked.connect(lambda: self.seed_b.setValue(random_seed()))
        self.pad.moved.connect(self._pad_moved)
        self.pad.pressed.connect(self.gestureStarted.emit)
        self.pad.released.connect(self._pad_released)
        self.snap_button.clicked.connect(self.snap)
        self.class_combo.currentIndexChanged.connect(
            lambda i: i >= 0 and self.param.emit("class", i))

    def _seed_row(self, grid: QGridLayout, row: int, side: str):
        label = QLabel(f"Seed {side}")
        spin = SeedSpinBox()
        spin.setObjectName(f"seed{side}")
        spin.setToolTip(f"Seed {side} (0 .. 4294967295), as NVIDIA's gen_images.py --seeds")
        dice = QToolButton()
        dice.setIcon(dice_icon())
        dice.setIconSize(QSize(20, 20))
        dice.setObjectName(f"dice{side}")
        dice.setToolTip(f"Random seed {side} ({'R' if side == 'A' else 'Shift+R'})")
        thumb = Thumbnail()
        thumb.setObjectName(f"thumb{side}")
        thumb.setToolTip(f"Seed {side} alone")
        grid.addWidget(label, row, 0)
        grid.addWidget(spin, row, 1)
        grid.addWidget(dice, row, 2)
        grid.addWidget(thumb, row, 3, 2, 1, Qt.AlignRight)
        grid.setRowMinimumHeight(row + 1, 24)
        return spin, dice, thumb

    # ---- model and state ---------------------------------------------------------------------------------
    def set_class_count(self, c_dim: int) -> None:
        with blocked(self.class_combo):
            self.class_combo.clear()
            self.class_combo.addItems([f"class {i}" for i in range(c_dim)])
        for w in (self.class_label, self.class_combo):
            w.setVisible(c_dim > 0)

    def set_state(self, state: State) -> None:
        with blocked(self.seed_a, self.seed_b, self.class_combo):
            self.seed_a.setValue(state.a.seed)
            self.seed_b.setValue(state.b.seed)
            if 0 <= state.class_idx < self.class_combo.count():
                self.class_combo.setCurrentIndex(state.class_idx)
        self.pad.set_position(*pad_position(state.a))
        ox, oy = state.a.offset
        self.offset_label.setText(f"offset {ox:+.2f}, {oy:+.2f}")
        imported = [side for side, lat in (("A", state.a), ("B", state.b)) if lat.w_plus is not None]
        self.w_plus_note.setVisible(bool(imported))
        final = any(lat.w_plus is not None and not lat.follow_psi for lat in (state.a, state.b))
        self.w_plus_note.setText(
            f"{' and '.join(imported)} {'is an' if len(imported) == 1 else 'are'} imported W+"
            f"{', rendered as imported (truncation off for it)' if final else ''}; "
            "choose a seed to go back to seeds.")

    # ---- seed pad -----------------------------------------------------------------------------------------
    def _pad_moved(self, x: float, y: float) -> None:
        latent = pad_latent(x, y)
        self.edit.emit(lambda s: s.replace(a=latent), "seedPad", "Drag seed pad")

    def _pad_released(self) -> None:
        if self.snap_on_release.isChecked():
            self.snap(merge=True)
        self.gestureEnded.emit()

    def snap(self, merge: bool = False) -> None:
        x, y = self.pad.position()
        latent = pad_latent(x, y, snap=True)
        self.edit.emit(lambda s: s.replace(a=latent), "seedPad" if merge else "snapSeed", "Snap seed")
