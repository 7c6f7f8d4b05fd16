"""Timelines without a model: easing, the frame schedule, scrubbing, JSON, curves, gen_video's grid layout."""

import json

import numpy as np
import pytest
import torch

from explorer.engine.state import Latent, State
from explorer.errors import StateError, UsageError
from explorer.video.easing import EASINGS, ease
from explorer.video.interpolate import CurvePath, slerp
from explorer.video.recipes import _circle, grid_seeds, seed_walk, transform_animation, truncation_sweep
from explorer.video.timeline import FramePos, Keyframe, Timeline


def walk(durations, loop=False, fps=10.0, easing="linear", kind="linear"):
    keys = tuple(Keyframe(State(a=Latent(seed=i)), d, easing) for i, d in enumerate(durations))
    return Timeline(keys, kind, loop, fps)


@pytest.mark.parametrize("name", list(EASINGS))
def test_easings_keep_the_keyframes(name):
    assert ease(name, 0.0) == 0.0 and ease(name, 1.0) == 1.0
    values = [ease(name, u / 20) for u in range(21)]
    assert values == sorted(values)  # never runs backwards


def test_hold_and_smoothstep():
    assert ease("hold", 0.99) == 0.0
    assert ease("smoothstep", 0.5) == pytest.approx(0.5)
    assert ease("ease-in", 0.5) < 0.5 < ease("ease-out", 0.5)


def test_unknown_easing_is_one_line():
    with pytest.raises(UsageError) as info:
        Keyframe(State(), 1.0, "bounce-ish")
    assert "\n" not in str(info.value) and "smoothstep" in str(info.value)


def test_frame_count_is_the_sum_of_segments():
    tl = walk([0.5, 0.26, 1.0], fps=10)  # 5 + 3 frames, then the last keyframe; its own duration unused
    assert tl.segment_frames() == [5, 3]
    assert tl.frame_count() == 5 + 3 + 1
    assert tl.keyframe_frames() == [0, 5, 8]
    looped = tl.replace(loop=True)  # the closing segment counts, no extra final frame
    assert looped.segment_frames() == [5, 3, 10]
    assert looped.frame_count() == 18
    assert looped.keyframe_frames() == [0, 5, 8]
    assert len(looped.positions()) == 18
    assert looped.positions()[6] == FramePos(1, 1 / 3)


def test_frames_round_half_up_and_survive_float_error():
    assert walk([120 / 60, 1], fps=60).segment_frames() == [120]
    assert walk([0.25, 1], fps=10).segment_frames() == [3]  # 2.5 rounds up
    assert walk([1.0]).frame_count() == 1  # one keyframe: one frame
    assert walk([1.0], loop=True).frame_count() == 10  # held for its duration


def test_zero_length_segment_is_a_cut():
    tl = walk([0.0, 1.0, 1.0], fps=10)
    assert tl.frame_count() == 11
    assert tl.keyframe_frames() == [None, 0, 10]


def test_position_at_clamps_and_wraps():
    tl = walk([1.0, 2.0, 5.0])
    assert tl.position_at(-1) == FramePos(0, 0.0)
    assert tl.position_at(2.0) == FramePos(1, 0.5)
    assert tl.position_at(99) == FramePos(2, 0.0)
    looped = tl.replace(loop=True)
    assert looped.position_at(8.0 + 1.5) == FramePos(1, 0.25)


def test_edits_return_new_timelines():
    tl = walk([1, 2, 3])
    moved = tl.moved(0, 2)
    assert [k.state.a.seed for k in moved.keyframes] == [1, 2, 0]
    assert [k.state.a.seed for k in tl.keyframes] == [0, 1, 2]
    assert len(tl.removed(1).keyframes) == 2
    assert tl.appended(Keyframe(State())).keyframes[-1].state == State()


def test_json_round_trip(tmp_path):
    tl = walk([1.5, 2], loop=True, easing="ease-in-out", kind="cubic")
    path = tmp_path / "t.json"
    tl.save(path)
    again = Timeline.load(path)
    assert again == tl
    assert json.loads(path.read_text())["version"] == 1
    with pytest.raises(FileExistsError):
        tl.save(path)


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid JSON"),
    ('{"version": 7, "keyframes": []}', "version"),
    ('{"version": 1, "keyframes": {}}', "keyframes"),
    ('{"version": 1, "keyframes": [{"state": {"version": 1}, "easing": "wobble"}]}', "keyframe 0: unknown easing"),
    ('{"version": 1, "keyframes": [{"state": {"version": 1}, "duration": -1}]}', "duration"),
    ('{"version": 1, "keyframes": [{"state": {"version": 1, "psi": "x"}}]}', "keyframe 0"),
    ('{"version": 1, "kind": "spline", "keyframes": [{"state": {"version": 1}}]}', "interpolation"),
    ('{"version": 1, "keyframes": []}', "no keyframes"),
])
def test_bad_timeline_files_are_one_line(tmp_path, text, words):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(StateError) as info:
        Timeline.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad.json: ") and words in message


