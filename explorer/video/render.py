"""Offline frame rendering: one timeline, or a grid of them, to uint8 frames, batched through synthesis.

Deterministic by construction: the same timelines, model, fps and batch size give the same calls to the
same network in the same order, so the same pixels. Frames on a keyframe are synthesized alone so they
equal ``Renderer.render(keyframe.state)`` bitwise; the frames between are batched (``batch_size`` rows per
synthesis call across frames and grid cells) where their noise and transform settings agree. With
noise mode 'random' every frame is synthesized alone, because drawing noise for a batch would give each
row different noise than a render of that frame on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from explorer.engine.images import tile, to_uint8, upscale_nearest
from explorer.engine.render import Renderer
from explorer.errors import UsageError
from explorer.video.interpolate import Frame, TimelineSampler
from explorer.video.timeline import Timeline, check_fps

SCALES = (1, 2, 4)


class FrameSource:
    """The frames of ``timelines`` laid out on a ``grid`` (columns, rows), in order.

    ``len(timelines)`` must be columns * rows (cells filled row by row) and every timeline must have the
    same number of frames at ``fps``. ``scale`` enlarges by pixel repetition (1, 2 or 4).
    """

    def __init__(self, renderer: Renderer, timelines: Sequence[Timeline], grid: tuple[int, int] = (1, 1),
                 fps: float | None = None, scale: int = 1, batch_size: int = 8):
        cols, rows = grid
        if cols < 1 or rows < 1 or len(timelines) != cols * rows:
            raise UsageError(f"a {cols}x{rows} grid needs {max(cols * rows, 1)} timelines, got {len(timelines)}")
        if scale not in SCALES:
            raise UsageError(f"size must be one of {', '.join(map(str, SCALES))} (times the model's resolution), got {scale!r}")
        if batch_size < 1:
            raise UsageError(f"batch size must be at least 1, got {batch_size}")
        self.renderer = renderer
        self.grid = (cols, rows)
        self.fps = check_fps(timelines[0].fps if fps is None else fps)
        self.scale = scale
        self.positions = [t.positions(self.fps) for t in timelines]
        if any(not t.keyframes for t in timelines):
            raise UsageError("the timeline has no keyframes")
        counts = {len(p) for p in self.positions}
        if 0 in counts:
            raise UsageError(f"the timeline has no frames at {self.fps:g} fps (every segment is shorter than half a frame)")
        if len(counts) != 1:
            raise UsageError("every grid cell's timeline needs the same number of frames"
                             f" (got {', '.join(str(len(p)) for p in self.positions)})")
        self.frame_count = counts.pop()
        self.samplers = [TimelineSampler(renderer, t) for t in timelines]
        g = renderer.generator
        self.width = g.img_resolution * cols * scale
        self.height = g.img_resolution * rows * scale
        self.frames_per_chunk = max(1, batch_size // len(timelines))
        self.batch_size = batch_size

    def chunks(self, start: int = 0) -> Iterator[list[np.ndarray]]:
        """Yield the frames ([H, W, C] uint8) in chunks of ``frames_per_chunk``, from frame ``start``."""
        for first in range(start, self.frame_count, self.frames_per_chunk):
            last = min(first + self.frames_per_chunk, self.frame_count)
            yield self.render_range(first, last)

    def render_range(self, first: int, last: int) -> list[np.ndarray]:
        """Frames ``first`` .. ``last - 1``, tiled and scaled."""
        cells = len(self.samplers)
        jobs: list[tuple[int, int, Frame]] = []  # (frame offset, cell, frame)
        for cell, (sampler, positions) in enumerate(zip(self.samplers, self.positions)):
            for offset, frame in enumerate(sampler.sample(positions[first:last])):
                jobs.append((offset, cell, frame))
        jobs.sort(key=lambda job: (job[0], job[1]))  # frame-major, so batches follow the video's order
        pixels: list[list[np.ndarray | None]] = [[None] * cells for _ in range(last - first)]
        for batch in self._batches(jobs):
            images = to_uint8(self.renderer.synthesize(torch.stack([f.wplus for _, _, f in batch]), batch[0][2].settings))
            for (offset, cell, _), image in zip(batch, images):
                pixels[offset][cell] = image
        cols, rows = self.grid
        out = []
        for cell_images in pixels:
            image = cell_images[0] if cells == 1 else tile(np.stack(cell_images), cols, rows)
            out.append(np.ascontiguousarray(upscale_nearest(image, self.scale)))
        return out

    def _batches(self, jobs: list[tuple[int, int, Frame]]) -> Iterator[list[tuple[int, int, Frame]]]:
        """Group jobs into synthesis calls: keyframes and 'random' noise alone, others by equal settings."""
        groups: dict[tuple, list] = {}
        for job in jobs:
            frame = job[2]
            if frame.keyframe is not None or frame.settings.noise_mode == "random":
                yield [job]
                continue
            group = groups.setdefault(frame.settings_key, [])
            group.append(job)
            if len(group) == self.batch_size:
                yield groups.pop(frame.settings_key)
        yield from groups.values()
