"""``explorer grid``: a contact sheet of seeds, each tile labelled with its seed, the sheet's recipe embedded.

    explorer grid --seeds 0-99 --cols 10 --trunc 0.7 --output sheet.png

Every tile is the image ``explorer generate`` writes for that seed with the same flags (--trunc, --edit,
--set, --state, ...; --state also takes one favourite, FILE#NAME). Opening the sheet in the window gives its settings back, with seed A at the first seed.
"""

from __future__ import annotations

from pathlib import Path

from explorer.cli.common import (
    add_device_arg,
    add_network_arg,
    add_state_args,
    check_writable,
    command_state,
    parse_int_list,
    pick_device,
    resolve_network,
)
from explorer.cli.directions import parse_edit
from explorer.engine.contact_sheet import contact_sheet, sheet_state
from explorer.engine.favourites import favourites_in, fit_favourite
from explorer.engine.jobs import text_progress
from explorer.engine.recipe import recipe_for, write_png
from explorer.engine.render import Renderer
from explorer.engine.state import State
from explorer.errors import UsageError
from explorer.formats import load_model

MAX_TILES = 10_000  # a 100 x 100 sheet of 256 px tiles is already a 2.5 gigapixel picture


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("grid", help="contact sheet of seeds with their numbers", description=__doc__)
    add_network_arg(parser)
    parser.add_argument("--seeds", required=True, help="seed list, e.g. 0-99 or 3,17,200-209")
    parser.add_argument("--cols", type=int, default=10, help="tiles per row (default 10)")
    add_state_args(parser)
    parser.add_argument("--edit", action="append", default=[], metavar="D.npz:INDEX[@ROWS]=AMOUNT",
                        help="move along a latent direction by AMOUNT sigmas, as `generate --edit` (repeatable)")
    parser.add_argument("--batch", type=int, default=1,
                        help="seeds synthesized together (default 1: tiles identical to `generate`; larger "
                             "batches are faster on a GPU and may differ by 1/255 in a few pixels)")
    parser.add_argument("--output", type=Path, required=True, help="PNG to write")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    add_device_arg(parser)
    parser.set_defaults(func=run)


def favourite_state(reference, model) -> State | None:
    """The state of the one favourite a --state FILE#NAME names (fitted to ``model``); None for a state file."""
    favourites = favourites_in(reference) if reference else None
    if favourites is None:
        return None
    if len(favourites) != 1:
        raise UsageError(f"--state {reference}: a sheet shows one favourite's settings; pick one with FILE#NAME")
    fitted = fit_favourite(favourites[0], model.generator, model.sha256)
    for note in fitted.notes:
        print(f"note: {note}")
    return fitted.state


def run(args) -> int:
    seeds = parse_int_list(args.seeds)
    if len(seeds) > MAX_TILES:
        raise UsageError(f"--seeds {args.seeds}: {len(seeds)} tiles is too many for one sheet (at most {MAX_TILES})")
    if args.cols < 1:
        raise UsageError(f"--cols {args.cols}: a sheet needs at least one column")
    if args.batch < 1:
        raise UsageError(f"--batch {args.batch}: must be at least 1")
    check_writable(args.output, args.force)
    model = load_model(resolve_network(args.network), pick_device(args.device))
    g = model.generator
    edits = tuple(parse_edit(text, g) for text in args.edit)
    state = command_state(args, g, favourite_state(args.state, model), edits)
    sheet = contact_sheet(Renderer(model), state, seeds, args.cols, args.batch, ctx=text_progress())
    write_png(args.output, sheet, recipe_for(sheet_state(state, seeds), model))
    rows = -(-len(seeds) // min(args.cols, len(seeds)))
    print(f"{args.output}: {len(seeds)} seeds, {min(args.cols, len(seeds))} x {rows} tiles")
    return 0
