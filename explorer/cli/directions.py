"""``explorer directions``: find latent directions (SeFa, PCA, example seeds), import other tools' files,
and render a grid of directions x amounts.

    explorer directions sefa --layers 0-5 --output D.npz
    explorer directions pca --samples 100000 --components 20 --output D.npz
    explorer directions examples --positive 1,5,9 --negative 2,4,8 --output D.npz
    explorer directions import factor.pt --output D.npz
    explorer directions grid --directions D.npz --seeds 0-3 --amounts -3,0,3 --output grid.png
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from explorer.cli.common import (add_device_arg, add_network_arg, check_class, check_writable, parse_int_list,
                                 pick_device, resolve_network)
from explorer.engine.directions import (example_direction, import_directions, load_directions, pca_directions,
                                        save_directions, sefa_directions)
from explorer.engine.images import tile, to_uint8
from explorer.engine.jobs import text_progress
from explorer.engine.recipe import recipe_for, write_png
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.errors import UsageError
from explorer.formats import load_model


def parse_rows(text: str) -> tuple[int, int]:
    """'0-5' -> (0, 5); '3' -> (3, 3) (inclusive W+ rows)."""
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise UsageError(f"bad row range {text!r}: expected FIRST-LAST, e.g. 0-5") from None


def parse_edit(text: str, generator):
    """``D.npz:INDEX[@ROWS]=AMOUNT`` (amount in sigma) -> the state ``Edit`` it names, checked against the model."""
    spec, equals, amount_text = text.rpartition("=")
    path_text, colon, selection = spec.rpartition(":")
    index_text, _, rows_text = selection.partition("@")
    if not equals or not colon or not path_text:
        raise UsageError(f"--edit {text!r}: expected FILE.npz:INDEX[@ROWS]=AMOUNT, e.g. D.npz:0@0-5=2")
    try:
        index, amount = int(index_text), float(amount_text)
    except ValueError:
        raise UsageError(f"--edit {text!r}: INDEX must be an integer and AMOUNT a number") from None
    dset = load_directions(path_text, generator)
    if not 0 <= index < len(dset):
        raise UsageError(f"--edit {text!r}: {Path(path_text).name} has directions 0-{len(dset) - 1}")
    rows = parse_rows(rows_text) if rows_text else None
    if rows is not None and not 0 <= rows[0] <= rows[1] < generator.num_ws:
        raise UsageError(f"--edit {text!r}: rows {rows_text} are outside the model's rows 0-{generator.num_ws - 1}")
    return dset.edit(index, amount, rows)


def parse_float_list(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"bad {what} list {text!r}: expected numbers separated by commas") from None
    if not values:
        raise UsageError(f"empty {what} list {text!r}")
    return values


def _common(parser, output_help: str) -> None:
    add_network_arg(parser)
    parser.add_argument("--output", type=Path, required=True, help=output_help)
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    add_device_arg(parser)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("directions", help="find, import and preview latent directions",
                                   description=__doc__)
    methods = parser.add_subparsers(dest="method", metavar="METHOD", required=True)
    set_help = "direction file to write (.npz)"

    sefa = methods.add_parser("sefa", help="closed-form factorization of the style weights (SeFa)")
    _common(sefa, set_help)
    sefa.add_argument("--layers", default=None, help="W+ rows whose layers are factorized, e.g. 0-5 (default all)")
    sefa.add_argument("--components", type=int, default=None, help="how many vectors to keep (default w_dim)")
    sefa.set_defaults(func=run_sefa)

    pca = methods.add_parser("pca", help="principal components of mapped W (GANSpace)")
    _common(pca, set_help)
    pca.add_argument("--samples", type=int, default=100_000, help="mapped samples (default 100000)")
    pca.add_argument("--components", type=int, default=20, help="components to keep (default 20)")
    pca.add_argument("--seed", type=int, default=0, help="random seed of the samples (default 0)")
    pca.set_defaults(func=run_pca)

    examples = methods.add_parser("examples", help="mean w of positive seeds minus that of negative seeds")
    _common(examples, set_help)
    examples.add_argument("--positive", required=True, help="seeds that show the attribute, e.g. 1,5,9")
    examples.add_argument("--negative", required=True, help="seeds that do not, e.g. 2,4,8")
    examples.add_argument("--name", default="examples", help="name of the direction")
    examples.add_argument("--class", dest="class_idx", type=int, default=0, help="class for conditional models")
    examples.add_argument("--orthogonal-to", type=Path, help="direction file to make this direction orthogonal to")
    examples.set_defaults(func=run_examples)

    imports = methods.add_parser("import", help="GANSpace .npz, InterFaceGAN / plain .npy, rosinality factor.pt")
    imports.add_argument("file", type=Path, help="the file to import")
    _common(imports, set_help)
    imports.add_argument("--layers", default=None, help="default W+ rows of the vectors (default all)")
    imports.set_defaults(func=run_import)

    grid = methods.add_parser("grid", help="sheet of seeds x directions x amounts (with its recipe)")
    _common(grid, "PNG to write")
    grid.add_argument("--directions", type=Path, required=True, help="direction file (.npz)")
    grid.add_argument("--indices", default=None, help="which directions (default all, at most 16)")
    grid.add_argument("--seeds", default="0", help="seeds, one block of rows each (default 0)")
    grid.add_argument("--amounts", default="-3,0,3", help="amounts in sigma, the columns (default -3,0,3)")
    grid.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default 1)")
    grid.add_argument("--class", dest="class_idx", type=int, default=None,
                      help="class of every tile (conditional models; required there)")
    # argparse takes "-3,0,3" for an option (only "-3" looks like a number to it); let number lists through.
    grid._negative_number_matcher = re.compile(r"^-\d[\d.,-]*$")
    grid.set_defaults(func=run_grid)


def _model(args):
    return load_model(resolve_network(args.network), pick_device(args.device))


def _save(args, dset) -> int:
    save_directions(args.output, dset, overwrite=True)
    print(f"{args.output}: {len(dset)} directions ({dset.method}), hash {dset.content_hash[:12]}")
    return 0


def run_sefa(args) -> int:
    check_writable(args.output, args.force)
    model = _model(args)
    rows = parse_rows(args.layers) if args.layers else (0, model.generator.num_ws - 1)
    return _save(args, sefa_directions(model, rows, args.components, ctx=text_progress()))


def run_pca(args) -> int:
    check_writable(args.output, args.force)
    return _save(args, pca_directions(_model(args), args.samples, args.components, args.seed, text_progress()))


def run_examples(args) -> int:
    check_writable(args.output, args.force)
    model = _model(args)
    others = load_directions(args.orthogonal_to, model.generator).vectors if args.orthogonal_to else None
    return _save(args, example_direction(model, parse_int_list(args.positive), parse_int_list(args.negative),
                                         args.name, args.class_idx, others, ctx=text_progress()))


def run_import(args) -> int:
    check_writable(args.output, args.force)
    model = _model(args)
    rows = parse_rows(args.layers) if args.layers else None
    return _save(args, import_directions(args.file, model, rows, ctx=text_progress()))


def run_grid(args) -> int:
    check_writable(args.output, args.force)
    model = _model(args)
    g = model.generator
    dset = load_directions(args.directions, g)
    indices = parse_int_list(args.indices, "direction", 0, len(dset) - 1) if args.indices else list(range(len(dset)))
    if len(indices) > 16:
        raise UsageError(f"{len(indices)} directions is too many for one sheet: choose at most 16 with --indices")
    seeds, amounts = parse_int_list(args.seeds), parse_float_list(args.amounts, "amount")
    base = State(psi=args.trunc, class_idx=args.class_idx or 0)
    check_class(g, base, args.class_idx is not None)
    renderer = Renderer(model)
    tiles = []
    for seed in seeds:
        for index in indices:
            for amount in amounts:
                state = base.replace(a=Latent(seed=seed), edits=(dset.edit(index, amount),))
                tiles.append(to_uint8(renderer.render_float(state))[0])
    sheet = tile(np.stack(tiles), len(amounts), len(seeds) * len(indices))
    # The sheet's recipe: the first seed with every shown direction as a slider at 0, ready to explore.
    recipe_state = base.replace(a=Latent(seed=seeds[0]), edits=tuple(dset.edit(i) for i in indices))
    write_png(args.output, sheet, recipe_for(recipe_state, model))
    print(f"{args.output}: {len(seeds)} seeds x {len(indices)} directions x {len(amounts)} amounts")
    return 0
