"""``explorer generate``: images for seeds (or projected W+), as NVIDIA's gen_images.py writes them.

Every PNG carries its recipe (state JSON, model name and sha256), so it can be reopened in the window.
``--state`` takes a state, or a favourites file (every favourite as favNNN-NAME.png, or ``FILE#NAME`` for one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer.cli.common import (
    add_device_arg,
    add_network_arg,
    add_state_args,
    check_writable,
    command_state,
    pick_device,
    resolve_network,
)
from explorer.engine.seeds import parse_int_list
from explorer.cli.directions import parse_edit
from explorer.engine.images import to_uint8, to_uint16
from explorer.engine.favourites import favourites_in, file_stem, fit_favourite
from explorer.engine.latents import load_wplus_file
from explorer.engine.recipe import recipe_for, write_png
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.errors import UsageError
from explorer.fileio import atomic_write
from explorer.formats import load_model


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("generate", help="render images for seeds or W+ files", description=__doc__)
    add_network_arg(parser)
    parser.add_argument("--seeds", help="seed list, e.g. 0-3,7")
    add_state_args(parser)
    parser.add_argument("--projected-w", type=Path, help="W+ file (projected_w.npz or .npy): writes projNN.png")
    parser.add_argument("--edit", action="append", default=[], metavar="D.npz:INDEX[@ROWS]=AMOUNT",
                        help="move along a latent direction by AMOUNT sigmas, on ROWS (e.g. 0-5; default the "
                             "direction's own rows); repeatable")
    parser.add_argument("--save-ws", action="store_true", help="also write seedNNNN.npy (float32 [num_ws, w_dim])")
    parser.add_argument("--bit-depth", type=int, choices=(8, 16), default=8, help="PNG bit depth (default 8)")
    parser.add_argument("--outdir", type=Path, required=True, help="output folder")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    add_device_arg(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.seeds is None and args.projected_w is None and args.state is None:
        raise UsageError("give --seeds, --projected-w or --state")
    model = load_model(resolve_network(args.network), pick_device(args.device))
    g = model.generator
    favourites = favourites_in(args.state) if args.state else None
    if favourites is not None and (args.seeds is not None or args.projected_w is not None):
        raise UsageError(f"--state {args.state} is a favourites file: it renders its favourites, "
                         "so leave out --seeds and --projected-w")
    edits = tuple(parse_edit(text, g) for text in args.edit)

    jobs: list[tuple[str, State]] = []
    if favourites is not None:
        for number, favourite in enumerate(favourites):
            fitted = fit_favourite(favourite, g, model.sha256)
            for note in fitted.notes:
                print(f"note: {note}")
            jobs.append((f"fav{number:03d}-{file_stem(favourite.name)}", command_state(args, g, fitted.state, edits)))
    else:
        state = command_state(args, g, edits=edits)
        if state.has_transform and not g.has_input_transform:
            print("note: this model has no input transform; the state's translate/rotate are ignored")
        if args.projected_w is not None:
            for i, w in enumerate(load_wplus_file(args.projected_w)):
                jobs.append((f"proj{i:02d}", state.replace(a=Latent(w_plus=w.tolist()), mix=())))
        if args.seeds is not None:
            jobs += [(f"seed{seed:04d}", state.replace(a=Latent(seed=seed))) for seed in parse_int_list(args.seeds)]
        elif args.projected_w is None:
            jobs.append((f"seed{state.a.seed:04d}", state))

    for name, _ in jobs:
        check_writable(args.outdir / f"{name}.png", args.force)
        if args.save_ws:
            check_writable(args.outdir / f"{name}.npy", args.force)
    renderer = Renderer(model)
    warned = set()
    for _, job_state in jobs:  # a blend with an unrelated model renders, but is meaningless: say so once
        blended = renderer.open_blend(job_state)
        warning = blended.ancestry_warning() if blended is not None and blended.source not in warned else None
        if blended is not None:
            warned.add(blended.source)
        if warning:
            print(f"note: {warning}")
    for name, job_state in jobs:
        image = renderer.render_float(job_state)
        pixels = to_uint16(image)[0] if args.bit_depth == 16 else to_uint8(image)[0]
        write_png(args.outdir / f"{name}.png", pixels, recipe_for(job_state, model))
        if args.save_ws:
            with atomic_write(args.outdir / f"{name}.npy") as handle:
                np.save(handle, renderer.wplus(job_state).cpu().numpy().astype(np.float32))
        print(f"{args.outdir / name}.png")
    return 0
