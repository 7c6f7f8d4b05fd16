"""Rendering and encoding timelines on the 32x32 fixture models."""

import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.errors import UsageError
from explorer.formats import load_model
from explorer.video import encoders, recipes
from explorer.video.encoders import AVWriter
from explorer.video.export import Cancelled, export_video
from explorer.video.interpolate import TimelineSampler
from explorer.video.render import FrameSource
from explorer.video.timeline import FramePos, Keyframe, Timeline

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"


@pytest.fixture(scope="module")
def sg2():
    return load_model(FIXTURES / "sg2-skip-32.pkl")


def mixed_timeline(kind="linear", loop=False, fps=8.0) -> Timeline:
    """Keyframes that differ in seeds, psi, mixing, noise strength and easing."""
    keys = (
        Keyframe(State(a=Latent(seed=1), psi=0.7), 0.5, "ease-in-out"),
        Keyframe(State(a=Latent(seed=2), b=Latent(seed=9), mix=(0, 0, 0, 0, 1, 1, 1, 1)), 0.25, "smoothstep"),
        Keyframe(State(a=Latent(seed=3), psi=0.5, noise_strength=0.5), 0.375, "linear"),
    )
    return Timeline(keys, kind, loop, fps)


def all_frames(renderer, timelines, **kw) -> list[np.ndarray]:
    source = FrameSource(renderer, timelines, **kw)
    return [f for chunk in source.chunks() for f in chunk]


@pytest.mark.parametrize("kind", ["linear", "slerp", "cubic"])
@pytest.mark.parametrize("loop", [False, True])
def test_keyframe_frames_are_the_keyframe_images(sg2, kind, loop):
    tl = mixed_timeline(kind, loop)
    frames = all_frames(Renderer(sg2), [tl], batch_size=3)
    assert len(frames) == tl.frame_count() == sum(tl.segment_frames()) + (0 if loop else 1)
    fresh = Renderer(sg2)  # what `explorer generate` renders for the keyframe state
    for index, key in zip(tl.keyframe_frames(), tl.keyframes):
        assert np.array_equal(frames[index], fresh.render(key.state))
    assert not np.array_equal(frames[1], frames[0])  # it moves


def test_loop_wraps_to_the_first_frame(sg2):
    tl = mixed_timeline("cubic", loop=True)
    renderer = Renderer(sg2)
    sampler = TimelineSampler(renderer, tl)
    after_last = sampler.sample([FramePos(len(tl.keyframes) - 1, 1.0)])[0]  # the end of the closing segment
    assert np.allclose(after_last.wplus, sampler.keyframe_wplus[0], atol=1e-6)
    wrapped = renderer.render(sampler.state_at(FramePos(len(tl.keyframes) - 1, 1.0)))
    first = renderer.render(tl.keyframes[0].state)
    assert np.abs(wrapped.astype(int) - first.astype(int)).max() <= 1


def test_scrub_state_renders_the_frame(sg2):
    tl = mixed_timeline("slerp")
    renderer = Renderer(sg2)
    sampler = TimelineSampler(renderer, tl)
    pos = tl.positions()[2]
    state = sampler.state_at(pos)
    assert State.loads(state.dumps()) == state  # plain, serialisable state
    frame = sampler.sample([pos])[0]
    single = renderer.synthesize(frame.wplus[None], frame.settings)
    assert np.array_equal(renderer.render(state), renderer.render_float(state).mul(127.5).add(128).clamp(0, 255).byte()[0].permute(1, 2, 0).numpy())
    assert np.abs(renderer.render(state).astype(int) - (single * 127.5 + 128).clamp(0, 255).byte()[0].permute(1, 2, 0).numpy().astype(int)).max() <= 1


def test_two_renders_are_identical(sg2, tmp_path):
    tl = mixed_timeline("cubic", loop=True)
    a = export_video(Renderer(sg2), tl, tmp_path / "a", batch_size=4)
    b = export_video(Renderer(sg2), tl, tmp_path / "b", batch_size=4)
    names = sorted(p.name for p in a.path.iterdir())
    assert len(names) == tl.frame_count() and names[0] == "frame-00000.png"
    for name in names:
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes()
    first = np.asarray(Image.open(a.path / names[0]))
    assert np.array_equal(first, Renderer(sg2).render(tl.keyframes[0].state))  # PNG frames are lossless


def test_mp4_has_the_fps_size_and_frames(sg2, tmp_path):
    tl = mixed_timeline("linear", fps=12)
    result = export_video(Renderer(sg2), tl, tmp_path / "v.mp4", scale=2, crf=10)
    assert result.frames == tl.frame_count() and (result.width, result.height) == (64, 64)
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 12 and stream.codec_context.name == "h264"
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == tl.frame_count()
    assert decoded[0].shape == (64, 64, 3)
    expected = Renderer(sg2).render(tl.keyframes[0].state).repeat(2, 0).repeat(2, 1)
    assert np.abs(decoded[0].astype(int) - expected.astype(int)).mean() < 6  # lossy, but the same picture


