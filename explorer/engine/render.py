"""(model, state) -> image. The one rendering path shared by the CLI, the window and the video renderer."""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
import torch

from explorer.engine.blend import StateBlend
from explorer.engine.images import to_uint8
from explorer.engine.latents import MappingCache, state_wplus
from explorer.engine.state import Latent, State
from explorer.formats import Model


def input_transform(translate: tuple[float, float], rotate_deg: float) -> torch.Tensor:
    """The matrix that goes into ``synthesis.input.transform`` for a user translate (image widths) and
    rotate (degrees): the inverse of [[cos a, sin a, tx], [-sin a, cos a, ty], [0, 0, 1]], as gen_images.py."""
    a = math.radians(rotate_deg)
    m = np.array(
        [[math.cos(a), math.sin(a), translate[0]], [-math.sin(a), math.cos(a), translate[1]], [0.0, 0.0, 1.0]]
    )
    return torch.from_numpy(np.linalg.inv(m)).float()


class Renderer:
    """Renders states with one model, keeping the mapping cache warm between calls.

    A state with a ``blend`` renders with a blended copy of the model (explorer/engine/blend.py): model B
    is opened on the first such state and kept; a changed curve is lerped in place.

    Not thread-safe: the window gives one renderer to its render worker thread.
    """

    def __init__(self, model: Model):
        self.model = model
        self.generator = model.generator
        self.mapping_cache = MappingCache(self.generator)
        self._blend: StateBlend | None = None

    def _blended(self, state: State) -> StateBlend | None:
        """The blend of ``state``, opening its model B if it is not the one held (a failure keeps the old)."""
        if state.blend is None:
            return None
        if self._blend is None or not self._blend.serves(state.blend):
            self._blend = StateBlend(self.model, state.blend)
        return self._blend

    def open_blend(self, state: State) -> StateBlend | None:
        """Open and keep ``state``'s model B ahead of rendering (the window checks a new B this way)."""
        return self._blended(state)

    @property
    def device(self) -> torch.device:
        return self.generator.mapping.w_avg.device

    def wplus(self, state: State) -> torch.Tensor:
        """[num_ws, w_dim] W+ of a state."""
        blended = self._blended(state)
        from_b = blended is not None and state.blend.mapping == "b"
        return state_wplus(blended.mapping_cache_b if from_b else self.mapping_cache, state)

    def synthesize(self, wplus: torch.Tensor, state: State) -> torch.Tensor:
        """W+ [N, num_ws, w_dim] -> float image [N, C, H, W], with ``state``'s noise and transform."""
        blended = self._blended(state)
        g = self.generator if blended is None else blended.apply(state.blend)
        transform = None
        if g.has_input_transform and state.has_transform:
            transform = input_transform(state.translate, state.rotate).to(self.device)
        noise_generator = None
        if state.noise_mode == "random":
            noise_generator = torch.Generator(device=self.device).manual_seed(state.noise_seed)
        with torch.inference_mode():
            return g.synthesis(
                wplus.to(self.device),
                noise_mode=state.noise_mode,
                noise_strength=state.noise_strength,
                noise_generator=noise_generator,
                input_transform=transform,
            )

    def render_float(self, state: State) -> torch.Tensor:
        """[1, C, H, W] float image of a state."""
        return self.synthesize(self.wplus(state)[None], state)

    def render(self, state: State) -> np.ndarray:
        """[H, W, C] uint8 image of a state."""
        return to_uint8(self.render_float(state))[0]

    def render_seeds(self, state: State, seeds: Sequence[int], batch: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """``state`` with seed A set to each of ``seeds``: (seed, [H, W, C] uint8) pairs, ``batch`` at a time.

        Each batch is mapped in one call (into the mapping cache, so seeds seen before cost nothing) and
        synthesized in one call. ``batch=1`` gives exactly the pixels of ``render``; larger batches are
        faster on a GPU but torch sums in another order, so a few pixels may differ by 1/255. Random noise
        always goes one image at a time: each image must draw the noise its own render would.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        if state.noise_mode == "random":
            batch = 1
        seeds = list(seeds)
        for start in range(0, len(seeds), batch):
            chunk = seeds[start:start + batch]
            self.mapping_cache.prefetch(chunk, state.class_idx)
            wplus = torch.stack([self.wplus(state.replace(a=Latent(seed=seed))) for seed in chunk])
            yield from zip(chunk, to_uint8(self.synthesize(wplus, state)))
