"""Writing frames out: H.264 MP4 and VP9 WebM (PyAV), GIF (Pillow), or a folder of PNGs.

Nothing half-written is ever left behind under the output's name: every writer works on a temporary
name in the output's own folder (a dot-file, or a dot-folder for PNG frames) and renames it onto the
output only when the last frame is in. If anything fails or the render is cancelled, ``abort`` removes
the temporary. An existing output is replaced only with ``overwrite`` (and a PNG folder only when it
holds nothing but frames this program wrote), never silently.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from explorer.errors import UsageError

FORMATS = ("mp4", "webm", "gif", "png")
SUFFIXES = {".mp4": "mp4", ".webm": "webm", ".gif": "gif"}
CODECS = {"mp4": "libx264", "webm": "libvpx-vp9"}
AUDIO_CODECS = {"mp4": "aac", "webm": "libopus"}
AUDIO_RATE = 48000  # Opus takes only 48 kHz; AAC is happy with it too
DEFAULT_CRF = {"mp4": 18, "webm": 31}
CRF_RANGE = {"mp4": (0, 51), "webm": (0, 63)}
PNG_PATTERN = "frame-{:05d}.png"


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The format for ``path``: ``fmt`` if given, else from the suffix; a path without one is a PNG folder."""
    path = Path(path)
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown video format {fmt!r} (choose from: {', '.join(FORMATS)})")
        return fmt
    suffix = path.suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if suffix == "" or path.is_dir():
        return "png"
    raise UsageError(f"{path.name}: unknown video format {suffix!r} (use .mp4, .webm, .gif, or a folder for PNG frames)")


def check_codec(fmt: str) -> None:
    """A one-line error when this PyAV build cannot encode ``fmt``."""
    codec = CODECS.get(fmt)
    if codec is None:
        return
    try:
        import av

        av.codec.Codec(codec, "w")
    except ImportError:
        raise UsageError(f"{fmt.upper()} export needs PyAV (pip install av)") from None
    except Exception:  # av.codec.UnknownCodecError and friends
        raise UsageError(f"{fmt.upper()} export needs the {codec} encoder, which this PyAV build lacks; try .gif or a PNG folder") from None


def check_output(path: Path, fmt: str, overwrite: bool) -> None:
    """Refuse an existing output unless ``overwrite``; refuse a folder that is not ours even then."""
    if fmt == "png":
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path}: exists and is not a folder (PNG frames go into a folder)")
        if path.is_dir() and any(path.iterdir()):
            if not overwrite:
                raise UsageError(f"{path}: folder exists and is not empty (use --force to replace its frames)")
            strangers = [p.name for p in path.iterdir() if not _is_frame_name(p.name)]
            if strangers:
                raise UsageError(f"{path}: holds {strangers[0]!r}, not only PNG frames; refusing to replace it")
    elif path.exists():
        if path.is_dir():
            raise UsageError(f"{path}: is a folder; give a file name ending in .{fmt}")
        if not overwrite:
            raise UsageError(f"{path}: already exists (use --force to overwrite)")


