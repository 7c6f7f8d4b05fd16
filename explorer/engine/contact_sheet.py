"""Contact sheets: one picture of many seeds rendered with the same settings, each seed under its tile.

This is the artist's "generate 500 and look" habit in one file. Tiles are the model's images at full
resolution (so a tile is exactly what ``explorer generate`` writes for that seed), laid out row by row
with a strip under each tile for its seed number. The sheet's PNG recipe is the state with seed A set to
the first seed: opening the sheet in the window gives the settings back, ready to try the seeds it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer.engine.jobs import JobContext
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State

BACKGROUND = 24  # dark grey behind the labels and the empty cells of the last row
LABEL_COLOUR = 230
LABEL_PADDING = 3  # pixels above and below the seed number


@lru_cache(maxsize=1)
def label_font() -> ImageFont.ImageFont:
    """Pillow's built-in font: always present, so a sheet looks the same on every machine."""
    return ImageFont.load_default()


def label_height() -> int:
    """Height of the strip under each tile: the tallest digit plus padding."""
    left, top, right, bottom = label_font().getbbox("0123456789")
    return bottom + 2 * LABEL_PADDING


@dataclass(frozen=True)
class SheetLayout:
    """Where each tile of a sheet lies: ``cols`` x ``rows`` cells of a tile with its label strip under it."""

    cols: int
    rows: int
    tile_width: int
    tile_height: int
    label_height: int

    @property
    def cell_height(self) -> int:
        return self.tile_height + self.label_height

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the whole sheet in pixels."""
        return self.cols * self.tile_width, self.rows * self.cell_height

    def tile_box(self, index: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of tile ``index`` (row by row), excluding its label."""
        row, col = divmod(index, self.cols)
        left, top = col * self.tile_width, row * self.cell_height
        return left, top, left + self.tile_width, top + self.tile_height


def sheet_layout(count: int, cols: int, tile_width: int, tile_height: int) -> SheetLayout:
    """The layout of ``count`` tiles in ``cols`` columns (fewer columns when there are fewer tiles)."""
    if count < 1 or cols < 1:
        raise ValueError("a contact sheet needs at least one tile and one column")
    cols = min(cols, count)
    return SheetLayout(cols, -(-count // cols), tile_width, tile_height, label_height())


def sheet_state(state: State, seeds: Sequence[int]) -> State:
    """The state a sheet's recipe carries: its settings with seed A at the first seed shown."""
    return state.replace(a=Latent(seed=seeds[0]))


def contact_sheet(renderer: Renderer, state: State, seeds: Sequence[int], cols: int, batch: int = 1,
                  ctx: JobContext | None = None) -> np.ndarray:
    """[H, W, C] uint8 sheet of ``state`` rendered for each seed as seed A, labelled with the seeds.

    ``batch`` is passed to ``Renderer.render_seeds`` (1: tiles identical to single renders).
    """
    ctx = ctx or JobContext()
    seeds = list(seeds)
    sheet = None
    layout = None
    for index, (seed, image) in enumerate(renderer.render_seeds(state, seeds, batch)):
        if sheet is None:
            layout = sheet_layout(len(seeds), cols, image.shape[1], image.shape[0])
            sheet = _blank_sheet(layout, image.shape[2])
        left, top, right, bottom = layout.tile_box(index)
        sheet[top:bottom, left:right] = image
        _draw_label(sheet, str(seed), left, bottom, layout)
        ctx.progress((index + 1) / len(seeds), f"seed {seed} ({index + 1}/{len(seeds)})")
        ctx.check()
    return sheet


def _blank_sheet(layout: SheetLayout, channels: int) -> np.ndarray:
    width, height = layout.size
    sheet = np.full((height, width, channels), BACKGROUND, np.uint8)
    if channels == 4:
        sheet[..., 3] = 255  # an opaque background under the labels
    return sheet


def _draw_label(sheet: np.ndarray, text: str, left: int, top: int, layout: SheetLayout) -> None:
    """``text`` centred in the strip below a tile (drawn as a mask, so it works for any channel count)."""
    mask = Image.new("L", (layout.tile_width, layout.label_height), 0)
    draw = ImageDraw.Draw(mask)
    x0, _, x1, _ = draw.textbbox((0, 0), text, font=label_font())
    draw.text(((layout.tile_width - (x1 - x0)) // 2 - x0, LABEL_PADDING), text, fill=255, font=label_font())
    alpha = np.asarray(mask, np.float32)[..., None] / 255.0
    strip = sheet[top:top + layout.label_height, left:left + layout.tile_width]
    colour = np.full(strip.shape, LABEL_COLOUR, np.float32)
    if strip.shape[-1] == 4:
        colour[..., 3] = 255
    strip[:] = np.round(strip * (1 - alpha) + colour * alpha).astype(np.uint8)
