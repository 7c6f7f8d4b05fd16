"""Model > Blend with... (explorer/gui/blend_dialog.py), driven offscreen through its widgets.

Model B is the bundled model with its tensors perturbed (tests/test_blend.py's ``write_relative``). The
window's live blend must give the images of the blended model the dialog saves, the curve editor's strokes
must be single undo steps that the handles follow back, and a model of another architecture must be
refused in one line with the state kept, and an unrelated one blended with a note.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QAction  # noqa: E402

from explorer.engine.blend import layer_weights  # noqa: E402
from explorer.engine.render import Renderer  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402
from explorer.gui import main_window  # noqa: E402
from explorer.gui import settings as prefs  # noqa: E402
from tests.test_blend import write_relative, write_stranger  # noqa: E402

TIMEOUT = 30_000


def open_window(qtbot):
    window = main_window(network=BUNDLED_MODEL, autosave=False)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.model_info is not None and window.is_current(), timeout=TIMEOUT)
    return window


def show_dialog(window):
    window.findChild(QAction, "blendWith").trigger()
    dialog = window.features["blend_dialog"].dialog
    assert dialog.isVisible()
    return dialog


def pick(combo, data) -> None:
    """Choose the entry holding ``data`` as a click in the drop-down does."""
    index = combo.findData(data)
    assert index >= 0, f"{data!r} is not offered"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_live_blend_renders_as_the_saved_model_and_strokes_undo(qtbot, tmp_path):
    model_b = write_relative(tmp_path / "b.safetensors")
    prefs.add_recent_file(model_b)  # offered by the model box, as a model opened before
    window = open_window(qtbot)
    dialog = show_dialog(window)
    assert not dialog.curve.isEnabled()  # no blend yet

    pick(dialog.model_box, str(model_b.resolve()))
    qtbot.waitUntil(lambda: window.state.blend is not None, timeout=TIMEOUT)
    assert window.state.blend.sha256 == load_model(model_b).sha256
    pick(dialog.mode_box, "sigmoid")
    pick(dialog.mid_box, 16)
    dialog.width_box.setValue(0.7)
    blend = window.state.blend
    assert (blend.mode, blend.mid, blend.width) == ("sigmoid", 16, pytest.approx(0.7))
    infos = window.model_info.layer_infos
    assert dialog.curve.weights == pytest.approx(layer_weights(infos, "sigmoid", 16, 0.7))
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    live = window.image_array().copy()

    saved = tmp_path / "c.safetensors"
    done = []
    dialog.save(str(saved), on_saved=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT)
    expected = Renderer(load_model(saved)).render(window.state.replace(blend=None))
    assert np.abs(live.astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(live, Renderer(load_model(BUNDLED_MODEL)).render(window.state.replace(blend=None)))

    # one stroke across three handles: one undo step; undo moves the handles back
    steps = len(window.history)
    curve = dialog.curve
    start, end = curve.handle_pos(0), curve.handle_pos(2)
    top = 2  # above the plot's top edge: B's share clamps to 1
    qtbot.mousePress(curve, Qt.LeftButton, pos=QPoint(int(start.x()), top))
    qtbot.mouseMove(curve, QPoint(int((start.x() + end.x()) / 2), top))
    qtbot.mouseMove(curve, QPoint(int(end.x()), top))
    qtbot.mouseRelease(curve, Qt.LeftButton, pos=QPoint(int(end.x()), top))
    stroked = window.state.blend
    assert stroked.mode == "layers" and list(stroked.layers[:3]) == [1.0, 1.0, 1.0]
    assert dialog.mode_box.currentData() == "layers"
    assert len(window.history) == steps + 1 and window.history.undo_text == "Blend curve"
    window.history.undo()
    assert window.state.blend == blend
    assert dialog.curve.weights == pytest.approx(layer_weights(infos, "sigmoid", 16, 0.7))
    assert dialog.mode_box.currentData() == "sigmoid"

    pick(dialog.mode_box, "off")
    assert window.state.blend is None and not dialog.curve.isEnabled()


def test_a_model_of_another_architecture_is_refused_in_one_line(qtbot, nvidia_dir):
    window = open_window(qtbot)
    dialog = show_dialog(window)
    before = window.state
    errors = []
    window.errorOccurred.connect(errors.append)
    dialog.choose_model(str(nvidia_dir / "sg2-cond-32.pkl"))  # what Browse... does with the chosen file
    qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT)
    assert "sg2-cond-32.pkl" in errors[0] and "cannot blend" in errors[0] and "\n" not in errors[0]
    assert window.state == before and window.state.blend is None
    assert dialog.mode_box.currentData() == "off"


def test_an_unrelated_model_blends_with_a_note(qtbot, tmp_path):
    window = open_window(qtbot)
    dialog = show_dialog(window)
    dialog.choose_model(str(write_stranger(tmp_path / "stranger.safetensors")))
    qtbot.waitUntil(lambda: window.state.blend is not None, timeout=TIMEOUT)
    assert "ancestor" in dialog.note.text() and "stranger.safetensors" in dialog.note.text()
