"""The feature context: what a dock, dialog or canvas tool may use of the window, exercised by a probe
feature installed the way real ones are (a module listed in FEATURE_MODULES)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import Latent, State  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402
from explorer.gui import features, main_window  # noqa: E402

TIMEOUT = 30_000


class Probe:
    """A feature that records what the context tells it."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.states, self.models, self.rendered, self.opened = [], [], [], []
        ctx.stateChanged.connect(self.states.append)
        ctx.modelLoaded.connect(self.models.append)
        ctx.rendered.connect(self.rendered.append)
        self.dock = ctx.add_dock(QLabel("probe"), "Probe", "probeDock", area="right")
        self.action = ctx.add_action("tools", "Probe action", lambda: None, name="actionProbe")
        ctx.add_file_handler((".jpg", ".png"), self.take)

    def take(self, path: str) -> bool:
        self.opened.append(path)
        return True


@pytest.fixture
def probe_window(qtbot, monkeypatch):
    module = types.ModuleType("probe_feature")
    module.install = Probe
    monkeypatch.setitem(sys.modules, "probe_feature", module)
    monkeypatch.setattr(features, "FEATURE_MODULES", ("probe_feature",))
    window = main_window(network=BUNDLED_MODEL, autosave=False, restore_session=False)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.model_info is not None and window.is_current(), timeout=TIMEOUT)
    return window, window.features["probe_feature"]


def test_installed_feature_sees_state_changes_model_and_undo(probe_window, qtbot):
    window, probe = probe_window
    assert probe.models and probe.models[-1].name == BUNDLED_MODEL.name
    assert window.menus["tools"].menuAction().isVisible()
    assert probe.dock.widget().widget().text() == "probe"  # scrolled holder around the feature's widget
    probe.ctx.set_param("psi", 0.5)
    assert probe.states[-1].psi == 0.5
    window.undo_action.trigger()
    assert probe.states[-1].psi == window.state.psi != 0.5


def test_background_render_comes_back_by_key_and_main_render_is_untouched(probe_window, qtbot):
    window, probe = probe_window
    shown_before = window.image_array().copy()
    state = window.state.replace(a=Latent(seed=77))
    probe.ctx.request_render(state, "probe:77")
    qtbot.waitUntil(lambda: any(r.key == "probe:77" for r in probe.rendered), timeout=TIMEOUT)
    result = next(r for r in probe.rendered if r.key == "probe:77")
    np.testing.assert_array_equal(result.image, Renderer(load_model(BUNDLED_MODEL)).render(state))
    np.testing.assert_array_equal(window.image_array(), shown_before)
    with pytest.raises(ValueError):
        probe.ctx.request_render(state, "render")


def test_cancelled_background_renders_never_arrive(probe_window, qtbot):
    window, probe = probe_window
    with window.worker._cond:  # hold the render thread's queue so the requests are still pending
        for seed in range(5):
            window.worker._slots[f"page:{seed}"] = None
        window.worker.cancel_renders("page:")
        assert not any(k.startswith("page:") for k in window.worker._slots)


def test_job_gets_a_private_model_copy_and_reports_in_the_ui_thread(probe_window, qtbot):
    window, probe = probe_window
    done, progress = [], []

    def job(job_ctx, model):
        job_ctx.progress(0.5, "half")
        with torch.no_grad():  # change the copy's weights: the canvas's model must not see it
            next(model.generator.synthesis.parameters()).add_(1.0)
        return model.sha256

    probe.ctx.run_job("probe job", job, on_done=done.append, on_progress=lambda f, m: progress.append((f, m)))
    qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT)
    assert (0.5, "half") in progress
    window.set_state(window.state.replace(a=Latent(seed=3)), "seed")
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    np.testing.assert_array_equal(window.image_array(),
                                  Renderer(load_model(BUNDLED_MODEL)).render(window.state))
    qtbot.waitUntil(window.jobs_indicator.isHidden, timeout=TIMEOUT)


def test_failed_job_is_a_banner(probe_window, qtbot):
    window, probe = probe_window

    def job(job_ctx, model):
        raise MemoryError()

    probe.ctx.run_job("probe job", job)
    qtbot.waitUntil(lambda: "probe job failed: MemoryError" in window.last_error, timeout=TIMEOUT)


def test_files_the_window_does_not_know_go_to_the_feature(probe_window, tmp_path):
    window, probe = probe_window
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(photo)  # a PNG without a recipe
    window.open_path(photo)
    assert probe.opened == [str(photo)]


def test_canvas_tool_gets_image_pixel_coordinates(probe_window, qtbot):
    window, probe = probe_window

    class Tool:
        def __init__(self):
            self.events = []

        def press(self, x, y, event):
            self.events.append(("press", round(x), round(y)))

        def move(self, x, y, event):
            self.events.append(("move", round(x), round(y)))

        def release(self, x, y, event):
            self.events.append(("release", round(x), round(y)))

        def paint(self, painter, to_widget, scale):
            self.painted = True

    tool = Tool()
    canvas = probe.ctx.canvas
    canvas.set_tool(tool)
    centre = canvas.to_widget(32, 16)
    assert canvas.to_image(centre) == pytest.approx((32, 16))
    qtbot.mousePress(canvas, Qt.LeftButton, pos=centre.toPoint())
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=centre.toPoint())
    assert [e[0] for e in tool.events] == ["press", "release"]
    assert abs(tool.events[0][1] - 32) <= 1 and abs(tool.events[0][2] - 16) <= 1
    canvas.grab()  # paints, tool included
    assert tool.painted
    canvas.set_tool(None)
    assert canvas.tool() is None and isinstance(canvas.to_widget(0, 0), QPointF)
