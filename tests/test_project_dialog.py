"""File > Project image in the window: a photo opened on the window offers projection, the job shows its
progress and previews, and the result becomes seed A in one undoable step (the maths: tests/test_project.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import Latent, State  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402
from explorer.gui import main_window  # noqa: E402

TIMEOUT = 60_000


def test_a_dropped_photo_is_projected_into_seed_a(qtbot, tmp_path, one_torch_thread):
    photo = tmp_path / "photo.png"  # a plain PNG (no recipe): the window offers to project it
    Image.fromarray(Renderer(load_model(BUNDLED_MODEL)).render(State(a=Latent(seed=7)))).save(photo)
    window = main_window(network=BUNDLED_MODEL, autosave=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model_info is not None and window.is_current(), timeout=TIMEOUT)
    before = window.state
    feature = window.features["project_dialog"]

    window.open_path(photo)
    dialog = feature.dialog
    assert dialog is not None and dialog.isVisible() and dialog.source.path == photo
    assert dialog.target_view.array is not None and dialog.target_view.array.shape == (64, 64, 3)
    dialog.step_boxes["w"].setValue(6)
    dialog.step_boxes["wplus"].setValue(6)
    assert not dialog.stage_boxes["pti"].isChecked()
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: feature.last_result is not None, timeout=TIMEOUT)

    result = feature.last_result
    assert dialog.current_view.array is not None  # the live preview showed a reconstruction
    assert "done" in dialog.status.text() and dialog.run_button.isEnabled()
    assert window.state.a == Latent(w_plus=result.wplus[0].tolist(), follow_psi=False)
    assert window.state.replace(a=before.a) == before  # nothing but seed A changed
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    np.testing.assert_array_equal(window.image_array(), Renderer(load_model(BUNDLED_MODEL)).render(window.state))
    window.history.undo()
    assert window.state == before
