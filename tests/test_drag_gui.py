"""The window's Drag tool (explorer/gui/drag_tool.py), driven with the mouse on the bundled model."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QRadioButton  # noqa: E402

from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import Latent  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402
from explorer.gui import main_window  # noqa: E402

TIMEOUT = 60_000


@pytest.fixture
def window(qtbot):
    window = main_window(network=BUNDLED_MODEL, autosave=False, restore_session=False)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.model_info is not None and window.is_current(), timeout=TIMEOUT)
    window.set_state(window.state.replace(a=Latent(seed=3), psi=0.7), "seed")
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    return window


def click(qtbot, canvas, x, y):
    """A left click on image pixel (x, y) (its centre)."""
    pos = canvas.to_widget(x + 0.5, y + 0.5).toPoint()
    qtbot.mousePress(canvas, Qt.LeftButton, pos=pos)
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=pos)


def test_drag_in_the_window_is_one_undo_step_and_reopens(window, qtbot, tmp_path):
    tool = window.features["drag_tool"]
    canvas = window.canvas
    tool.action.trigger()
    assert canvas.tool() is tool and tool.dock.isVisibleTo(window)
    click(qtbot, canvas, 25, 32)
    click(qtbot, canvas, 35, 32)
    assert tool.points.pairs() == (((25, 32),), ((35, 32),))
    before_state, before_image = window.state, window.image_array().copy()
    shown = canvas.images_shown
    tool.panel.steps.setValue(6)
    qtbot.mouseClick(tool.panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.state.a.w_plus is not None and window.is_current(), timeout=TIMEOUT)
    assert canvas.images_shown >= shown + 6  # every step was shown, then the result
    record = window.state.a.drags[-1]
    assert record.steps == 6 and record.handles == ((25, 32),)
    assert tool.points.handles[0] == record.reached[0] and tool.points.targets == [(35, 32)]  # next round
    assert not np.array_equal(window.image_array(), before_image)
    np.testing.assert_array_equal(window.image_array(), Renderer(load_model(BUNDLED_MODEL)).render(window.state))
    window.undo_action.trigger()
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    assert window.state == before_state
    np.testing.assert_array_equal(window.image_array(), before_image)


def test_mask_brush_and_reset(window, qtbot):
    tool = window.features["drag_tool"]
    canvas = window.canvas
    tool.set_active(True)
    tool.panel.findChild(QRadioButton, "dragMode_mask").setChecked(True)
    start, end = canvas.to_widget(10.5, 10.5).toPoint(), canvas.to_widget(30.5, 10.5).toPoint()
    qtbot.mousePress(canvas, Qt.LeftButton, pos=start)
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=end)
    mask = tool.points.mask
    assert mask is not None and mask[10, 10:31].all() and not mask[30, 10] and not mask[10, 40]
    canvas.grab()  # paints the tint and the points without error
    tool.panel.findChild(QRadioButton, "dragMode_points").setChecked(True)
    click(qtbot, canvas, 5, 5)
    assert tool.points.handles == [(5, 5)] and not tool.panel.start_button.isEnabled()  # no target yet
    qtbot.mouseClick(tool.panel.reset_button, Qt.LeftButton)
    assert tool.points.handles == [] and tool.points.mask is not None
    qtbot.mouseClick(tool.panel.clear_mask_button, Qt.LeftButton)
    assert tool.points.mask is None
    tool.set_active(False)
    assert canvas.tool() is None


def test_recorded_steps_and_a_cancelled_drag(window, qtbot, tmp_path, monkeypatch):
    tool = window.features["drag_tool"]
    tool.set_active(True)
    click(qtbot, window.canvas, 25, 32)
    click(qtbot, window.canvas, 35, 32)
    video = tmp_path / "steps.gif"
    monkeypatch.setattr(tool, "ask_video_path", lambda: str(video))
    tool.panel.record.setChecked(True)
    tool.panel.steps.setValue(3)
    tool.start()
    qtbot.waitUntil(lambda: window.state.a.w_plus is not None and window.is_current(), timeout=TIMEOUT)
    from PIL import Image

    with Image.open(video) as frames:
        assert frames.n_frames == 4 and frames.size == (256, 256)
    # a cancelled drag leaves the state, and shows its image again
    state, image = window.state, window.image_array().copy()
    tool.panel.record.setChecked(False)
    tool.panel.steps.setValue(5000)
    tool.start()
    qtbot.waitUntil(lambda: bool(window.features["drag_tool"].ctx.jobs()), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.canvas.images_shown > 0 and not np.array_equal(window.image_array(), image),
                    timeout=TIMEOUT)
    for job in tool.ctx.jobs():
        job.cancel()
    qtbot.waitUntil(lambda: not tool.ctx.jobs() and tool.panel.start_button.isEnabled(), timeout=TIMEOUT)
    assert window.state == state
    np.testing.assert_array_equal(window.image_array(), image)
    # Stop ends a drag early and keeps what it has, as one more undo step
    shown = window.canvas.images_shown
    tool.start()
    qtbot.waitUntil(lambda: window.canvas.images_shown >= shown + 2, timeout=TIMEOUT)
    qtbot.mouseClick(tool.panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.state != state and window.is_current(), timeout=TIMEOUT)
    assert len(window.state.a.drags) == 2 and window.state.a.drags[-1].steps < 5000


def test_points_survive_the_session_and_bad_session_data_leaves_them_empty():
    from explorer.gui.drag_tool import DragPoints

    points = DragPoints()
    points.add((1, 2))
    points.add((3, 4))
    points.add((5, 6))  # a handle still without target
    points.brush(16, (4, 4), (10, 4), 2, free=True)
    again = DragPoints()
    again.load_json(points.to_json())
    assert again.handles == points.handles and again.targets == points.targets
    assert np.array_equal(again.mask, points.mask) and again.pairs() == (((1, 2),), ((3, 4),))
    again.fit(8)  # a smaller model: the pair still fits, the handle at (5, 6) too, the 16 px mask not
    assert again.handles == [(1, 2), (5, 6)] and again.targets == [(3, 4)] and again.mask is None
    again.fit(5)
    assert again.handles == [(1, 2)] and again.targets == [(3, 4)]
    again.fit(3)
    assert again.handles == [] and again.targets == []
    for bad in ("x", {"handles": "ab"}, {"handles": [[1]]}, {"handles": [[1, 2]], "mask": "zz"}):
        again.load_json(bad)
        assert again.handles == [] and again.mask is None
