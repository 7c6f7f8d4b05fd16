"""Render a timeline (or a grid of them) to a video file: the one entry point for the CLI and the window.

Progress is reported after every chunk of frames with an ETA; cancelling (a ``threading.Event`` or any
callable returning True) stops between chunks, removes the temporary output and raises ``Cancelled``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from explorer.engine.render import Renderer
from explorer.errors import UsageError
from explorer.video.encoders import format_of, open_writer
from explorer.video.render import FrameSource
from explorer.video.soundtrack import AudioFrameSource, Soundtrack
from explorer.video.timeline import Timeline


GIF_MEMORY_LIMIT = 2**31  # bytes of palette frames Pillow must hold until it writes the GIF


class Cancelled(Exception):
    """The export was cancelled; nothing was written."""


@dataclass(frozen=True)
class Progress:
    done: int  # frames rendered and encoded
    total: int
    elapsed: float  # seconds
    eta: float | None  # seconds left, None before the first chunk

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def line(self) -> str:
        eta = "" if self.eta is None else f", {_clock(self.eta)} left"
        return f"frame {self.done}/{self.total} ({self.fraction:.0%}, {_clock(self.elapsed)} elapsed{eta})"


@dataclass
class ExportResult:
    path: Path
    format: str
    frames: int
    width: int
    height: int
    fps: float
    render_seconds: float  # time in the generator (and tiling / scaling)
    encode_seconds: float  # time in the encoder, including the final close
    notes: list[str] = field(default_factory=list)


CancelCheck = threading.Event | Callable[[], bool] | None


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _is_cancelled(cancel: CancelCheck) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def export_video(renderer: Renderer, timelines: Timeline | Sequence[Timeline], output: str | Path, *,
                 fmt: str | None = None, fps: float | None = None, scale: int = 1, crf: int | None = None,
                 grid: tuple[int, int] = (1, 1), batch_size: int = 8, overwrite: bool = False,
                 progress: Callable[[Progress], None] | None = None, cancel: CancelCheck = None,
                 soundtrack: Soundtrack | None = None) -> ExportResult:
    """Render and encode every frame to ``output`` (.mp4, .webm, .gif, or a folder for PNG frames).

    With a ``soundtrack`` (by default the timeline's own, if it has one) the frames follow its audio mappings, the video lasts as long as the audio (or
    the soundtrack's duration) and MP4 / WebM carry the sound."""
    if isinstance(timelines, Timeline):
        timelines = [timelines]
    output = Path(output)
    fmt = format_of(output, fmt)
    if soundtrack is None and len(timelines) == 1:
        soundtrack = timelines[0].audio  # a timeline that carries its sound
    if soundtrack is None:
        source = FrameSource(renderer, timelines, grid, fps, scale, batch_size)
    elif len(timelines) != 1 or grid != (1, 1):
        raise UsageError("audio drives one timeline; drop the grid")
    else:
        source = AudioFrameSource(renderer, timelines[0], soundtrack, fps, scale)
    if fmt == "gif" and source.width * source.height * source.frame_count > GIF_MEMORY_LIMIT:
        raise UsageError(f"{output.name}: a GIF of {source.frame_count} frames at {source.width}x{source.height} "
                         "would need more memory than is sensible; use .mp4 / .webm, a smaller --size or fewer frames")
    writer = open_writer(output, fmt, source.fps, source.width, source.height, crf, overwrite,
                         audio=soundtrack.path if soundtrack is not None else None)
    started = time.perf_counter()
    render_s = encode_s = 0.0
    try:
        done = 0
        chunks = source.chunks()
        while done < source.frame_count:
            if _is_cancelled(cancel):
                raise Cancelled()
            t0 = time.perf_counter()
            frames = next(chunks)
            t1 = time.perf_counter()
            for frame in frames:
                writer.write(frame)
            render_s += t1 - t0
            encode_s += time.perf_counter() - t1
            done += len(frames)
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(Progress(done, source.frame_count, elapsed, elapsed / done * (source.frame_count - done)))
        if _is_cancelled(cancel):
            raise Cancelled()
        t0 = time.perf_counter()
        path = writer.finish()
        encode_s += time.perf_counter() - t0
    except BaseException:
        writer.abort()
        raise
    return ExportResult(path, fmt, source.frame_count, source.width, source.height, source.fps, render_s, encode_s,
                        writer.notes)