def _default_mode(directory: bool) -> int:
    """The mode a plain open() / mkdir() would give under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def _is_frame_name(name: str) -> bool:
    return name.startswith("frame-") and name.endswith(".png") and name[6:-4].isdigit()


class Writer:
    """Base of the writers: ``write(frame)`` for each [H, W, 3] uint8 frame, then ``finish()`` or ``abort()``."""

    def __init__(self, path: Path, fps: float, width: int, height: int, overwrite: bool):
        self.path = path
        self.fps = fps
        self.width, self.height = width, height
        self.overwrite = overwrite
        self.frames = 0
        self.notes: list[str] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.temp = self._make_temp()
        except OSError as exc:
            raise UsageError(f"{path}: cannot write there ({exc.strerror or exc})") from None

    def _make_temp(self) -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        os.close(fd)
        return Path(name)

    def write(self, frame: np.ndarray) -> None:
        self._write(frame)
        self.frames += 1

    def finish(self) -> Path:
        """Close the encoder and move the temporary onto the output."""
        try:
            self._close()
            os.chmod(self.temp, _default_mode(self.temp.is_dir()))  # temporaries are private; outputs are not
            self._publish()
        except BaseException:
            self._remove_temp()
            raise
        return self.path

    def abort(self) -> None:
        """Drop everything written so far; the output is untouched."""
        try:
            self._close(aborting=True)
        except Exception:
            pass
        self._remove_temp()

    def _publish(self) -> None:
        if self.overwrite:
            os.replace(self.temp, self.path)
            return
        try:
            os.link(self.temp, self.path)  # fails if the output appeared meanwhile
        except FileExistsError:
            raise UsageError(f"{self.path}: appeared while rendering; left it alone (use --force to overwrite)") from None
        self.temp.unlink()

    def _remove_temp(self) -> None:
        if self.temp.is_dir():
            shutil.rmtree(self.temp, ignore_errors=True)
        else:
            self.temp.unlink(missing_ok=True)

    def _write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def _close(self, aborting: bool = False) -> None:
        raise NotImplementedError


class AVWriter(Writer):
    """MP4 (libx264) or WebM (libvpx-vp9) in yuv420p at constant quality ``crf``.

    yuv420p needs even sides: an odd side is padded by repeating its last row or column (noted).
    With ``audio`` (a sound file) its first audio stream is muxed in as AAC (MP4) or Opus (WebM), stereo
    at 48 kHz, interleaved with the frames as they come and cut at the video's end.
    """

    def __init__(self, path: Path, fps: float, width: int, height: int, overwrite: bool, fmt: str, crf: int | None,
                 audio: Path | None = None):
        import av

        lo, hi = CRF_RANGE[fmt]
        crf = DEFAULT_CRF[fmt] if crf is None else crf
        if isinstance(crf, bool) or not isinstance(crf, int) or not lo <= crf <= hi:
            raise UsageError(f"crf for {fmt} must be an integer in {lo}..{hi}, got {crf!r}")
        super().__init__(path, fps, width, height, overwrite)
        self.pad = (height % 2, width % 2)
        if any(self.pad):
            self.notes.append(f"padded {width}x{height} to {width + self.pad[1]}x{height + self.pad[0]} (yuv420p needs even sides)")
        try:
            self.container = av.open(str(self.temp), "w", format=fmt)
            self.stream = self.container.add_stream(CODECS[fmt], rate=Fraction(fps).limit_denominator(1001))
            self.stream.width, self.stream.height = width + self.pad[1], height + self.pad[0]
            self.stream.pix_fmt = "yuv420p"
            options = {"crf": str(crf)}
            if fmt == "webm":
                options.update({"b:v": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
            self.stream.options = options
            self.audio = None if audio is None else _AudioMuxer(self.container, AUDIO_CODECS[fmt], audio)
        except UsageError:
            self._remove_temp()
            raise
        except Exception as exc:
            self._remove_temp()
            raise UsageError(f"{path.name}: cannot start the {CODECS[fmt]} encoder ({exc})") from None

    def _write(self, frame: np.ndarray) -> None:
        import av

        if any(self.pad):
            frame = np.pad(frame, ((0, self.pad[0]), (0, self.pad[1]), (0, 0)), mode="edge")
        image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[..., :3]), format="rgb24")
        for packet in self.stream.encode(image):
            self.container.mux(packet)
        if self.audio is not None:
            self.audio.advance((self.frames + 1) / self.fps)

    def _close(self, aborting: bool = False) -> None:
        if not aborting:
            for packet in self.stream.encode():
                self.container.mux(packet)
            if self.audio is not None:
                self.audio.finish(self.frames / self.fps)
        if self.audio is not None:
            self.audio.close()
        self.container.close()


class _AudioMuxer:
    """Encodes a sound file's audio into ``container`` up to a given time, a little at a time."""

    def __init__(self, container, codec: str, source: Path):
        from explorer.control.audio import decode_audio

        self.container = container
        self.source = Path(source)
        self.stream = container.add_stream(codec, rate=AUDIO_RATE)
        self.stream.layout = "stereo"
        self._frames = decode_audio(self.source, layout="stereo", rate=AUDIO_RATE, fmt="fltp")
        self._pending: np.ndarray | None = None  # decoded samples [2, n] not yet encoded
        self.samples = 0  # encoded so far

    def advance(self, seconds: float) -> None:
        """Encode the audio up to ``seconds`` (or the end of the file, if sooner)."""
        import av

        target = int(round(seconds * AUDIO_RATE))
        while self.samples < target:
            if self._pending is None or self._pending.shape[1] == 0:
                frame = next(self._frames, None)
                if frame is None:
                    return
                self._pending = frame.to_ndarray()
            take = self._pending[:, :target - self.samples]
            self._pending = self._pending[:, take.shape[1]:]
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(take), format="fltp", layout="stereo")
            chunk.sample_rate = AUDIO_RATE
            chunk.pts = self.samples
            self.samples += take.shape[1]
            for packet in self.stream.encode(chunk):
                self.container.mux(packet)

    def finish(self, seconds: float) -> None:
        self.advance(seconds)
        for packet in self.stream.encode(None):
            self.container.mux(packet)

    def close(self) -> None:
        self._frames.close()  # closes the sound file


