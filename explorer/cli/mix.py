"""``explorer mix``: a style-mixing grid, as NVIDIA's style_mixing.py writes it.

Each body tile takes the row seed's W+ with the --styles rows copied from the column seed. Writes
``ROW-COL.png`` for every pair, ``S-S.png`` for every pure seed, and ``grid.png`` (column seeds along
the top, row seeds down the left, black corner).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer.cli.common import add_device_arg, add_network_arg, check_writable, pick_device, resolve_network
from explorer.engine.seeds import parse_int_list
from explorer.engine.images import tile, to_uint8
from explorer.engine.layers import GROUPS, rows_in_group, style_rows
from explorer.engine.recipe import recipe_for, write_png
from explorer.engine.render import Renderer
from explorer.engine.state import NOISE_MODES, Latent, State
from explorer.errors import UsageError
from explorer.formats import load_model


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("mix", help="style-mixing grid of row and column seeds", description=__doc__)
    add_network_arg(parser)
    parser.add_argument("--rows", required=True, help="row seeds (take all but --styles from these)")
    parser.add_argument("--cols", required=True, help="column seeds (give the --styles rows)")
    parser.add_argument("--styles", default="0-6",
                        help="W+ rows taken from the column seed: a list like 0-6 or a group coarse, middle, fine "
                             "or a sum like coarse+middle, as the window groups them (default 0-6)")
    parser.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default 1)")
    parser.add_argument("--class", dest="class_idx", type=int, default=0, help="class for conditional models")
    parser.add_argument("--noise-mode", choices=NOISE_MODES, default="const", help="noise inputs (default const)")
    parser.add_argument("--outdir", type=Path, required=True, help="output folder")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    add_device_arg(parser)
    parser.set_defaults(func=run)


def mix_state(row_seed: int, col_seed: int, styles: list[int], num_ws: int, base: State) -> State:
    """The state of one grid tile: A = row seed, B = column seed, the --styles rows fully from B."""
    return base.replace(a=Latent(seed=row_seed), b=Latent(seed=col_seed)).with_mix(num_ws, styles, 1.0)


def parse_styles(text: str, generator) -> list[int]:
    """``--styles``: row numbers ('0-6'), or the window's groups by name ('coarse', 'coarse+middle')."""
    names = [part.strip().lower() for part in text.split("+")]
    if not all(name in GROUPS for name in names):
        return parse_int_list(text, "style row", 0, generator.num_ws - 1)
    rows = style_rows(generator.layer_infos(), generator.num_ws)
    picked = sorted({i for name in names for i in rows_in_group(rows, name)})
    if not picked:
        raise UsageError(f"--styles {text}: this model has no {text} rows")
    return picked


def run(args) -> int:
    rows, cols = parse_int_list(args.rows), parse_int_list(args.cols)
    model = load_model(resolve_network(args.network), pick_device(args.device))
    g = model.generator
    styles = parse_styles(args.styles, g)
    if g.c_dim and not 0 <= args.class_idx < g.c_dim:
        raise UsageError(f"--class {args.class_idx} is out of range 0..{g.c_dim - 1}")
    base = State(psi=args.trunc, noise_mode=args.noise_mode, class_idx=args.class_idx)

    tiles = {(r, c): mix_state(r, c, styles, g.num_ws, base) for r in rows for c in cols}
    pure = {s: base.replace(a=Latent(seed=s)) for s in dict.fromkeys(rows + cols)}
    names = [f"{r}-{c}.png" for r, c in tiles] + [f"{s}-{s}.png" for s in pure] + ["grid.png"]
    for name in names:
        check_writable(args.outdir / name, args.force)

    renderer = Renderer(model)
    images: dict[object, np.ndarray] = {}
    for key, state in list(tiles.items()) + list(pure.items()):
        images[key] = renderer.render(state)
        name = f"{key[0]}-{key[1]}.png" if isinstance(key, tuple) else f"{key}-{key}.png"
        write_png(args.outdir / name, images[key], recipe_for(state, model))

    blank = np.zeros_like(images[rows[0]])
    cells = [blank] + [images[c] for c in cols]
    for r in rows:
        cells += [images[r]] + [images[(r, c)] for c in cols]
    write_png(args.outdir / "grid.png", tile(np.stack(cells), len(cols) + 1, len(rows) + 1))
    print(f"{args.outdir / 'grid.png'}: {len(rows)} x {len(cols)} mixes of rows {styles[0]}..{styles[-1]}")
    return 0
