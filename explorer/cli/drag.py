"""``explorer drag``: DragGAN point dragging from the command line (see docs/drag.md).

Starts from a seed (with any state flags: --trunc, --set mix/3=1, ...), a --state file or a W+ file
(--projected-w), drags each --handle toward its --target (pixels of the model's image; pairs in order) and
writes into --outdir: drag.png (the result, with its recipe: it reopens in the window exactly),
projected_w.npz (its W+, NVIDIA's layout) and drag.mp4 (one frame per step; --video gives another name or
format, --no-video none). Never overwrites without --force.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from explorer.cli.common import (
    add_device_arg,
    add_network_arg,
    add_state_args,
    check_class,
    check_writable,
    class_given,
    parse_pair,
    pick_device,
    resolve_network,
    state_from_args,
)
from explorer.engine.drag import STEP_VIDEO_FPS, DragSpec, drag, dragged_state, step_frame
from explorer.engine.images import watchable_factor
from explorer.engine.jobs import text_progress
from explorer.engine.latents import load_wplus_file, save_wplus_npz
from explorer.engine.recipe import recipe_for, write_png
from explorer.engine.render import Renderer
from explorer.engine.state import MAX_SEED, Latent
from explorer.errors import UsageError
from explorer.formats import load_model
from explorer.video.encoders import format_of, open_writer



def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("drag", help="move image content by dragging points (DragGAN)",
                                   description=__doc__)
    add_network_arg(parser)
    parser.add_argument("--seed", type=int, help="start from this seed (default: the --state's, else 0)")
    parser.add_argument("--projected-w", type=Path, help="start from a W+ file (projected_w.npz or .npy; the first latent)")
    add_state_args(parser)
    parser.add_argument("--handle", action="append", default=[], metavar="X,Y", required=True,
                        help="a point to move, in pixels of the model's image (repeatable)")
    parser.add_argument("--target", action="append", default=[], metavar="X,Y", required=True,
                        help="where the handle of the same position in the list should go (repeatable)")
    parser.add_argument("--mask", type=Path, metavar="MASK.png",
                        help="image the size of the model's: white where the image may change (default everywhere)")
    parser.add_argument("--steps", type=int, default=200, help="most optimiser steps (default 200)")
    parser.add_argument("--rows", type=int, help="leading W+ rows to optimise (default min(6, rows))")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default 0.002 x 512 / image size, at least 0.002)")
    parser.add_argument("--outdir", type=Path, required=True, help="output folder")
    parser.add_argument("--video", default="drag.mp4", metavar="NAME",
                        help="step video in --outdir: .mp4, .webm, .gif, or a folder name for PNG frames (default drag.mp4)")
    parser.add_argument("--no-video", action="store_true", help="write no step video")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    add_device_arg(parser)
    parser.set_defaults(func=run)


def read_mask(path: Path) -> np.ndarray:
    """A mask image as bool [H, W]: True where it is brighter than mid-grey (alpha counts as dark)."""
    try:
        with Image.open(path) as image:
            image.load()
            grey = np.asarray(image.convert("LA"), dtype=np.float32)
    except FileNotFoundError:
        raise UsageError(f"{path}: mask file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UsageError(f"{path}: not a readable mask image ({' '.join(str(exc).split())})") from None
    return grey[..., 0] * (grey[..., 1] / 255) > 127.5


def run(args) -> int:
    if len(args.handle) != len(args.target):
        raise UsageError(f"give one --target per --handle (got {len(args.handle)} handles, {len(args.target)} targets)")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed} is out of range 0..{MAX_SEED}")
    model = load_model(resolve_network(args.network), pick_device(args.device))
    g = model.generator
    state = state_from_args(args, g)
    check_class(g, state, class_given(args))
    if args.projected_w is not None:
        state = state.replace(a=Latent(w_plus=load_wplus_file(args.projected_w)[0].tolist()), mix=())
    elif args.seed is not None:
        state = state.replace(a=Latent(seed=args.seed))
    mask = None
    if args.mask is not None:
        mask = read_mask(args.mask)
        if mask.shape != (g.img_resolution, g.img_resolution):
            raise UsageError(f"{args.mask}: the mask is {mask.shape[1]}x{mask.shape[0]}, the model's images are "
                             f"{g.img_resolution}x{g.img_resolution}")
    spec = DragSpec(handles=tuple(parse_pair(t, "--handle") for t in args.handle),
                    targets=tuple(parse_pair(t, "--target") for t in args.target),
                    mask=mask, steps=args.steps, rows=args.rows, lr=args.lr)
    spec.check((g.img_resolution, g.img_resolution))

    image_path, w_path = args.outdir / "drag.png", args.outdir / "projected_w.npz"
    for path in (image_path, w_path):
        check_writable(path, args.force)
    video_path = None if args.no_video else args.outdir / args.video
    video_format = None if video_path is None else format_of(video_path)
    args.outdir.mkdir(parents=True, exist_ok=True)
    writer = None
    if video_path is not None:
        size = g.img_resolution * watchable_factor(g.img_resolution)
        writer = open_writer(video_path, video_format, STEP_VIDEO_FPS, size, size, overwrite=args.force)
    on_preview = None if writer is None else (lambda step: writer.write(step_frame(step, spec.targets)))
    renderer = Renderer(model)
    try:
        result = drag(text_progress(on_preview=on_preview), renderer, state, spec)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.finish()
    new_state = dragged_state(state, result, spec)
    # rendered as any state is (not the drag's own last image), so that the recipe reopens to these pixels
    write_png(image_path, renderer.render(new_state), recipe_for(new_state, model))
    save_wplus_npz(w_path, result.wplus)
    ends = " ".join(f"{x:g},{y:g}" for x, y in result.handles)
    print(f"{'reached' if result.reached else 'stopped'} after {result.steps} steps; handles at {ends}")
    for path in (image_path, w_path, video_path):
        if path is not None:
            print(path)
    return 0
