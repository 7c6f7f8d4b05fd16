"""Style rows as the artist sees them: which layers each W+ row drives, and the coarse / middle / fine groups.

Qt-free so that the CLI (``explorer mix --coarse-from-b``, ``explorer info``) can use the same grouping as
the window's "Style layers" panel.

Grouping rule. Karras et al. call 4-8 px "coarse", 16-32 px "middle" and 64-1024 px "fine" for a 1024 px
model: of its nine resolution levels (4, 8, ..., 1024) the first two are coarse, the next two middle and
the rest fine. Any model is split the same way on its own ladder of n levels: coarse and middle get
ceil(2n/9) levels each and fine the rest, and every group keeps at least one level where n allows. So
1024, 512, 256 and 128 px models keep the paper's 4-8 / 16-32 / 64+ split, a 64 px model gets 4-8 / 16-32 /
64 (rows 0-2 / 3-6 / 7-9 for the bundled model), a 32 px model 4 / 8 / 16-32.
StyleGAN3 rows use each layer's sampling rate (its resolution without the margin) when known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GROUPS = ("coarse", "middle", "fine")


@dataclass(frozen=True)
class StyleRow:
    """One row of W+: its index, the layers it styles, the resolution it mostly drives, and its group."""

    index: int
    layers: tuple[str, ...]
    resolution: int
    group: str


def _row_resolution(infos) -> int:
    """The resolution a row drives: the largest among its layers (a row shared by b4.torgb and b8.conv0
    is an 8 px row), using the sampling rate where a layer has one (SG3 margins excluded)."""
    return max(int(i.sampling_rate or i.resolution) for i in infos)


def _main_layers(infos) -> tuple[str, ...]:
    """Layer names of a row, convolutions first (toRGB layers only say the colour of the level)."""
    convs = [i.name for i in infos if "torgb" not in i.name.lower()]
    rgbs = [i.name for i in infos if "torgb" in i.name.lower()]
    return tuple(convs + rgbs)


def group_of(resolution: int, r_min: int, r_max: int) -> str:
    """The group of a row driving ``resolution`` on a model whose rows span r_min..r_max (see the module)."""
    levels = round(math.log2(r_max) - math.log2(r_min)) + 1
    level = round(math.log2(resolution) - math.log2(r_min))
    share = math.ceil(2 * levels / 9)
    coarse = min(share, max(levels - 1, 1))
    middle = min(share, max(levels - coarse - 1, 0))
    if level < coarse:
        return "coarse"
    if level < coarse + middle:
        return "middle"
    return "fine"


def style_rows(layer_infos, num_ws: int) -> list[StyleRow]:
    """One ``StyleRow`` per W+ index 0..num_ws-1 from a generator's ``layer_infos()``.

    Rows that no layer lists (should not happen) inherit the resolution of the row before them.
    """
    by_row: dict[int, list] = {}
    for info in layer_infos:
        if 0 <= info.w_index < num_ws:
            by_row.setdefault(info.w_index, []).append(info)
    resolutions: list[int] = []
    for i in range(num_ws):
        infos = by_row.get(i)
        resolutions.append(_row_resolution(infos) if infos else (resolutions[-1] if resolutions else 4))
    r_min, r_max = min(resolutions), max(resolutions)
    return [
        StyleRow(i, _main_layers(by_row.get(i, [])), resolutions[i], group_of(resolutions[i], r_min, r_max))
        for i in range(num_ws)
    ]


def rows_in_group(rows: list[StyleRow], group: str) -> list[int]:
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    return [r.index for r in rows if r.group == group]
