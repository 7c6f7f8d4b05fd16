"""A spin box for seeds 0..2**32-1. QSpinBox holds int32, which cannot reach NVIDIA's unsigned seeds."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox

from explorer.engine.state import MAX_SEED
from explorer.gui.widgets import WheelNeedsFocus


class SeedSpinBox(WheelNeedsFocus, QAbstractSpinBox):
    """Integer spin box over 0..``maximum`` (default 2**32-1) with Python ints throughout.

    ``valueChanged(object)`` carries a Python int (a Qt ``int`` signal would truncate to 32 bits signed).
    Stepping past either end wraps, so Left on seed 0 gives 2**32-1 as the seed arithmetic does. The wheel
    steps it only while it has focus (see ``WheelNeedsFocus``).
    """

    valueChanged = Signal(object)

    def __init__(self, parent=None, maximum: int = MAX_SEED):
        super().__init__(parent)
        self._value = 0
        self._maximum = maximum
        self.setAccelerated(True)
        self.setKeyboardTracking(False)
        self.lineEdit().setText("0")
        self.editingFinished.connect(self._commit_text)

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._maximum

    def setValue(self, value: int) -> None:
        value = int(value)
        if not 0 <= value <= self._maximum:
            raise ValueError(f"seed must be within 0..{self._maximum}, got {value}")
        changed = value != self._value
        self._value = value
        if self.lineEdit().text() != str(value):
            self.lineEdit().setText(str(value))
        if changed:
            self.valueChanged.emit(value)

    def stepBy(self, steps: int) -> None:
        self.setValue((self._value + steps) % (self._maximum + 1))

    def stepEnabled(self):
        return QAbstractSpinBox.StepUpEnabled | QAbstractSpinBox.StepDownEnabled

    def validate(self, text: str, pos: int):
        if text == "":
            return QValidator.Intermediate, text, pos
        if not text.isdigit():
            return QValidator.Invalid, text, pos
        return (QValidator.Acceptable if int(text) <= self._maximum else QValidator.Invalid), text, pos

    def fixup(self, text: str) -> str:
        return str(self._value)

    def _commit_text(self) -> None:
        text = self.lineEdit().text()
        if text.isdigit() and int(text) <= self._maximum:
            self.setValue(int(text))
        else:
            self.lineEdit().setText(str(self._value))

    def sizeHint(self):
        hint = super().sizeHint()
        width = self.fontMetrics().horizontalAdvance("4294967295") + 30
        hint.setWidth(width)
        return hint

    def minimumSizeHint(self):
        return self.sizeHint()
