"""The seed browser, favourites and compare docks, driven as an artist would, on the bundled model."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from explorer.engine.favourites import read_favourites  # noqa: E402
from explorer.engine.recipe import read_recipe  # noqa: E402
from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import Latent, State  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402
from explorer.gui import main_window  # noqa: E402
from explorer.gui.favourites_panel import qimage_to_array  # noqa: E402
from explorer.gui.seed_browser import tile_state  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture(scope="module")
def renderer():
    return Renderer(load_model(BUNDLED_MODEL))


def open_window(qtbot, network=BUNDLED_MODEL):
    window = main_window(network=network, autosave=False)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: window.model_info is not None and window.is_current(), timeout=TIMEOUT)
    return window


def shown_browser(qtbot, window):
    browser = window.features["seed_browser"]
    browser.page_size.setCurrentIndex(0)  # 12 tiles
    browser.dock.show()
    browser.dock.raise_()
    wait_tiles(qtbot, browser)
    return browser


def wait_tiles(qtbot, browser):
    qtbot.waitUntil(lambda: browser.seeds() and all(browser.image(s) is not None for s in browser.seeds()),
                    timeout=TIMEOUT)


def click_tile(qtbot, browser, seed, modifier=Qt.NoModifier):
    item = browser.grid.tile(seed)
    browser.grid.scrollToItem(item)
    qtbot.mouseClick(browser.grid.viewport(), Qt.LeftButton, modifier, browser.grid.visualItemRect(item).center())


def test_tiles_are_the_engine_images_and_follow_the_settings(qtbot, renderer):
    window = open_window(qtbot)
    browser = shown_browser(qtbot, window)
    assert browser.seeds() == list(range(12))
    for seed in (0, 5, 11):
        expected = renderer.render(tile_state(window.state, seed))
        np.testing.assert_array_equal(qimage_to_array(browser.image(seed)), expected)
    window.set_param("psi", 0.4)  # the tiles show what seed A would look like with the new psi
    wait_tiles(qtbot, browser)
    np.testing.assert_array_equal(qimage_to_array(browser.image(3)), renderer.render(State(a=Latent(seed=3), psi=0.4)))

    browser.jump_box.setValue(4294967290)
    assert browser.seeds()[:7] == [4294967290, 4294967291, 4294967292, 4294967293, 4294967294, 4294967295, 0]
    browser.next.click()
    assert browser.seeds()[0] == 6
    browser.mode.setCurrentIndex(1)  # random pages; going back shows the same random seeds again
    first = browser.seeds()
    browser.next.click()
    assert browser.seeds() != first
    browser.previous.click()
    assert browser.seeds() == first


def test_click_sets_seed_a_undoably_and_shift_click_seed_b(qtbot):
    window = open_window(qtbot)
    browser = shown_browser(qtbot, window)
    before = window.state
    click_tile(qtbot, browser, 7)
    assert window.state == before.replace(a=Latent(seed=7))
    click_tile(qtbot, browser, 9, Qt.ShiftModifier)
    assert window.state.b == Latent(seed=9) and window.state.a == Latent(seed=7)
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert window.state == before


def test_favourites_survive_a_restart_and_reopen_exactly(qtbot, tmp_path):
    window = open_window(qtbot)
    browser = shown_browser(qtbot, window)
    favourites = window.features["favourites_panel"]
    browser.add_favourite(4)  # the browser's context-menu entry
    window.set_param("psi", 0.6)
    window.set_param("mix/2", 1)
    window.findChild(type(window.undo_action), "actionAddFavourite").trigger()  # F
    liked = window.state
    qtbot.waitUntil(lambda: all(f.thumbnail is not None for f in favourites.favourites), timeout=TIMEOUT)
    favourites.list.setCurrentRow(1)
    favourites.tags.setText("warm, portrait")
    favourites.tags.editingFinished.emit()
    favourites.note.setPlainText("try with seed 12 as B")
    saved = list(favourites.favourites)
    assert [f.name for f in saved] == ["seed 4", "seed 0 + 1"] and saved[1].tags == ("warm", "portrait")
    assert saved[0].state == State(a=Latent(seed=4)) and saved[1].state == liked

    exported = tmp_path / "fav.json"
    favourites.export_to(exported)
    assert read_favourites(exported) == tuple(saved)
    path = favourites.drag_file(1)  # what dragging the favourite out drops
    assert read_recipe(path).state == liked
    window.close()  # saves the session

    again = open_window(qtbot, network=None)
    reopened = again.features["favourites_panel"]
    assert reopened.favourites == saved
    reopened.show_favourite(1)
    assert again.state == liked
    reopened.use_as(0, "b")
    assert again.state == liked.replace(b=Latent(seed=4))
    reopened.add_keyframe(0)
    assert again.features["timeline_panel"].timeline.keyframes[-1].state == saved[0].state == again.state
    reopened.import_from(exported)  # importing again keeps both copies, names made unique
    assert [f.name for f in reopened.favourites][2:] == ["seed 4 (2)", "seed 0 + 1 (2)"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "stylegan-explorer-favourites", "version": 3}))
    reopened.import_from(bad)
    assert len(reopened.favourites) == 4  # a bad file changes nothing


def test_pin_split_wipe_and_triptych(qtbot, renderer):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QAction

    from explorer.gui.compare import side_states

    window = open_window(qtbot)
    compare = window.features["compare"]
    window.findChild(QAction, "actionPinImage").trigger()
    pinned = window.image_array().copy()
    window.set_param("seed_a", 5)
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    live = window.image_array()
    window.findChild(QAction, "actionSplitWipe").trigger()
    assert compare.wiping and window.canvas.tool() is not None

    def shown(x, y):  # the colour the canvas shows at the centre of image pixel (x, y)
        rect = window.canvas.image_rect()
        size = pinned.shape[1]
        point = QPoint(int(rect.x() + (x + 0.5) * rect.width() / size), int(rect.y() + (y + 0.5) * rect.height() / size))
        colour = window.canvas.grab().toImage().pixelColor(point)
        return colour.red(), colour.green(), colour.blue()

    assert shown(10, 40) == tuple(pinned[40, 10]) != tuple(live[40, 10])  # left of the split: the pinned image
    assert shown(50, 40) == tuple(live[40, 50])
    rect = window.canvas.image_rect()
    qtbot.mousePress(window.canvas, Qt.LeftButton, pos=QPoint(int(rect.x() + rect.width() * 0.9), int(rect.center().y())))
    qtbot.mouseRelease(window.canvas, Qt.LeftButton, pos=QPoint(int(rect.x() + rect.width() * 0.9), int(rect.center().y())))
    assert compare.split == pytest.approx(0.9, abs=0.02)
    assert shown(50, 40) == tuple(pinned[40, 50])
    window.findChild(QAction, "actionSplitWipe").trigger()
    assert not compare.wiping and window.canvas.tool() is None

    window.set_param("mix/0", 1)
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    triptych = compare.open_window()
    triptych.mode.setCurrentIndex(1)
    sides = {side: renderer.render(state) for side, state in side_states(window.state).items()}
    qtbot.waitUntil(lambda: all(triptych.panes[p].image_array() is not None for p in ("left", "right")), timeout=TIMEOUT)
    np.testing.assert_array_equal(triptych.panes["left"].image_array(), sides["a"])
    np.testing.assert_array_equal(triptych.panes["middle"].image_array(), window.image_array())
    np.testing.assert_array_equal(triptych.panes["right"].image_array(), sides["b"])
    triptych.close()


def drop(widget, mime):
    """A drop of ``mime`` on the middle of ``widget``, as the mouse would deliver it."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    centre = widget.rect().center()
    enter = QDragEnterEvent(centre, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(centre), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, event)
    return event


def test_a_dragged_favourite_drops_onto_seed_b_and_the_timeline(qtbot, tmp_path):
    from PySide6.QtCore import QMimeData

    from explorer.gui.state_drag import state_mime

    window = open_window(qtbot)
    favourite = State(a=Latent(seed=21), psi=0.4)
    drop(window.latent_panel.thumb_b, state_mime(favourite))
    assert window.state.b == Latent(seed=21) and window.state.psi == 1.0  # the latent only
    window.undo_action.trigger()
    assert window.state.b == Latent(seed=1)

    timeline = window.features["timeline_panel"]
    drop(timeline.keys.viewport(), state_mime(favourite, tmp_path / "fav.png"))
    assert [k.state for k in timeline.timeline.keyframes] == [favourite]
    plain = QMimeData()
    plain.setText("not a state")
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    enter = QDragEnterEvent(timeline.keys.viewport().rect().center(), Qt.CopyAction, plain, Qt.LeftButton,
                            Qt.NoModifier)
    enter.ignore()
    QApplication.sendEvent(window.latent_panel.thumb_a, enter)
    assert not enter.isAccepted()  # other drags pass by