class GifWriter(Writer):
    """An endlessly looping GIF, each frame with its own adaptive 256-colour palette.

    GIF delays are whole centiseconds; they are spread so that the average rate is ``fps`` (at most 50
    fps: browsers slow shorter delays down). Pillow merges identical consecutive frames into one longer one.
    """

    def __init__(self, path: Path, fps: float, width: int, height: int, overwrite: bool):
        super().__init__(path, fps, width, height, overwrite)
        self.images = []
        self.delays: list[int] = []
        self._clock = 0.0
        if fps > 50:
            self.notes.append(f"GIF plays at most 50 fps; {fps:g} fps frames are shown at 50 fps")

    def _write(self, frame: np.ndarray) -> None:
        from PIL import Image

        self.images.append(Image.fromarray(frame[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE, colors=256))
        target = self._clock + 100.0 / min(self.fps, 50.0)  # centiseconds
        delay = max(2, int(math.floor(target + 0.5)) - int(math.floor(self._clock + 0.5)))
        self._clock = target
        self.delays.append(delay * 10)

    def _close(self, aborting: bool = False) -> None:
        if aborting or not self.images:
            self.images = []
            return
        first, rest = self.images[0], self.images[1:]
        first.save(self.temp, format="GIF", save_all=True, append_images=rest, duration=self.delays, loop=0,
                   optimize=False, disposal=1)
        self.images = []


class PngWriter(Writer):
    """A folder of ``frame-00000.png`` ... (0-based: frame numbers match the timeline's)."""

    def _make_temp(self) -> Path:
        return Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent))

    def _write(self, frame: np.ndarray) -> None:
        from explorer.engine.recipe import encode_png

        (self.temp / PNG_PATTERN.format(self.frames)).write_bytes(encode_png(frame))

    def _close(self, aborting: bool = False) -> None:
        pass

    def _publish(self) -> None:
        if self.path.is_dir():
            check_output(self.path, "png", self.overwrite)  # still only our frames (or empty)?
            old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".old", dir=self.path.parent))
            os.rename(self.path, old / "frames")
            os.rename(self.temp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.temp, self.path)


def open_writer(path: str | Path, fmt: str, fps: float, width: int, height: int, crf: int | None = None,
                overwrite: bool = False, audio: Path | None = None) -> Writer:
    """A writer for ``fmt`` after checking the codec and the output (see the module docstring); ``audio``
    (a sound file) is muxed into MP4 / WebM and noted as left out of GIF / PNG frames."""
    path = Path(path)
    check_codec(fmt)
    check_output(path, fmt, overwrite)
    if fmt in CODECS:
        return AVWriter(path, fps, width, height, overwrite, fmt, crf, audio)
    if audio is not None:
        writer = open_writer(path, fmt, fps, width, height, crf, overwrite)
        writer.notes.append(f"{fmt.upper()} has no sound; {Path(audio).name} is not in it")
        return writer
    if fmt == "gif":
        return GifWriter(path, fps, width, height, overwrite)
    return PngWriter(path, fps, width, height, overwrite)