def test_webm_and_gif(sg2, tmp_path):
    tl = mixed_timeline("linear", fps=10)
    webm = export_video(Renderer(sg2), tl, tmp_path / "v.webm")
    with av.open(str(webm.path)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert sum(1 for _ in container.decode(video=0)) == tl.frame_count()
    gif = export_video(Renderer(sg2), tl, tmp_path / "v.gif", scale=4)
    with Image.open(gif.path) as image:
        assert image.size == (128, 128) and image.n_frames == tl.frame_count()
        assert image.info["duration"] == 100 and image.info["loop"] == 0


def test_grid_tiles_the_cells(sg2):
    cells = recipes.grid_seeds(range(4), 2, 1)
    timelines = [recipes.seed_walk(c, 0.25, fps=8) for c in cells]
    frames = all_frames(Renderer(sg2), timelines, grid=(2, 1), batch_size=5)
    assert len(frames) == 3 and frames[0].shape == (32, 64, 3)
    fresh = Renderer(sg2)
    assert np.array_equal(frames[0][:, :32], fresh.render(State(a=Latent(seed=0))))
    assert np.array_equal(frames[-1][:, 32:], fresh.render(State(a=Latent(seed=3))))
    with pytest.raises(UsageError, match="same number of frames"):
        FrameSource(Renderer(sg2), [timelines[0], recipes.seed_walk([1, 2, 3], 0.25, fps=8)], grid=(2, 1))


@pytest.mark.parametrize("name, how", [("c.mp4", "event"), ("c.gif", "callable"), ("frames", "event")])
def test_cancel_leaves_nothing(sg2, tmp_path, name, how):
    stop = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        stop.set()

    cancel = stop if how == "event" else stop.is_set
    with pytest.raises(Cancelled):
        export_video(Renderer(sg2), mixed_timeline(), tmp_path / name, batch_size=2, progress=progress, cancel=cancel)
    assert seen and seen[0].done == 2 and seen[0].eta is not None
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_never_overwritten_silently(sg2, tmp_path):
    out = tmp_path / "v.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(UsageError, match="already exists"):
        export_video(Renderer(sg2), mixed_timeline(), out)
    assert out.read_bytes() == b"precious"
    export_video(Renderer(sg2), mixed_timeline(), out, overwrite=True)
    assert out.read_bytes() != b"precious"
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not only PNG frames"):
        export_video(Renderer(sg2), mixed_timeline(), folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"
    with pytest.raises(UsageError, match="unknown video format"):
        export_video(Renderer(sg2), mixed_timeline(), tmp_path / "v.avi")


def test_missing_codec_is_one_line(sg2, tmp_path, monkeypatch):
    monkeypatch.setitem(encoders.CODECS, "mp4", "libx264-not-built-in")
    with pytest.raises(UsageError) as info:
        export_video(Renderer(sg2), mixed_timeline(), tmp_path / "v.mp4")
    assert "libx264-not-built-in encoder" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_odd_sizes_are_padded_for_yuv420(tmp_path):
    writer = AVWriter(tmp_path / "odd.mp4", 10.0, 33, 31, False, "mp4", None)
    for i in range(3):
        writer.write(np.full((31, 33, 3), 40 * i, np.uint8))
    writer.finish()
    assert writer.notes and "34x32" in writer.notes[0]
    with av.open(str(tmp_path / "odd.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 3 and frames[0].shape == (32, 34, 3)


def test_latent_recipes(sg2):
    renderer = Renderer(sg2)
    circle = recipes.circular_loop(renderer, [4, 5], State(psi=0.8), space="z", seconds=2.0, keyframes=8, fps=8)
    assert circle.loop and circle.keyframes[0].state.a == Latent(seed=4)
    quarter = renderer.wplus(circle.keyframes[2].state)  # a quarter turn round: seed 5
    assert np.allclose(quarter, renderer.wplus(State(a=Latent(seed=5), psi=0.8)), atol=1e-5)
    w_circle = recipes.circular_loop(renderer, [4, 5, 6], space="w", keyframes=6)
    assert Timeline.loads(w_circle.dumps()) == w_circle
    walk = recipes.noise_loop(renderer, 7, seconds=2.0, keyframes=8, fps=8)
    frames = all_frames(renderer, [walk])
    assert len(frames) == 16 and np.array_equal(frames[0], renderer.render(State(a=Latent(seed=7))))


def test_sg3_translate_rotate_keyframes():
    """Translate and rotate reach synthesis; keyframes still match. (SG3 is slow on a CPU: three frames.)"""
    model = load_model(FIXTURES / "sg3t-32.pkl")
    keys = (Keyframe(State(a=Latent(seed=7)), 0.5), Keyframe(State(a=Latent(seed=7), translate=(0.2, -0.1), rotate=30.0)))
    tl = Timeline(keys, "cubic", False, 4.0)
    frames = all_frames(Renderer(model), [tl])
    assert len(frames) == 3
    fresh = Renderer(model)
    assert np.array_equal(frames[0], fresh.render(keys[0].state))
    assert np.array_equal(frames[2], fresh.render(keys[1].state))
    assert not np.array_equal(frames[1], frames[0]) and not np.array_equal(frames[1], frames[2])
