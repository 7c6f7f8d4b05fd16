"""The explorer window, driven offscreen: its images are the engine's images, edits are undoable, fast edits
coalesce, exports round-trip, and errors keep the app (and the previous model) alive.

Only the wiring is tested here; the maths is the engine's (tests/test_latents.py, conformance tests).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QPushButton, QSlider, QSpinBox  # noqa: E402

from explorer.engine.layers import rows_in_group, style_rows  # noqa: E402
from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import MAX_SEED, Latent, State  # noqa: E402
from explorer.formats import load_model  # noqa: E402
from explorer.gui import main_window  # noqa: E402
from explorer.gui.seed_spin import SeedSpinBox  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture(scope="module")
def models(request):
    """Reference renderers, one per fixture model (loaded once for the module)."""
    from pathlib import Path

    nvidia = Path(__file__).resolve().parent / "fixtures" / "nvidia"
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = Renderer(load_model(nvidia / name))
        return cache[name]

    return get


def open_window(qtbot, path, **kwargs):
    window = main_window(network=path, autosave=False, **kwargs)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.model_info is not None and window.is_current(), timeout=TIMEOUT)
    return window


def wait_current(qtbot, window):
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    return window.image_array()


def test_seed_a_changes_image_and_matches_generate(qtbot, nvidia_dir, models, tmp_path):
    path = nvidia_dir / "sg2-skip-32.pkl"
    window = open_window(qtbot, path)
    first = window.image_array().copy()
    window.findChild(SeedSpinBox, "seedA").setValue(5)
    image = wait_current(qtbot, window)
    assert window.state.a == Latent(seed=5)
    assert not np.array_equal(image, first)
    expected = models("sg2-skip-32.pkl").render(State(a=Latent(seed=5)))
    np.testing.assert_array_equal(image, expected)

    from explorer.cli import main as cli

    assert cli(["generate", "--network", str(path), "--seeds", "5", "--outdir", str(tmp_path)]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "seed0005.png").convert("RGB")), image)


def test_seed_spin_box_reaches_unsigned_32_bit(qtbot):
    spin = SeedSpinBox()
    qtbot.addWidget(spin)
    spin.setValue(MAX_SEED)
    assert spin.value() == MAX_SEED
    spin.stepBy(1)
    assert spin.value() == 0
    with pytest.raises(ValueError):
        spin.setValue(MAX_SEED + 1)


def test_coarse_from_b_is_the_style_mix(qtbot, nvidia_dir, models):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.findChild(SeedSpinBox, "seedB").setValue(11)
    window.findChild(QPushButton, "coarseFromB").click()
    image = wait_current(qtbot, window)
    renderer = models("sg2-skip-32.pkl")
    g = renderer.generator
    coarse = rows_in_group(style_rows(g.layer_infos(), g.num_ws), "coarse")
    assert coarse and len(coarse) < g.num_ws
    expected_state = State(b=Latent(seed=11)).with_mix(g.num_ws, coarse, 1.0)
    np.testing.assert_array_equal(image, renderer.render(expected_state))
    sliders = [window.findChild(QSlider, f"layerMix{i}") for i in range(g.num_ws)]
    assert [s.value() for s in sliders] == [1000 if i in coarse else 0 for i in range(g.num_ws)]


def test_rapid_slider_changes_end_on_the_final_state(qtbot, nvidia_dir, models):
    from PySide6.QtWidgets import QApplication

    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    slider = window.findChild(QSlider, "layerMix5")
    renders_before = window.worker.render_count
    steps_before = len(window.history)
    slider.setSliderDown(True)  # one drag
    for i in range(1, 201):
        slider.setValue(i * 5)
        QApplication.processEvents()
    slider.setSliderDown(False)
    image = wait_current(qtbot, window)
    assert window.state.mix_weights(8)[5] == 1.0
    np.testing.assert_array_equal(image, models("sg2-skip-32.pkl").render(window.state))
    assert window.worker.render_count - renders_before < 200
    assert len(window.history) == steps_before + 1  # the whole drag is one undo step


def test_undo_redo(qtbot, nvidia_dir, models):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    stack = window.history
    window.findChild(SeedSpinBox, "seedA").setValue(3)
    window.history.end_gesture()
    window.findChild(QDoubleSpinBox, "psi").setValue(0.5)
    window.history.end_gesture()
    window.findChild(QComboBox, "noiseMode").setCurrentText("none")
    assert window.state == State(a=Latent(seed=3), psi=0.5, noise_mode="none")
    stack.undo()
    assert window.state == State(a=Latent(seed=3), psi=0.5)
    assert window.findChild(QComboBox, "noiseMode").currentText() == "const"
    stack.undo()
    assert window.state == State(a=Latent(seed=3))
    assert window.findChild(QDoubleSpinBox, "psi").value() == 1.0
    stack.undo()
    assert window.state == State()
    assert window.findChild(SeedSpinBox, "seedA").value() == 0
    np.testing.assert_array_equal(wait_current(qtbot, window), models("sg2-skip-32.pkl").render(State()))
    stack.redo()
    stack.redo()
    assert window.state == State(a=Latent(seed=3), psi=0.5)
    np.testing.assert_array_equal(wait_current(qtbot, window), models("sg2-skip-32.pkl").render(window.state))


def test_png_recipe_round_trip(qtbot, nvidia_dir, tmp_path):
    window = open_window(qtbot, nvidia_dir / "sg2-cond-32.pkl")
    window.findChild(SeedSpinBox, "seedA").setValue(7)
    window.findChild(QComboBox, "classIdx").setCurrentIndex(2)
    window.findChild(QDoubleSpinBox, "psi").setValue(0.7)
    window.findChild(QPushButton, "middleFromB").click()
    wanted = window.state
    with qtbot.waitSignal(window.imageExported, timeout=TIMEOUT) as exported:
        path = window.export_image(tmp_path)
    assert exported.args == [str(path)] and path.name == "sg2-cond-32-0001.png"
    image = wait_current(qtbot, window).copy()
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), image)
    # never overwrites: the next export gets the next number
    with qtbot.waitSignal(window.imageExported, timeout=TIMEOUT):
        second = window.export_image(tmp_path, scale=2)
    assert second.name == "sg2-cond-32-0002.png" and Image.open(second).size == (64, 64)

    window.findChild(SeedSpinBox, "seedA").setValue(8)
    assert window.state != wanted
    window.open_path(path)
    assert window.state == wanted
    np.testing.assert_array_equal(wait_current(qtbot, window), image)

    # with another model open, the window offers to reopen the image's model (found in the recent files)
    questions = []
    window.ask = lambda text: questions.append(text) or True
    window.open_model(nvidia_dir / "sg2-skip-32.pkl")
    qtbot.waitUntil(lambda: window.model_info.name == "sg2-skip-32.pkl" and window.is_current(), timeout=TIMEOUT)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.model_info.name == "sg2-cond-32.pkl" and window.is_current(), timeout=TIMEOUT)
    assert questions and "sg2-cond-32.pkl" in questions[0]
    assert window.state == wanted
    np.testing.assert_array_equal(window.image_array(), image)


def test_broken_model_keeps_the_old_one(qtbot, nvidia_dir, tmp_path):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(np.random.default_rng(0).bytes(4096))
    with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as error:
        window.open_model(broken)
    message = error.args[0]
    assert "broken.pkl" in message and "\n" not in message and "Traceback" not in message
    assert window.banner.isVisible() or not window.isVisible()
    assert window.model_info.name == "sg2-skip-32.pkl"
    window.findChild(SeedSpinBox, "seedA").setValue(2)
    wait_current(qtbot, window)  # still rendering with the old model


@pytest.mark.parametrize("psi", [1.0, 0.5])
def test_wplus_export_import_round_trip(qtbot, nvidia_dir, tmp_path, psi):
    """An exported W+ imports to the same image, at any psi (it is final: truncation is not applied twice)."""
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.set_param("psi", psi)
    window.findChild(SeedSpinBox, "seedA").setValue(4)
    image = wait_current(qtbot, window).copy()
    target = tmp_path / "w.npz"
    with qtbot.waitSignal(window.wplusExported, timeout=TIMEOUT):
        window.export_wplus(target)
    with np.load(target) as data:
        assert data["w"].shape == (1, 8, 64)
    window.findChild(SeedSpinBox, "seedA").setValue(9)
    window.open_path(target)
    assert window.state.a.w_plus is not None
    np.testing.assert_array_equal(wait_current(qtbot, window), image)


def test_session_saved_and_restored(qtbot, nvidia_dir):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.findChild(SeedSpinBox, "seedA").setValue(12)
    wanted = window.state
    window.close()  # saves the session
    again = main_window(network=None, autosave=False)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.model_info is not None and again.is_current(), timeout=TIMEOUT)
    assert again.model_info.name == "sg2-skip-32.pkl"
    assert again.state == wanted


def test_welcome_view_without_models(qtbot, monkeypatch, tmp_path):
    import explorer.gui.window as mw

    monkeypatch.setattr(mw, "BUNDLED_MODEL", tmp_path / "none.safetensors")
    window = main_window(network=None, autosave=False)
    qtbot.addWidget(window)
    assert window.stack.currentWidget() is window.welcome
    assert window.model_info is None


def test_conditional_and_stylegan3_controls(qtbot, nvidia_dir, models):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    assert window.findChild(QComboBox, "classIdx").isHidden()
    assert window.truncation_panel.transform_box.isHidden()
    window.open_model(nvidia_dir / "sg3t-32.pkl")
    qtbot.waitUntil(lambda: window.model_info.name == "sg3t-32.pkl" and window.is_current(), timeout=TIMEOUT)
    assert not window.truncation_panel.transform_box.isHidden()
    assert window.findChild(QSlider, "layerMix15") is not None
    assert window.findChild(QSpinBox, "truncCutoff").maximum() == 16
    window.findChild(QDoubleSpinBox, "translateX").setValue(0.2)
    window.findChild(QDoubleSpinBox, "rotate").setValue(30)
    image = wait_current(qtbot, window)
    np.testing.assert_array_equal(image, models("sg3t-32.pkl").render(State(translate=(0.2, 0.0), rotate=30.0)))


def test_seed_pad_blends_and_snaps(qtbot, nvidia_dir, models):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    pad = window.latent_panel.pad
    pad.pressed.emit()
    pad.drag_by(pad.PIXELS_PER_SEED * 0.3, 0)
    pad.drag_by(pad.PIXELS_PER_SEED * 0.1, 0)
    pad.released.emit()
    assert window.state.a.seed == 0 and window.state.a.offset == pytest.approx((0.4, 0.0))
    assert len(window.history) == 1  # one drag, one undo step
    np.testing.assert_array_equal(wait_current(qtbot, window), models("sg2-skip-32.pkl").render(window.state))
    window.findChild(QPushButton, "snapSeed").click()
    assert window.state.a == Latent(seed=0)


def test_class_picker_and_shortcuts(qtbot, nvidia_dir, models):
    window = open_window(qtbot, nvidia_dir / "sg2-cond-32.pkl")
    combo = window.findChild(QComboBox, "classIdx")
    assert not combo.isHidden() and combo.count() == 4
    combo.setCurrentIndex(3)
    np.testing.assert_array_equal(wait_current(qtbot, window), models("sg2-cond-32.pkl").render(State(class_idx=3)))
    window.next_action.trigger()
    window.next_action.trigger()
    window.prev_action.trigger()
    assert window.state.a.seed == 1
    window.prev_action.trigger()
    window.prev_action.trigger()
    assert window.state.a.seed == MAX_SEED  # wraps like the seed arithmetic
    window.random_b_action.trigger()
    assert window.findChild(SeedSpinBox, "seedB").value() == window.state.b.seed
    assert window.undo_action.shortcut().toString() == "Ctrl+Z"
    assert window.export_action.shortcut().toString() == "Ctrl+E"
    assert window.open_action.shortcut().toString() == "Ctrl+O"


def test_arrow_keys_step_the_seed_from_the_image_but_stay_a_sliders_own(qtbot, nvidia_dir):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.show()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_Right)
    assert window.state.a.seed == 1
    slider = window.findChild(QSlider, "psiSlider")
    slider.setFocus()
    before = slider.value()
    qtbot.keyClick(slider, Qt.Key_Right)
    assert window.state.a.seed == 1
    assert slider.value() != before


def test_thumbnails_show_each_seed_alone(qtbot, nvidia_dir, models):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.findChild(QPushButton, "allB").click()
    qtbot.waitUntil(lambda: window.is_current() and window.thumbnails_current(), timeout=TIMEOUT)
    renderer = models("sg2-skip-32.pkl")
    np.testing.assert_array_equal(window.latent_panel.thumb_a.array, renderer.render(State()))
    np.testing.assert_array_equal(window.latent_panel.thumb_b.array, renderer.render(State(a=Latent(seed=1))))
    np.testing.assert_array_equal(window.image_array(), renderer.render(State(a=Latent(seed=1))))


def test_dropping_a_png_restores_its_state(qtbot, nvidia_dir, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.findChild(SeedSpinBox, "seedA").setValue(21)
    wanted = window.state
    with qtbot.waitSignal(window.imageExported, timeout=TIMEOUT):
        path = window.export_image(tmp_path)
    window.findChild(SeedSpinBox, "seedA").setValue(22)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert window.state == wanted


def test_screenshot_command(tmp_path, nvidia_dir):
    import os
    import subprocess
    import sys

    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "explorer", "gui", str(nvidia_dir / "sg2-skip-32.pkl"),
                           "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Image.open(out) as image:
        assert image.size[0] >= 800 and image.size[1] >= 500
    bad = subprocess.run([sys.executable, "-m", "explorer", "gui", str(tmp_path / "missing.pkl"),
                          "--screenshot", str(tmp_path / "x.png")], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "missing.pkl" in bad.stderr and "Traceback" not in bad.stderr


def test_row_psi_and_cutoff(qtbot, nvidia_dir, models):
    from PySide6.QtWidgets import QCheckBox

    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.findChild(QCheckBox, "advancedRows").setChecked(True)
    window.findChild(QCheckBox, "layerPsiOn2").setChecked(True)
    window.findChild(QDoubleSpinBox, "layerPsi2").setValue(0.25)
    cutoff = window.findChild(QSpinBox, "truncCutoff")
    cutoff.setValue(4)
    window.findChild(QDoubleSpinBox, "psi").setValue(0.5)
    expected = State(psi=0.5, cutoff=4, layer_psi=(None, None, 0.25) + (None,) * 5)
    assert window.state == expected
    np.testing.assert_array_equal(wait_current(qtbot, window), models("sg2-skip-32.pkl").render(expected))
    cutoff.setValue(8)  # all rows
    assert window.state.cutoff is None


def test_set_assignments_apply_once_the_model_is_open(qtbot, nvidia_dir, models):
    """`explorer gui --set psi=0.5 --set mix/1=1`: the window opens on that state, rendering what generate does."""
    path = nvidia_dir / "sg2-skip-32.pkl"
    window = main_window(network=None, autosave=False, restore_session=False)
    qtbot.addWidget(window)
    window.set_when_loaded(["psi=0.5", "mix/1=1"])
    window.open_model(path)
    qtbot.waitUntil(lambda: window.model_info is not None and window.is_current(), timeout=TIMEOUT)
    assert window.state.psi == 0.5 and window.state.mix_weights(window.model_info.num_ws)[1] == 1.0
    assert np.array_equal(wait_current(qtbot, window), models("sg2-skip-32.pkl").render(window.state))


def test_a_slider_sets_its_parameter_through_the_registry(qtbot, nvidia_dir, models):
    """Widget -> (address, value) -> registry -> state -> render: the row slider is parameter mix/2."""
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    seen = []
    window.layers_panel.param.connect(lambda address, value: seen.append((address, value)))
    window.findChild(QSlider, "layerMix2").setValue(window.findChild(QSlider, "layerMix2").maximum())
    assert seen == [("mix/2", 1.0)]
    assert window.state.mix_weights(window.model_info.num_ws)[2] == 1.0
    assert window.history.undo_text.startswith("Row 2 from B")
    assert np.array_equal(wait_current(qtbot, window), models("sg2-skip-32.pkl").render(window.state))
    before = window.state
    window.set_param("psi", 9)  # as a controller might: refused in one line, nothing changed
    assert window.state == before and window.last_error == "psi: must be within -1..2, got 9"


def test_a_slow_render_says_rendering_and_dims_the_stale_image(qtbot, nvidia_dir):
    import time

    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.worker.request_render = lambda *args, **kwargs: None  # a render that never comes back
    window.findChild(SeedSpinBox, "seedA").setValue(9)
    assert not window.is_current()
    window._render_pending_since = time.monotonic() - 3.0  # as if asked for three seconds ago
    window._update_fps()
    assert window.fps_label.text() == "rendering\u2026" and window.render_label.text().startswith("rendering 3.")
    assert window.canvas._stale


def test_after_a_model_switch_every_widget_shows_the_state_that_renders(qtbot, nvidia_dir, models):
    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    window.set_param("mix/1", 1.0)
    window.set_param("psi", 0.6)
    mixed = window.state
    window.open_model(nvidia_dir / "sg2-cond-32.pkl")
    qtbot.waitUntil(lambda: window.model_info.path.name == "sg2-cond-32.pkl" and window.is_current(), timeout=TIMEOUT)
    assert window.state.mix_weights(window.model_info.num_ws)[1] == 1.0 and window.state.psi == 0.6
    assert window.findChild(QSlider, "layerMix1").value() == window.findChild(QSlider, "layerMix1").maximum()
    assert window.findChild(QDoubleSpinBox, "psi").value() == pytest.approx(0.6)
    assert mixed.mix == window.state.mix[:len(mixed.mix)]
    assert np.array_equal(wait_current(qtbot, window), models("sg2-cond-32.pkl").render(window.state))


def test_open_session_or_recipe_never_lets_an_error_escape(qtbot, nvidia_dir, tmp_path, monkeypatch):
    import explorer.gui.window as window_module

    window = open_window(qtbot, nvidia_dir / "sg2-skip-32.pkl")
    before = window.state

    def explode(path):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(window_module, "load_session", explode)
    monkeypatch.setattr(window_module.recipes, "read_recipe", explode)
    window.open_session(tmp_path / "deep.json")
    assert window.last_error == "deep.json: cannot open (RecursionError: maximum recursion depth exceeded)"
    window.open_image_recipe(tmp_path / "deep.png")
    assert window.last_error.startswith("deep.png: cannot open (RecursionError")
    assert window.state == before
