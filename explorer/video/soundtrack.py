"""Audio-driven video: a timeline's frames with mappings from an audio file's features applied.

Frame n is at time n / fps. Its base state is the timeline's frame n (the last frame holds when the audio
outlasts the timeline); the audio features of the samples before n / fps (``control.audio``, causal)
go through the mappings (``control.mapping``, smoothing stepped at 1 / fps), and the resulting values are
set on the base state through the registry. Each frame is rendered alone, as ``Renderer.render`` of its
state, so a frame equals ``explorer generate`` of that state, and frames whose state did not move (silence)
are identical. The video lasts as long as the audio unless ``duration`` is given; the encoder muxes the
audio in (see ``encoders.AVWriter``). A ``Soundtrack`` (defined with the timeline, which may carry one)
names the file, the mappings and the duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from explorer.control.audio import (FEATURES, AudioClip, features_per_frame, frame_count_for, load_audio,
                                    source_aliases)
from explorer.control.mapping import ModulationMatrix, parse_mapping
from explorer.control.targets import MODULATABLE_KINDS, apply_outputs, output_ranges
from explorer.engine.images import upscale_nearest
from explorer.engine.params import ParamRegistry
from explorer.engine.render import Renderer
from explorer.engine.state import State
from explorer.errors import UsageError
from explorer.video.interpolate import TimelineSampler
from explorer.video.render import SCALES
from explorer.video.timeline import Soundtrack, Timeline, check_fps

__all__ = ["AudioFrameSource", "Soundtrack", "check_targets"]


def soundtrack_from_text(audio: str | Path, maps: list[str], duration: float | None = None) -> Soundtrack:
    """A soundtrack from what the artist typed: an audio file and mappings such as ``low:psi:0.5..1.2``
    (``explorer video --audio --map`` and the window's export dialog)."""
    path = Path(audio).expanduser()
    if not path.is_file():
        raise UsageError(f"{path}: no such audio file")
    aliases = source_aliases()
    return Soundtrack(path.resolve(), tuple(parse_mapping(text, aliases) for text in maps), duration)


def check_targets(mappings, registry: ParamRegistry) -> None:
    """Every mapping's target is a parameter a number can drive, for this model and state."""
    for mapping in mappings:
        param = registry[mapping.target]  # an unknown address is a one-line ParamError
        if param.kind not in MODULATABLE_KINDS:
            raise UsageError(f"{mapping.target}: a {param.kind} parameter cannot follow one value")
        if mapping.out_low is not None and param.kind in ("continuous", "integer"):
            for end in (mapping.out_low, mapping.out_high):
                param.coerce(round(end) if param.kind == "integer" else end)  # a ParamError names the range


class AudioFrameSource:
    """The frames of one timeline driven by a soundtrack; the same interface as ``FrameSource``."""

    def __init__(self, renderer: Renderer, timeline: Timeline, soundtrack: Soundtrack, fps: float | None = None,
                 scale: int = 1, clip: AudioClip | None = None):
        if scale not in SCALES:
            raise UsageError(f"size must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
        if not timeline.keyframes:
            raise UsageError("the timeline has no keyframes")
        self.renderer = renderer
        self.soundtrack = soundtrack
        self.fps = check_fps(timeline.fps if fps is None else fps)
        self.scale = scale
        self.clip = clip if clip is not None else load_audio(soundtrack.path)
        self.frame_count = frame_count_for(soundtrack.duration or self.clip.duration, self.fps)
        self.positions = timeline.positions(self.fps)
        if not self.positions:
            raise UsageError(f"the timeline has no frames at {self.fps:g} fps")
        self.sampler = TimelineSampler(renderer, timeline)
        check_targets(soundtrack.mappings, self._registry(timeline.keyframes[0].state))
        self.features = features_per_frame(self.clip, self.fps, self.frame_count)
        g = renderer.generator
        self.width = self.height = g.img_resolution * scale
        self.frames_per_chunk = 8

    def _registry(self, state: State) -> ParamRegistry:
        return ParamRegistry.for_model(self.renderer.generator, state)

    def states(self) -> Iterator[State]:
        """The state of every frame, in order (the matrix's smoothing runs forward in time)."""
        matrix = ModulationMatrix(self.soundtrack.mappings)
        for n in range(self.frame_count):
            base = self.sampler.state_at(self.positions[min(n, len(self.positions) - 1)])
            values = {f"audio/{name}": float(self.features[name][n]) for name in FEATURES}
            registry = self._registry(base)
            outputs = matrix.evaluate(values, n / self.fps, output_ranges(registry))
            state, refused = apply_outputs(registry, base, outputs)
            if refused:
                raise UsageError(f"frame {n}: {refused[0]}")
            yield state

    def chunks(self, start: int = 0) -> Iterator[list[np.ndarray]]:
        chunk = []
        for n, state in enumerate(self.states()):
            if n < start:
                continue
            chunk.append(np.ascontiguousarray(upscale_nearest(self.renderer.render(state), self.scale)))
            if len(chunk) == self.frames_per_chunk:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
