"""The Directions dock, driven offscreen as a person would: its sliders give the CLI's images
(`explorer generate --edit`), a drag is one undo step, ranges and previews are the engine's, and bad files
are a one-line banner that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from explorer.cli import main as cli  # noqa: E402
from explorer.cli.directions import parse_edit  # noqa: E402
from explorer.engine.directions import DirectionSet, load_directions, pca_directions, save_directions  # noqa: E402
from explorer.engine.render import Renderer  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402
from explorer.gui.range_slider import RangeSlider  # noqa: E402

TIMEOUT = 60_000
SG3 = "tests/fixtures/nvidia/sg3t-32.pkl"


@pytest.fixture(scope="module")
def renderer():
    return Renderer(load_model(BUNDLED_MODEL))


@pytest.fixture
def window(open_window):
    return open_window(BUNDLED_MODEL, until=lambda w: bool(w.features["directions_dock"].sets), size=(1200, 800))


def drag(slider, values):
    """A person's drag: pressed, moved through ``values``, released."""
    slider.setSliderDown(True)
    slider.sliderPressed.emit()
    for value in values:
        slider.setValue(value)
        QApplication.processEvents()
    slider.setSliderDown(False)
    slider.sliderReleased.emit()


def current_image(qtbot, window):
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    return window.image_array()


def test_slider_and_range_give_the_cli_images_and_undo(qtbot, window, renderer, tmp_path):
    dock = window.features["directions_dock"]
    assert dock.set_combo.currentText() == "SeFa (all rows)" and len(dock.dset) == 256
    plain, base = current_image(qtbot, window).copy(), window.state
    directions = tmp_path / "sefa.npz"
    assert cli(["directions", "sefa", "--output", str(directions)]) == 0
    assert load_directions(directions).content_hash == dock.dset.content_hash  # the CLI's set, exactly

    steps = len(window.history)
    drag(dock.rows[1].slider, range(10, 201, 10))  # to +2 sigma
    image = current_image(qtbot, window)
    g = renderer.generator
    assert window.state.edits == (parse_edit(f"{directions}:1=2", g),)
    assert cli(["generate", "--seeds", "0", "--edit", f"{directions}:1=2", "--outdir", str(tmp_path)]) == 0
    np.testing.assert_array_equal(image, np.asarray(Image.open(tmp_path / "seed0000.png").convert("RGB")))
    assert len(window.history) == steps + 1  # the drag, and the edit it added, are one step
    assert dock.rows[1].value_label.text() == "+2.00"

    dock.preset_buttons["coarse"].click()  # rows 0-2 of the bundled model
    assert dock.range_slider.values() == (0, 2)
    expected = base.replace(edits=(parse_edit(f"{directions}:1@0-2=2", g),))
    assert window.state == expected
    np.testing.assert_array_equal(current_image(qtbot, window), renderer.render(expected))
    qtbot.waitUntil(dock.previews_current, timeout=TIMEOUT)  # the previews of the coarse range, not earlier ones
    at_three = base.replace(edits=(parse_edit(f"{directions}:1@0-2=3", g),))
    np.testing.assert_array_equal(dock.previews[4].array, renderer.render(at_three))

    window.undo_action.trigger()  # the range
    assert window.state.edits[0].rows == (0, 9) and dock.range_slider.values() == (0, 9)
    window.undo_action.trigger()  # the drag
    assert window.state.edits == () and dock.rows[1].slider.value() == 0
    np.testing.assert_array_equal(current_image(qtbot, window), plain)
    window.redo_action.trigger()
    assert dock.rows[1].slider.value() == 200
    dock.reset(1)
    assert window.state.edits == () and not dock.reset_button.isEnabled()


def test_bad_direction_files_are_one_line_banners_and_change_nothing(qtbot, window, renderer, tmp_path):
    dock = window.features["directions_dock"]
    g = renderer.generator
    beyond = DirectionSet.build(np.eye(1, g.w_dim), [1.0], ["x"], (0, g.num_ws + 2), "import", {}, "")
    files = {"wide.npy": lambda p: np.save(p, np.ones((2, g.w_dim + 1))),
             "nan.npy": lambda p: np.save(p, np.full((1, g.w_dim), np.nan)),
             "beyond.npz": lambda p: save_directions(p, beyond),
             "objects.npy": lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
             "corrupt.npz": lambda p: p.write_bytes(b"PK\x03\x04 not really a zip")}
    state, labels = window.state, [label for label, _ in dock.sets]
    for name, write in files.items():
        path = tmp_path / name
        write(path)
        with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as error:
            dock.import_file(path)
        text = error.args[0]
        assert name in text and "\n" not in text
        assert window.state == state and [label for label, _ in dock.sets] == labels
    good = tmp_path / "good.npz"
    save_directions(good, dock.dset)
    dock.import_file(good)
    qtbot.waitUntil(lambda: dock.set_combo.currentText() == "good.npz", timeout=TIMEOUT)

    dock.move_slider(2, 1.0)
    window.open_model(SG3)  # another W: the old sets go, the new model's SeFa set comes
    qtbot.waitUntil(lambda: bool(dock.sets) and dock.dset.w_dim == 64, timeout=TIMEOUT)
    labels = [label for label, _ in dock.sets]  # all rows, then the groups this model has rows in
    assert labels[0] == "SeFa (all rows)" and set(labels[1:]) <= {"SeFa (coarse)", "SeFa (middle)", "SeFa (fine)"}
    assert window.state.edits == ()