def test_timeline_from_a_session_file(tmp_path):
    tl = walk([1.0, 1.0])
    session = tmp_path / "session.json"
    session.write_text(json.dumps({"version": 1, "model": None, "state": State().to_json(), "timeline": tl.to_json()}))
    assert Timeline.load(session) == tl
    session.write_text(json.dumps({"version": 1, "model": None, "state": State().to_json(), "timeline": None}))
    with pytest.raises(StateError, match="holds no timeline"):
        Timeline.load(session)


def test_missing_timeline_file(tmp_path):
    with pytest.raises(StateError, match="file not found"):
        Timeline.load(tmp_path / "nope.json")


def test_cubic_path_passes_through_keyframes_and_loops_smoothly():
    points = torch.tensor([[0.0], [1.0], [4.0], [2.0]])
    durations = [1.0, 2.0, 1.0, 1.0]
    path = CurvePath(points, durations, loop=True, cubic=True)
    starts = path.at([0, 1, 2, 3], [0.0] * 4)
    assert torch.equal(starts, points)
    assert torch.allclose(path.at([3], [1.0]), points[:1])
    # velocity (per second) is continuous at every keyframe, including where the loop closes
    eps = 1e-4
    for seg in range(4):
        before = (path.at([seg], [1.0]) - path.at([seg], [1 - eps])) / (eps * durations[seg])
        nxt = (seg + 1) % 4
        after = (path.at([nxt], [eps]) - path.at([nxt], [0.0])) / (eps * durations[nxt])
        assert torch.allclose(before, after, atol=1e-2)


def test_rotation_closes_the_loop_on_the_nearest_winding():
    points = torch.tensor([[0.0], [120.0], [240.0]], dtype=torch.float64)
    path = CurvePath(points, [1.0] * 3, loop=True, cubic=False, offset=torch.tensor([360.0], dtype=torch.float64))
    assert path.at([2], [0.5]).item() == pytest.approx(300.0)  # onwards through 300, not back through 120
    tl = transform_animation(State(), turns=1, seconds=4, keyframes=8)
    assert tl.loop and len(tl.keyframes) == 8 and tl.keyframes[-1].state.rotate == 315.0


def test_slerp_keeps_the_ends():
    rng = np.random.RandomState(0)
    z0, z1 = rng.randn(16), rng.randn(16)
    assert np.allclose(slerp(z0, z1, 0.0), z0) and np.allclose(slerp(z0, z1, 1.0), z1)
    mid = slerp(z0, z1, 0.5)
    assert abs(np.linalg.norm(mid) - (np.linalg.norm(z0) + np.linalg.norm(z1)) / 2) < 0.5


def test_grid_layout_follows_gen_video():
    assert grid_seeds(range(8), 2, 2) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert grid_seeds([5, 6, 7], 2, 1, num_keyframes=2) == [[5, 6], [7, 5]]  # seeds repeat cyclically
    with pytest.raises(UsageError, match="divide"):
        grid_seeds(range(3), 2, 1)
    shuffled = grid_seeds(range(8), 1, 1, shuffle_seed=1)[0]
    assert sorted(shuffled) == list(range(8)) and shuffled != list(range(8))


def test_circle_through_three_points():
    rng = np.random.RandomState(3)
    p = [rng.randn(10) for _ in range(3)]
    ring = _circle(p, 64)
    assert np.allclose(ring[0], p[0])
    centre = ring.mean(axis=0)
    radius = np.linalg.norm(ring[0] - centre)
    assert np.allclose(np.linalg.norm(ring - centre, axis=1), radius)
    for q in p[1:]:
        assert abs(np.linalg.norm(q - centre) - radius) < 1e-9 * radius + 1e-9


def test_state_recipes():
    tl = seed_walk([3, 4, 5], 0.5, kind="slerp", easing="hold", fps=4)
    assert [k.state.a.seed for k in tl.keyframes] == [3, 4, 5] and tl.frame_count() == 5
    sweep = truncation_sweep(State(psi=0.7), 0.2, 1.0, seconds=2.0)
    assert [k.state.psi for k in sweep.keyframes] == [0.2, 1.0] and sweep.loop


def test_the_synthesis_scalars_come_from_the_registry_kinds():
    from pathlib import Path

    from explorer.formats import load_model
    from explorer.video.interpolate import synthesis_scalars

    nvidia = Path(__file__).parent / "fixtures" / "nvidia"
    sg2 = load_model(nvidia / "sg2-skip-32.pkl").generator
    sg3 = load_model(nvidia / "sg3t-32.pkl").generator
    assert [p.address for p in synthesis_scalars(sg2)] == ["noise/strength"]
    assert [p.address for p in synthesis_scalars(sg3)] == ["noise/strength", "translate/x", "translate/y", "rotate"]
