"""Live audio in: a microphone or line input as the sources ``audio/low``, ``audio/onset``, ... .

Capture goes through PyAV (already a dependency) and FFmpeg's input devices: PulseAudio or ALSA on Linux,
AVFoundation on macOS, DirectShow on Windows; whichever this build of FFmpeg has is offered
(``capture_backends``). The samples go through the same ``AudioAnalyser`` as an audio file's offline
render, so a performance and its export react alike. FFmpeg's ``lavfi`` generators are accepted as a
device too ("sine=frequency=440"): a live source without hardware, for tests and for trying mappings.

``AudioInput`` reads on its own thread and pushes the features into the hub ``rate`` times a second. A
generator produces samples as fast as it is read, so reading is paced to the wall clock: a source never
runs ahead of real time, whatever it is.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable

from explorer.control.audio import AudioAnalyser, import_av
from explorer.control.hub import ControlHub
from explorer.errors import UsageError

# FFmpeg's capture formats by platform, best first, with the name of each one's default device.
PLATFORM_BACKENDS = {"linux": (("pulse", "default"), ("alsa", "default")),
                     "darwin": (("avfoundation", ":0"),),
                     "win32": (("dshow", "audio=default"),)}
TEST_BACKEND = "lavfi"
ANALYSIS_RATE = 22050  # Hz: the analyser's bands and chroma need no more
FEATURE_RATE = 60.0  # feature updates per second, about the window's poll rate


def capture_backends() -> list[tuple[str, str]]:
    """(format, default device) of this machine's capture devices that this FFmpeg build has."""
    try:
        available = import_av().formats_available
    except UsageError:
        return []
    platform = next((key for key in PLATFORM_BACKENDS if sys.platform.startswith(key)), "")
    return [(fmt, device) for fmt, device in PLATFORM_BACKENDS.get(platform, ()) if fmt in available]


class AudioInput:
    """An open capture device feeding ``hub`` until ``close``; opening failures are one line."""

    def __init__(self, hub: ControlHub, device: str, fmt: str, rate: float = FEATURE_RATE,
                 clock: Callable[[], float] = time.monotonic):
        av = import_av()
        self.hub, self.device, self.fmt, self._clock = hub, device, fmt, clock
        self._interval = 1.0 / rate
        try:
            self._container = av.open(device, format=fmt)
        except (OSError, ValueError, av.error.FFmpegError) as exc:
            raise UsageError(f"audio input {fmt}:{device}: cannot open ({getattr(exc, 'strerror', None) or exc})") \
                from None
        if not self._container.streams.audio:
            self._container.close()
            raise UsageError(f"audio input {fmt}:{device}: has no audio")
        self.error: str | None = None  # why reading stopped, if it did on its own
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"audio-in-{fmt}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        av = import_av()
        analyser = AudioAnalyser(ANALYSIS_RATE)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=ANALYSIS_RATE)
        start = self._clock()
        samples_read = 0
        last_push = start
        try:
            for frame in self._container.decode(audio=0):
                if self._stop.is_set():
                    return
                for chunk in resampler.resample(frame):
                    block = chunk.to_ndarray().reshape(-1)
                    analyser.feed(block)
                    samples_read += len(block)
                ahead = samples_read / ANALYSIS_RATE - (self._clock() - start)
                if ahead > 0:  # a generator (or a file) runs faster than time: keep to the clock
                    self._stop.wait(ahead)
                now = self._clock()
                if now - last_push >= self._interval:
                    for name, value in analyser.frame(now - last_push).items():
                        self.hub.push_source(f"audio/{name}", value, now, origin="audio")
                    last_push = now
        except av.error.FFmpegError as exc:  # the device went away (unplugged)
            self.error = f"audio input {self.fmt}:{self.device} stopped ({exc})"
        finally:
            self._container.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