def test_pca_examples_rename_and_save(qtbot, window, renderer, tmp_path):
    dock = window.features["directions_dock"]
    dock.pca_samples.setValue(2_000)
    dock.buttons["computePca"].click()
    qtbot.waitUntil(lambda: dock.set_combo.currentText() == "PCA (2,000 samples)", timeout=TIMEOUT)
    reference = pca_directions(renderer.model, 2_000, 20)
    assert dock.dset.content_hash == reference.content_hash

    for name in ("smile", "age"):
        dock.add_examples([1, 5], [2, 4] if name == "smile" else [3, 6], name)
        qtbot.waitUntil(lambda: dock.sets[-1][0] == "Examples" and dock.dset.names[-1] == name,
                        timeout=TIMEOUT)
    assert dock.dset.names == ("smile", "age") and dock.selected == 1

    dock.set_combo.setCurrentIndex(0)  # SeFa
    dock.move_slider(3, -1.0)
    dock.set_combo.setCurrentText("Examples")
    assert dock.other_edits.isVisibleTo(dock) and "1 edit from other sets" in dock.other_edits.text()
    dock.move_slider(0, 1.5)
    dock.select(0)
    dock.name_edit.setText("grin")
    dock.name_edit.editingFinished.emit()
    assert window.state.edits[1].name == "grin" and dock.rows[0].select_button.text() == "grin"

    path = tmp_path / "mine.npz"
    assert dock.save_set(path)
    saved = load_directions(path, renderer.generator)
    assert saved.names == ("grin", "age") and saved.content_hash == dock.dset.content_hash
    window.ask = lambda question: False  # "Replace mine.npz?" -> no
    before = path.read_bytes()
    assert not dock.save_set(path) and path.read_bytes() == before


def _press(widget, x, kind=QMouseEvent.MouseButtonPress, buttons=Qt.LeftButton):
    event = QMouseEvent(kind, QPointF(x, widget.height() / 2), QPointF(x, widget.height() / 2), Qt.LeftButton,
                        buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, event)


def test_range_slider_handles_drag_without_crossing_and_keys(qtbot):
    slider = RangeSlider(0, 9)
    qtbot.addWidget(slider)
    slider.resize(200, 30)
    seen = []
    slider.rangeChanged.connect(lambda first, last: seen.append((first, last)))
    _press(slider, slider._x_of(0))  # the first handle
    _press(slider, slider._x_of(4), QMouseEvent.MouseMove)
    _press(slider, slider._x_of(4), QMouseEvent.MouseButtonRelease, Qt.NoButton)
    assert slider.values() == (4, 9) and seen[-1] == (4, 9)
    _press(slider, slider._x_of(9))  # the last handle, dragged past the first: they meet, never cross
    _press(slider, slider._x_of(1), QMouseEvent.MouseMove)
    _press(slider, slider._x_of(1), QMouseEvent.MouseButtonRelease, Qt.NoButton)
    assert slider.values() == (4, 4)
    qtbot.keyClick(slider, Qt.Key_Right, Qt.ShiftModifier)
    assert slider.values() == (5, 5)
    slider.set_values(2, 7)
    assert seen[-1] == (5, 5)  # mirroring a state does not emit
    qtbot.keyClick(slider, Qt.Key_Left)  # the handle last used (the last one)
    assert slider.values() == (2, 6)


def test_sets_that_cannot_be_found_again_survive_a_restart(qtbot, window, tmp_path):
    import numpy as np

    from explorer.engine.directions import DirectionSet
    from explorer.gui import main_window

    dock = window.features["directions_dock"]
    rng = np.random.default_rng(0)
    imported = DirectionSet.build(rng.normal(size=(3, window.model_info.w_dim)), [1.0, 2.0, 3.0], ["x", "y", "z"],
                                  (0, 2), "import", {"file": "x.npy"}, window.model_info.sha256)
    dock.add_set("Imported x.npy", imported)
    assert DirectionSet.from_json(imported.to_json()).content_hash == imported.content_hash
    window.save_session()  # what quitting does
    again = main_window(network=None, autosave=False)
    qtbot.addWidget(again)
    restored = again.features["directions_dock"]
    qtbot.waitUntil(lambda: len(restored.sets) == 5, timeout=TIMEOUT)  # the import, and SeFa found again
    sets = dict(restored.sets)
    assert sets["Imported x.npy"].content_hash == imported.content_hash
    assert [label for label, _ in restored.sets].count("SeFa (all rows)") == 1
    again.shutdown()
