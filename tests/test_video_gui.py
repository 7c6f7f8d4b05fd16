"""The timeline panel and the Export video dialog, driven offscreen on the 32x32 fixture model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QModelIndex  # noqa: E402

from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import Latent, State  # noqa: E402
from explorer.formats import load_model  # noqa: E402
from explorer.video.interpolate import TimelineSampler  # noqa: E402
from explorer.video.timeline import Timeline  # noqa: E402

TIMEOUT = 30_000
SG2 = Path(__file__).resolve().parent / "fixtures" / "nvidia" / "sg2-skip-32.pkl"


@pytest.fixture(scope="module")
def reference():
    return Renderer(load_model(SG2))


@pytest.fixture
def window(open_window):
    return open_window(SG2)


def add_keyframe(qtbot, win, state):
    win.set_state(state)
    qtbot.waitUntil(win.is_current, timeout=TIMEOUT)
    win.features["timeline_panel"].add_current()


def test_keyframes_scrub_play_and_session(qtbot, window, reference):
    panel = window.features["timeline_panel"]
    add_keyframe(qtbot, window, State(a=Latent(seed=3)))
    add_keyframe(qtbot, window, State(a=Latent(seed=5), psi=0.6))
    panel.set_segment(0, duration=0.5, easing="smoothstep")
    panel.fps.setValue(8)
    tl = panel.timeline
    assert [k.state.a.seed for k in tl.keyframes] == [3, 5] and tl.frame_count() == 5
    assert panel.keys.item(0).icon().isNull() is False  # the thumbnail of the image on screen

    panel.keys.setCurrentRow(1)
    panel.move_selected(-1)
    assert [k.state.a.seed for k in panel.timeline.keyframes] == [5, 3]
    panel.move_selected(+1)
    tl = panel.timeline
    assert panel.keys.model().moveRows(QModelIndex(), 0, 1, QModelIndex(), 2)  # what a drag does
    qtbot.waitUntil(lambda: [k.state.a.seed for k in panel.timeline.keyframes] == [5, 3], timeout=TIMEOUT)
    panel.set_timeline(tl)

    # scrubbing shows the interpolated frame; at a keyframe it is the keyframe's image
    with qtbot.waitSignal(panel.previewShown, timeout=TIMEOUT) as shown:
        panel.scrub.setValue(4)
    assert shown.args == [4]
    np.testing.assert_array_equal(window.image_array(), reference.render(tl.keyframes[1].state))
    with qtbot.waitSignal(panel.previewShown, timeout=TIMEOUT):
        panel.scrub.setValue(2)
    middle = reference.render(TimelineSampler(reference, tl).state_at(tl.positions()[2]))
    np.testing.assert_array_equal(window.image_array(), middle)

    # play loops a preview; stop puts the current image back
    panel.scrub.blockSignals(True)
    panel.scrub.setValue(4)  # the playhead at the end before playing
    panel.scrub.blockSignals(False)
    panel.play()
    qtbot.waitUntil(lambda: len(panel._preview) >= 3 and 2 <= panel._play_index <= 4, timeout=TIMEOUT)
    panel.stop()
    shown = (panel._play_index - 1) % 5  # the last preview frame put on the canvas (preview fps = 8 here)
    assert panel.scrub.value() == shown != 4  # the playhead and the frame counter followed the preview
    assert panel.time_label.text().startswith(f"frame {shown + 1}/5")
    np.testing.assert_array_equal(window.image_array(), window.last_result.image)

    # the timeline travels with the session under "timeline"
    data = window.current_session().to_json()["timeline"]
    assert Timeline.from_json(data) == tl
    panel.set_timeline(Timeline())
    panel.load_session_json(data)
    assert panel.timeline == tl and panel.keys.count() == 2


def test_timeline_edits_are_undoable_steps_on_the_window_stack(qtbot, window):
    panel = window.features["timeline_panel"]
    add_keyframe(qtbot, window, State(a=Latent(seed=3)))
    add_keyframe(qtbot, window, State(a=Latent(seed=5)))
    after_adding = panel.timeline
    panel.keys.setCurrentRow(0)
    for value in (1.5, 2.0, 2.5):  # spinning the duration box: one step
        panel.duration.setValue(value)
    panel.remove_selected()
    assert [k.state.a.seed for k in panel.timeline.keyframes] == [5]
    stack = window.history
    stack.undo()
    assert [k.state.a.seed for k in panel.timeline.keyframes] == [3, 5] and panel.keys.count() == 2
    assert panel.timeline.keyframes[0].duration == 2.5 and panel.keys.currentRow() == 0
    assert panel.duration.value() == 2.5
    stack.undo()
    assert panel.timeline == after_adding
    stack.undo()
    assert [k.state.a.seed for k in panel.timeline.keyframes] == [3] and panel.keys.count() == 1
    stack.redo()
    stack.redo()
    stack.redo()
    assert [k.state.a.seed for k in panel.timeline.keyframes] == [5]

    panel.recipe_truncation_sweep()  # a recipe replaces the keyframes; undo brings them back
    stack.undo()
    assert [k.state.a.seed for k in panel.timeline.keyframes] == [5]


def test_export_dialog_writes_and_cancels(qtbot, window, reference, tmp_path):
    panel = window.features["timeline_panel"]
    add_keyframe(qtbot, window, State(a=Latent(seed=1)))
    add_keyframe(qtbot, window, State(a=Latent(seed=2)))
    panel.set_segment(0, duration=0.5)
    panel.fps.setValue(8)

    dialog = panel.open_export_dialog()
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    dialog.path.setText(str(tmp_path / "frames"))
    window.show_error("an earlier export failed")  # a later success takes the stale banner away
    with qtbot.waitSignal(dialog.exportFinished, timeout=TIMEOUT):
        dialog.start()
    assert window.banner.isHidden()
    frames = sorted((tmp_path / "frames").iterdir())
    assert len(frames) == 5
    np.testing.assert_array_equal(np.asarray(Image.open(frames[0])), reference.render(State(a=Latent(seed=1))))
    assert dialog.progress.value() == 5

    # a long export, cancelled at its first progress report, leaves nothing
    panel.set_segment(0, duration=60.0)
    dialog = panel.open_export_dialog()
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "long.mp4"))
    dialog.progressed.connect(lambda *_: dialog.cancel_or_close())
    with qtbot.waitSignal(dialog.exportFailed, timeout=TIMEOUT) as failed:
        dialog.start()
    assert failed.args == ["cancelled"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]

    # the same export, cancelled from the status bar's jobs indicator
    dialog = panel.open_export_dialog()
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "long.mp4"))
    indicator = window.jobs_indicator
    dialog.progressed.connect(lambda *_: indicator.cancel_button.click() if not indicator.isHidden() else None)
    with qtbot.waitSignal(dialog.exportFailed, timeout=TIMEOUT) as failed:
        dialog.start()
    assert failed.args == ["cancelled"]
    qtbot.waitUntil(indicator.isHidden, timeout=TIMEOUT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_recipes_and_timeline_files(qtbot, window, tmp_path):
    panel = window.features["timeline_panel"]
    window.set_state(State(a=Latent(seed=4), b=Latent(seed=9)))
    panel.recipe_seed_walk()
    assert [k.state.a.seed for k in panel.timeline.keyframes] == [4, 9]
    with qtbot.waitSignal(panel.timelineChanged, timeout=TIMEOUT):
        panel.recipe_in_render_thread("circle")
    assert panel.timeline.loop and panel.keys.count() == 12
    panel.save_timeline(tmp_path / "t.json")
    panel.recipe_truncation_sweep()
    assert [k.state.psi for k in panel.timeline.keyframes] == [0.3, 1.0]
    panel.open_timeline(tmp_path / "t.json")
    assert panel.keys.count() == 12
    errors = []
    window.errorOccurred.connect(errors.append)
    panel.save_timeline(tmp_path / "t.json")  # never overwritten silently
    panel.recipe_spin()  # StyleGAN2: no input transform
    assert "already exists" in errors[0] and "input transform" in errors[1]


def test_export_dialog_with_an_audio_track(qtbot, window, tmp_path):
    import wave

    import av

    rate = 8000
    samples = np.zeros(rate, dtype=np.float32)
    samples[rate // 2: rate // 2 + 400] = np.random.default_rng(0).uniform(-0.8, 0.8, 400)  # silence, one click
    track = tmp_path / "click.wav"
    with wave.open(str(track), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    panel = window.features["timeline_panel"]
    add_keyframe(qtbot, window, State(a=Latent(seed=1)))
    dialog = panel.open_export_dialog()
    qtbot.addWidget(dialog)
    dialog.fps.setValue(10)
    dialog.path.setText(str(tmp_path / "beat.mp4"))

    dialog.audio.setText(str(tmp_path / "missing.wav"))  # a bad track: one line, nothing written
    with qtbot.waitSignal(dialog.exportFailed, timeout=TIMEOUT) as failed:
        dialog.start()
    assert "missing.wav" in failed.args[0] and not (tmp_path / "beat.mp4").exists()

    dialog.audio.setText(str(track))
    dialog.audio_maps.setText("onset:psi:1.0..0.2")
    with qtbot.waitSignal(dialog.exportFinished, timeout=TIMEOUT):
        dialog.start()
    with av.open(str(tmp_path / "beat.mp4")) as container:
        assert container.streams.audio and container.duration / 1e6 == pytest.approx(1.0, abs=0.15)
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    assert np.abs(frames[1] - frames[0]).max() <= 3  # the silence holds still (up to H.264's noise)
    assert max(np.abs(f - frames[0]).mean() for f in frames[5:8]) > 2  # the click moves psi
