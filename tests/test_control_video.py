"""Audio-driven video: silence then beats drive a mapped parameter; the MP4 carries the sound."""

import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.control.audio import features_per_frame, load_audio, source_aliases
from explorer.control.mapping import parse_mapping
from explorer.engine.render import Renderer
from explorer.formats import load_model
from explorer.video import recipes
from explorer.video.export import export_video
from explorer.video.soundtrack import Soundtrack

BUNDLED = Path(__file__).parent.parent / "checkpoints" / "default.safetensors"
RATE = 16000
FPS = 10
BEATS = (1.0, 1.5)  # seconds; silence before the first


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> Path:
    """Two seconds: one of digital silence, then two noise bursts (clicks) half a second apart."""
    samples = np.zeros(2 * RATE, dtype=np.float32)
    noise = np.random.default_rng(0).uniform(-0.8, 0.8, 800).astype(np.float32)
    for t in BEATS:
        start = int(t * RATE)
        samples[start:start + len(noise)] = noise
    path = tmp_path_factory.mktemp("audio") / "beats.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def test_features_are_causal_and_silence_is_zero(track):
    clip = load_audio(track)
    features = features_per_frame(clip, FPS, 20)
    onset = features["onset"]
    assert np.all(onset[:11] == 0)  # frame 10 is at 1.0 s and sees only the samples before it
    assert onset[11] == 1.0 and onset[16] > 0.5  # the frames just after each beat
    assert features["low"][:11].max() == 0 and features["rms"][11] > 0


def test_beats_move_the_frames_and_silence_holds_still(track, tmp_path):
    renderer = Renderer(load_model(BUNDLED))
    timeline = recipes.seed_walk([0], 1.0, fps=FPS)
    soundtrack = Soundtrack(track, (parse_mapping("onset:psi:0.2..1.2", source_aliases()),))
    result = export_video(renderer, timeline, tmp_path / "frames", soundtrack=soundtrack)
    assert result.frames == 20  # the video lasts as long as the audio, though the timeline is one frame
    assert any("no sound" in note for note in result.notes)
    frames = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "frames").glob("frame-*.png"))]
    still = frames[:11]
    assert all(np.array_equal(still[0], f) for f in still)
    assert not np.array_equal(frames[11], frames[0]) and not np.array_equal(frames[16], frames[0])


def test_the_mp4_has_the_audio_and_its_duration(track, tmp_path, capsys):
    import av

    out = tmp_path / "beats.mp4"
    assert main(["video", "--network", str(BUNDLED), "--seeds", "0", "--audio", str(track), "--map", "low:mix/3:0..1:ema=50",
                 "--fps", str(FPS), "--output", str(out)]) == 0
    assert "20 frames" in capsys.readouterr().out
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert float(video.duration * video.time_base) == pytest.approx(2.0, abs=1 / FPS)
        samples = sum(frame.samples for frame in container.decode(audio))
    assert samples / audio.rate == pytest.approx(2.0, abs=0.05)


def test_a_duration_cuts_the_webm_and_its_sound(track, tmp_path):
    import av

    out = tmp_path / "short.webm"
    assert main(["video", "--network", str(BUNDLED), "--seeds", "0", "--audio", str(track), "--duration", "0.5",
                 "--fps", str(FPS), "--output", str(out)]) == 0
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        assert sum(1 for _ in container.decode(video=0)) == 5
        assert container.duration / 1e6 == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("extra, message", [
    (["--map", "low:psi:0..1"], "needs --audio"),
    (["--audio", "{bogus}", "--map", "low:psi:0..1"], "cannot read audio"),
    (["--audio", "{track}", "--map", "bass:psi:0..1"], "not an audio feature"),
    (["--audio", "{track}", "--map", "low:psy:0..1"], "psy: unknown parameter"),
    (["--audio", "{track}", "--map", "low:edit/0/layers"], "unknown parameter"),
    (["--audio", "{track}", "--map", "low:psi:0..9"], "psi: must be within"),
])
def test_bad_audio_arguments_are_one_line(track, tmp_path, capsys, extra, message):
    bogus = tmp_path / "bogus.wav"
    bogus.write_bytes(b"RIFF not really")
    extra = [a.format(track=track, bogus=bogus) for a in extra]
    code = main(["video", "--network", str(BUNDLED), "--seeds", "0", "--fps", "2", "--output", str(tmp_path / "x.mp4"), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.mp4").exists()


def test_a_timeline_carries_its_audio_mappings(track, tmp_path):
    from explorer.video.timeline import Timeline

    saved = tmp_path / "walk.json"
    assert main(["video", "--network", str(BUNDLED), "--seeds", "0", "--audio", str(track), "--map",
                 "onset:psi:0.2..1.2", "--fps", str(FPS), "--save-timeline", str(saved),
                 "--output", str(tmp_path / "first")]) == 0
    timeline = Timeline.load(saved)
    assert timeline.audio.mappings == (parse_mapping("onset:psi:0.2..1.2", source_aliases()),)
    assert Timeline.loads(timeline.dumps()) == timeline
    assert main(["video", "--network", str(BUNDLED), "--timeline", str(saved), "--output", str(tmp_path / "again")]) == 0
    first = sorted((tmp_path / "first").glob("*.png"))
    again = sorted((tmp_path / "again").glob("*.png"))
    assert len(first) == len(again) == 20
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, again))
