"""Issue 21: the window's number boxes, driven as a person would (typing at keyboard speed, the wheel over
a dock). Typed text must survive the state round trip; the wheel changes only a focused box."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox  # noqa: E402

from explorer.gui import main_window  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture
def window(qtbot, nvidia_dir):
    win = main_window(network=nvidia_dir / "sg3t-32.pkl", autosave=False)  # has an input transform
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitUntil(lambda: win.model_info is not None and win.is_current(), timeout=TIMEOUT)
    return win


def type_into(qtbot, box: QDoubleSpinBox, text: str) -> None:
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box.lineEdit(), text, delay=20)


@pytest.mark.parametrize("name, field, text, expected", [
    ("psi", "psi", "0.75", 0.75),
    ("psi", "psi", "0.35", 0.35),
    ("psi", "psi", "-0.5", -0.5),
    ("noiseStrength", "noise_strength", "2.5", 2.5),
    ("rotate", "rotate", "-12.5", -12.5),
    ("translateX", "translate", "0.125", 0.125),
])
def test_typing_into_a_number_box_keeps_every_digit(qtbot, window, name, field, text, expected):
    box = window.findChild(QDoubleSpinBox, name)
    type_into(qtbot, box, text)
    assert box.lineEdit().text().startswith(text)
    box.editingFinished.emit()
    value = getattr(window.state, field)
    assert (value[0] if field == "translate" else value) == pytest.approx(expected)
