"""Audio as sources: decoding a file (PyAV) and causal features per video frame.

``AudioAnalyser`` is fed samples as they come (a file read frame by frame, or a live input) and gives,
for the window of samples that ends *now*, the features (each 0..1):

- ``low`` / ``mid`` / ``high``: RMS of the bands 20-250 Hz, 250-4000 Hz, 4 kHz up; ``rms``: all of it;
- ``onset``: spectral flux, the rise of the log spectrum since the previous frame (drum hits, attacks);
- ``chroma/0`` .. ``chroma/11``: the energy of each pitch class C .. B, relative to the strongest.

Band levels and onset go through an adaptive normaliser: each is divided by its running peak, which
decays with a half-life of ``PEAK_HALF_LIFE_S`` so a quiet passage after a loud one comes back up; a floor
keeps silence silent (digital silence gives exactly 0). Causal by construction: a frame sees only samples
up to its own time, so ``features_per_frame`` (offline, for a video) and a live input give the same
values for the same sound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.errors import UsageError

WINDOW = 2048  # samples per analysis window (46 ms at 44.1 kHz)
BANDS = {"low": (20.0, 250.0), "mid": (250.0, 4000.0), "high": (4000.0, math.inf)}
LEVELS = ("rms", *BANDS, "onset")
CHROMA = tuple(f"chroma/{k}" for k in range(12))
FEATURES = (*LEVELS, *CHROMA)
CHROMA_RANGE = (60.0, 5000.0)  # Hz: below, bins are too coarse for pitch; above, mostly overtones
PEAK_HALF_LIFE_S = 8.0
FLOOR = {"rms": 1e-3, "low": 1e-3, "mid": 1e-3, "high": 1e-3, "onset": 1e-2}  # -60 dB; flux of faint noise
MAX_AUDIO_SECONDS = 4 * 3600


@dataclass(frozen=True)
class AudioClip:
    """Decoded audio: mono float32 samples in -1..1 at ``rate``."""

    path: Path
    samples: np.ndarray
    rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def import_av():
    try:
        import av
    except ImportError:
        raise UsageError("audio needs PyAV (pip install av)") from None
    return av


def decode_audio(path: str | Path, layout: str = "mono", rate: int | None = None, fmt: str = "flt"):
    """Yield the audio of ``path`` as PyAV frames resampled to ``fmt`` / ``layout`` / ``rate`` (None: the
    file's rate); a missing or damaged file, or one without sound, is one line naming it."""
    av = import_av()
    path = Path(path)
    try:
        container = av.open(str(path))
    except (OSError, av.error.FFmpegError) as exc:
        raise UsageError(f"{path.name}: cannot read audio ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        if not container.streams.audio:
            raise UsageError(f"{path.name}: has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate or stream.rate)
        try:
            for frame in container.decode(stream):
                yield from resampler.resample(frame)
            yield from resampler.resample(None)
        except av.error.FFmpegError as exc:
            raise UsageError(f"{path.name}: damaged audio ({exc})") from None
    finally:
        container.close()


def load_audio(path: str | Path) -> AudioClip:
    """The whole file as mono float32 at its own rate (for analysis)."""
    path = Path(path)
    chunks, rate, total = [], None, 0
    for frame in decode_audio(path):
        rate = frame.sample_rate
        chunk = frame.to_ndarray().reshape(-1).astype(np.float32)
        total += len(chunk)
        if total > MAX_AUDIO_SECONDS * rate:
            raise UsageError(f"{path.name}: longer than {MAX_AUDIO_SECONDS // 3600} hours; cut it first")
        chunks.append(chunk)
    if rate is None or total == 0:
        raise UsageError(f"{path.name}: the audio stream is empty")
    return AudioClip(path, np.concatenate(chunks), rate)


class AudioAnalyser:
    """Feed samples with ``feed``; ``frame(dt)`` gives the features of the last ``WINDOW`` samples."""

    def __init__(self, rate: int):
        self.rate = rate
        self._buffer = np.zeros(WINDOW, dtype=np.float32)
        self._window = np.hanning(WINDOW).astype(np.float32)
        self._power_scale = 2.0 / (WINDOW * float(np.sum(self._window ** 2)))  # Parseval: a sine's RMS
        freqs = np.fft.rfftfreq(WINDOW, 1.0 / rate)
        self._bands = {name: (freqs >= lo) & (freqs < hi) for name, (lo, hi) in BANDS.items()}
        low, high = CHROMA_RANGE
        pitched = (freqs >= low) & (freqs <= high)
        self._chroma_bins = np.nonzero(pitched)[0]
        midi = 69 + 12 * np.log2(freqs[pitched] / 440.0)
        self._chroma_class = np.round(midi).astype(int) % 12
        self._previous_log: np.ndarray | None = None
        self._peaks = {name: 0.0 for name in LEVELS}

    def feed(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)[-WINDOW:]
        self._buffer = np.concatenate([self._buffer[len(samples):], samples])

    def raw(self) -> dict[str, float]:
        """Unnormalised levels and onset of the current window, and its chroma."""
        spectrum = np.fft.rfft(self._buffer * self._window)
        power = (spectrum.real ** 2 + spectrum.imag ** 2) * self._power_scale
        out = {"rms": math.sqrt(float(power.sum()))}
        for name, mask in self._bands.items():
            out[name] = math.sqrt(float(power[mask].sum()))
        log = np.log1p(np.sqrt(power) * 100.0)
        previous = self._previous_log if self._previous_log is not None else log
        out["onset"] = float(np.maximum(log - previous, 0.0).sum()) / len(log) * 10.0
        self._previous_log = log
        chroma = np.bincount(self._chroma_class, weights=power[self._chroma_bins], minlength=12)
        strongest = float(chroma.max())
        for k in range(12):
            out[CHROMA[k]] = float(chroma[k]) / strongest if strongest > 0 else 0.0
        return out

    def frame(self, dt: float) -> dict[str, float]:
        """Features of now, levels normalised by their decaying peaks (``dt``: seconds since the last frame)."""
        out = self.raw()
        decay = 0.5 ** (max(dt, 0.0) / PEAK_HALF_LIFE_S)
        for name in LEVELS:
            self._peaks[name] = max(out[name], self._peaks[name] * decay)
            out[name] = min(1.0, out[name] / max(self._peaks[name], FLOOR[name]))
        return out


def frame_count_for(duration: float, fps: float) -> int:
    """Frames of a video of ``duration`` seconds at ``fps`` (rounded half up, as timeline segments are)."""
    return max(1, int(math.floor(duration * fps + 0.5)))


def features_per_frame(clip: AudioClip, fps: float, count: int) -> dict[str, np.ndarray]:
    """{feature: [count] float} at ``fps``; frame n sees the samples before n / fps only."""
    analyser = AudioAnalyser(clip.rate)
    out = {name: np.zeros(count, dtype=np.float64) for name in FEATURES}
    fed = 0
    for n in range(count):
        end = min(len(clip.samples), int(round(n / fps * clip.rate)))
        if end > fed:
            analyser.feed(clip.samples[fed:end])
            fed = end
        for name, value in analyser.frame(1.0 / fps).items():
            out[name][n] = value
    return out


def source_aliases() -> dict[str, str]:
    """Short names for ``--map``: ``low`` is ``audio/low``, ``chroma/3`` is ``audio/chroma/3``."""
    return {name: f"audio/{name}" for name in FEATURES}
