"""Timelines: keyframes (full states) with per-segment timing and easing, and the frame schedule.

A timeline is immutable, like ``State``, so the window's undo stack can keep old ones as they are; edit it
with the methods that return a new one.

Segments and frames (the one definition every renderer, test and the window use):

- keyframe i owns the *segment* from itself to keyframe i + 1; its ``duration`` (seconds) and ``easing``
  describe that segment. Without ``loop`` the last keyframe's duration and easing are unused; with
  ``loop`` they describe the closing segment from the last keyframe back to the first.
- at ``fps`` a segment of d seconds has ``n = floor(d * fps + 0.5)`` frames (rounded half up, so that
  120 / 60 * 60 gives 120 whatever the float error); its frame j (0 <= j < n) samples local time
  u = j / n. Frame 0 of a segment is therefore its keyframe, exactly.
- the video is the segments' frames in order; without ``loop`` one more frame follows, the last keyframe.
  So ``frame_count = sum(n_i) + (0 if loop else 1)``. With ``loop`` the frame after the last would be the
  first keyframe again: the video repeats seamlessly.
- a segment shorter than half a frame has no frames: a cut; its first keyframe is then never shown.

JSON layout (version 1)::

    {"version": 1, "kind": "cubic", "loop": false, "fps": 30.0,
     "keyframes": [{"state": {...State JSON...}, "duration": 2.0, "easing": "linear"}, ...],
     "audio": {"file": "track.wav", "mappings": [...], "duration": null}}

``audio`` is optional: a ``Soundtrack`` (a sound file, relative to the timeline file's folder, and the
mappings its features drive, see ``explorer.control.mapping``); a video of the timeline then follows
the audio and carries it (``explorer.video.soundtrack``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.control.audio import FEATURES
from explorer.control.mapping import Mapping, mappings_from_json
from explorer.engine.jsonfile import parse_json, read_json
from explorer.engine.state import State
from explorer.errors import ExplorerError, StateError, UsageError
from explorer.video.easing import check_easing

TIMELINE_VERSION = 1
KINDS = ("linear", "slerp", "cubic")
DEFAULT_DURATION = 2.0
AUDIO_SOURCES = tuple(f"audio/{name}" for name in FEATURES)
MAX_AUDIO_DURATION_S = 4 * 3600


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or kind not in KINDS:
        raise UsageError(f"unknown interpolation {kind!r} (choose from: {', '.join(KINDS)})")
    return kind


def check_fps(fps: float) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or not 0 < fps <= 1000:
        raise UsageError(f"fps must be a number in (0, 1000], got {fps!r}")
    return float(fps)


def segment_frame_count(duration: float, fps: float) -> int:
    """Frames of a segment of ``duration`` seconds at ``fps``: rounded half up (see module docstring)."""
    return int(math.floor(duration * fps + 0.5))


@dataclass(frozen=True)
class Keyframe:
    """One keyframe: the state shown at its time, and how the segment that starts here moves on."""

    state: State
    duration: float = DEFAULT_DURATION  # seconds to the next keyframe
    easing: str = "linear"  # easing of the segment that starts here

    def __post_init__(self):
        if not isinstance(self.state, State):
            raise UsageError("a keyframe needs a State")
        d = self.duration
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d < 0:
            raise UsageError(f"keyframe duration must be a non-negative number of seconds, got {d!r}")
        object.__setattr__(self, "duration", float(d))
        check_easing(self.easing)

    def replace(self, **changes) -> "Keyframe":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        return {"state": self.state.to_json(), "duration": self.duration, "easing": self.easing}


@dataclass(frozen=True)
class Soundtrack:
    """A sound file, the mappings its features drive, and an optional duration (seconds; None: the audio's)."""

    path: Path
    mappings: tuple[Mapping, ...] = ()
    duration: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))
        object.__setattr__(self, "mappings", tuple(self.mappings))
        d = self.duration
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 < d <= MAX_AUDIO_DURATION_S):
            raise UsageError(f"duration must be 0..{MAX_AUDIO_DURATION_S} seconds, got {d!r}")
        for mapping in self.mappings:
            if mapping.source not in AUDIO_SOURCES:
                names = ", ".join(FEATURES[:5]) + ", chroma/0..11"
                raise UsageError(f"{mapping.source!r} is not an audio feature (choose from: {names})")

    def to_json(self) -> dict:
        return {"file": str(self.path), "mappings": [m.to_json() for m in self.mappings], "duration": self.duration}

    @classmethod
    def from_json(cls, data: Any, source: str | Path | None = None) -> "Soundtrack":
        if not isinstance(data, dict) or not isinstance(data.get("file"), str) or set(data) - {"file", "mappings", "duration"}:
            raise StateError(source, "timeline audio must be an object with 'file', 'mappings' and 'duration'")
        path = Path(data["file"])
        if not path.is_absolute() and source is not None:
            path = Path(source).parent / path
        try:
            return cls(path, mappings_from_json(data.get("mappings", [])), data.get("duration"))
        except ExplorerError as exc:
            raise StateError(source, f"timeline audio: {exc}") from None


