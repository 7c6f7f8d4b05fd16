"""``explorer video`` end to end on the 32x32 fixture model."""

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.formats import load_model
from explorer.video.timeline import Timeline

SG2 = Path(__file__).parent / "fixtures" / "nvidia" / "sg2-skip-32.pkl"


def run_cli(*args) -> int:
    return main(["video", "--network", str(SG2), *map(str, args)])


def test_seeds_grid_loop_mp4(tmp_path, capsys):
    out = tmp_path / "grid.mp4"
    assert run_cli("--seeds", "0-3", "--grid", "2x1", "--w-frames", 3, "--loop", "--fps", 12, "--output", out) == 0
    assert "6 frames, 64x32, 12 fps" in capsys.readouterr().out  # K = 4 / 2 = 2 keyframes per cell, 2 segments x 3
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 12
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 32)
        assert sum(1 for _ in container.decode(video=0)) == 6


def test_png_frames_match_generate_and_refuse_overwrite(tmp_path, capsys):
    out = tmp_path / "frames"
    assert run_cli("--seeds", "5,6", "--w-frames", 4, "--kind", "slerp", "--easing", "smoothstep", "--trunc", 0.7,
                   "--output", out, "--save-timeline", tmp_path / "t.json") == 0
    frames = sorted(out.iterdir())
    assert len(frames) == 5  # 4 frames of one segment, then the last keyframe
    renderer = Renderer(load_model(SG2))
    for path, seed in ((frames[0], 5), (frames[-1], 6)):
        assert np.array_equal(np.asarray(Image.open(path)), renderer.render(State(a=Latent(seed=seed), psi=0.7)))
    capsys.readouterr()
    assert run_cli("--seeds", "5,6", "--output", out) == 2
    err = capsys.readouterr().err
    assert "already exists" in err or "not empty" in err
    assert err.count("\n") == 1

    # the saved timeline renders the same frames
    timeline = Timeline.load(tmp_path / "t.json")
    assert timeline.kind == "slerp" and timeline.fps == 60 and len(timeline.keyframes) == 2
    again = tmp_path / "again"
    assert run_cli("--timeline", tmp_path / "t.json", "--output", again) == 0
    assert [p.read_bytes() for p in sorted(again.iterdir())] == [p.read_bytes() for p in frames]


def test_gif_from_timeline_with_overrides(tmp_path, capsys):
    timeline = tmp_path / "t.json"
    Timeline.loads('{"version": 1, "fps": 5, "keyframes": [{"state": {"version": 1, "a": {"seed": 1}}, "duration": 1},'
                   ' {"state": {"version": 1, "a": {"seed": 2}}, "duration": 1}]}').save(timeline)
    out = tmp_path / "t.gif"
    assert run_cli("--timeline", timeline, "--fps", 4, "--loop", "--size", 2, "--output", out) == 0
    with Image.open(out) as image:
        assert image.n_frames == 8 and image.size == (64, 64)


@pytest.mark.parametrize("args, words", [
    (["--seeds", "0-2", "--grid", "2x1"], "divide"),
    (["--seeds", "0,1", "--grid", "two"], "--grid must be WxH"),
    (["--seeds", "0,1", "--fps", "0"], "fps"),
    (["--seeds", "0,1", "--w-frames", "0"], "--w-frames"),
    (["--seeds", "0,1", "--crf", "99"], "crf"),
    (["--timeline", "missing.json"], "missing.json: file not found"),
    (["--timeline", "bad.json"], "not valid JSON"),
    (["--timeline", "bad.json", "--trunc", "0.5"], "--trunc works with --seeds"),
])
def test_bad_input_is_one_line(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text("{oops")
    assert run_cli(*args, "--output", "out.mp4") == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not (tmp_path / "out.mp4").exists()