@dataclass(frozen=True)
class FramePos:
    """Where a frame samples the timeline: ``segment`` (its first keyframe's index) at local time ``u``.

    ``u == 0`` is the keyframe ``segment`` itself; the window's scrubber may give any u in [0, 1].
    """

    segment: int
    u: float = 0.0

    @property
    def keyframe(self) -> int | None:
        return self.segment if self.u == 0.0 else None


@dataclass(frozen=True)
class Timeline:
    """Keyframes plus how to move between them. See the module docstring for frames and JSON."""

    keyframes: tuple[Keyframe, ...] = ()
    kind: str = "linear"  # 'linear' (W), 'slerp' (Z between seed keyframes), 'cubic' (Catmull-Rom in W)
    loop: bool = False  # close the loop from the last keyframe back to the first
    fps: float = 30.0  # the project's frame rate: preview and default export rate
    audio: Soundtrack | None = None  # a sound the video follows and carries

    def __post_init__(self):
        object.__setattr__(self, "keyframes", tuple(self.keyframes))
        if not all(isinstance(k, Keyframe) for k in self.keyframes):
            raise UsageError("timeline keyframes must be Keyframe objects")
        check_kind(self.kind)
        if not isinstance(self.loop, bool):
            raise UsageError(f"loop must be true or false, got {self.loop!r}")
        object.__setattr__(self, "fps", check_fps(self.fps))
        if self.audio is not None and not isinstance(self.audio, Soundtrack):
            raise UsageError("timeline audio must be a Soundtrack")

    # ---- edits (each returns a new timeline) --------------------------------------------------------
    def replace(self, **changes) -> "Timeline":
        return dataclasses.replace(self, **changes)

    def with_keyframe(self, index: int, keyframe: Keyframe) -> "Timeline":
        keys = list(self.keyframes)
        keys[index] = keyframe
        return self.replace(keyframes=tuple(keys))

    def inserted(self, index: int, keyframe: Keyframe) -> "Timeline":
        keys = list(self.keyframes)
        keys.insert(index, keyframe)
        return self.replace(keyframes=tuple(keys))

    def appended(self, keyframe: Keyframe) -> "Timeline":
        return self.inserted(len(self.keyframes), keyframe)

    def removed(self, index: int) -> "Timeline":
        keys = list(self.keyframes)
        del keys[index]
        return self.replace(keyframes=tuple(keys))

    def moved(self, source: int, target: int) -> "Timeline":
        keys = list(self.keyframes)
        keys.insert(target, keys.pop(source))
        return self.replace(keyframes=tuple(keys))

    # ---- the frame schedule ------------------------------------------------------------------------
    @property
    def segment_count(self) -> int:
        k = len(self.keyframes)
        return k if self.loop else max(k - 1, 0)

    def segment_durations(self) -> list[float]:
        return [self.keyframes[i].duration for i in range(self.segment_count)]

    @property
    def duration(self) -> float:
        """Seconds from the first keyframe to the end (the last keyframe, or back to the first when looping)."""
        return sum(self.segment_durations())

    def segment_frames(self, fps: float | None = None) -> list[int]:
        fps = self.fps if fps is None else check_fps(fps)
        return [segment_frame_count(d, fps) for d in self.segment_durations()]

    def frame_count(self, fps: float | None = None) -> int:
        if not self.keyframes:
            return 0
        return sum(self.segment_frames(fps)) + (0 if self.loop else 1)

    def positions(self, fps: float | None = None) -> list[FramePos]:
        """Every frame's position, in order (see the module docstring)."""
        if not self.keyframes:
            return []
        out = [FramePos(i, j / n) for i, n in enumerate(self.segment_frames(fps)) for j in range(n)]
        if not self.loop:
            out.append(FramePos(len(self.keyframes) - 1, 0.0))
        return out

    def keyframe_frames(self, fps: float | None = None) -> list[int | None]:
        """The frame index that shows each keyframe (None for a keyframe cut away by a zero-frame segment)."""
        shown: list[int | None] = [None] * len(self.keyframes)
        for index, pos in enumerate(self.positions(fps)):
            if pos.keyframe is not None:
                shown[pos.keyframe] = index
        return shown

    def position_at(self, t: float) -> FramePos:
        """The position at ``t`` seconds for scrubbing: clamped to the timeline, or wrapped when looping."""
        if not self.keyframes:
            raise UsageError("the timeline has no keyframes")
        total = self.duration
        if self.loop and total > 0:
            t = t % total
        start = 0.0
        for i, d in enumerate(self.segment_durations()):
            if start <= t < start + d:
                return FramePos(i, (t - start) / d)
            start += d
        return FramePos(0 if self.loop or t <= 0 else len(self.keyframes) - 1, 0.0)

    # ---- serialisation -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        data = {
            "version": TIMELINE_VERSION,
            "kind": self.kind,
            "loop": self.loop,
            "fps": self.fps,
            "keyframes": [k.to_json() for k in self.keyframes],
        }
        if self.audio is not None:
            data["audio"] = self.audio.to_json()
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    @classmethod
    def from_json(cls, data: Any, source: str | Path | None = None) -> "Timeline":
        """Build a timeline from its JSON object; anything malformed is a one-line StateError naming ``source``."""
        if not isinstance(data, dict):
            raise StateError(source, "timeline must be a JSON object")
        version = data.get("version")
        if version != TIMELINE_VERSION:
            raise StateError(source, f"unsupported timeline version {version!r} (this program reads version {TIMELINE_VERSION})")
        unknown = sorted(set(data) - {"version", "kind", "loop", "fps", "keyframes", "audio"})
        if unknown:
            raise StateError(source, f"unknown timeline field {unknown[0]!r}")
        raw_keys = data.get("keyframes")
        if not isinstance(raw_keys, list):
            raise StateError(source, "timeline needs a list 'keyframes'")
        keys = []
        for i, raw in enumerate(raw_keys):
            if not isinstance(raw, dict) or "state" not in raw:
                raise StateError(source, f"keyframe {i} must be an object with a 'state'")
            extra = sorted(set(raw) - {"state", "duration", "easing"})
            if extra:
                raise StateError(source, f"keyframe {i}: unknown field {extra[0]!r}")
            try:
                state = State.from_json(raw["state"], source)
            except StateError as exc:
                raise StateError(source, f"keyframe {i}: {exc.reason}") from None
            try:
                keys.append(Keyframe(state, raw.get("duration", DEFAULT_DURATION), raw.get("easing", "linear")))
            except ExplorerError as exc:
                raise StateError(source, f"keyframe {i}: {exc}") from None
        audio = Soundtrack.from_json(data["audio"], source) if data.get("audio") is not None else None
        try:
            return cls(tuple(keys), data.get("kind", "linear"), data.get("loop", False), data.get("fps", 30.0), audio)
        except ExplorerError as exc:
            raise StateError(source, str(exc)) from None

    @classmethod
    def loads(cls, text: str, source: str | Path | None = None) -> "Timeline":
        return cls.from_json(parse_json(text, source), source)

    @classmethod
    def load(cls, path: str | Path) -> "Timeline":
        """A timeline file, or the timeline kept in a session file saved by the window."""
        path = Path(path)
        data = read_json(path, "timeline file")
        if isinstance(data, dict) and "keyframes" not in data and "state" in data:  # the window's session file
            if data.get("timeline") is None:
                raise StateError(path, "session holds no timeline (add keyframes in the window's timeline first)")
            data = data["timeline"]
        timeline = cls.from_json(data, path)
        if not timeline.keyframes:
            raise StateError(path, "timeline has no keyframes")
        return timeline

    def save(self, path: str | Path, overwrite: bool = False) -> None:
        from explorer.fileio import atomic_write_text

        atomic_write_text(path, self.dumps() + "\n", overwrite=overwrite)

