"""``explorer video``: interpolation videos, as NVIDIA's gen_video.py makes them and more.

From seeds (gen_video's layout: with --grid WxH each cell walks through K = len(seeds) / (W*H) seeds;
--w-frames frames per transition), from a recipe (circle, noise loop, truncation sweep, spin), or from a
timeline saved by the window (--timeline). Writes .mp4 (H.264), .webm (VP9), .gif, or a folder of PNGs;
never overwrites without --force.

Frames: every transition has --w-frames frames, starting on its keyframe; without --loop one more frame,
the last keyframe, ends the video; with --loop the transition back to the first keyframe counts too and
the video repeats seamlessly. So a cell with K keyframes gives K * w_frames frames with --loop, else
(K - 1) * w_frames + 1. Frames on a keyframe are exactly what `explorer generate` renders for it.

Audio: --audio track.wav muxes the track into the MP4 / WebM, and each --map FEATURE:ADDRESS:LOW..HIGH
drives a parameter from the track's features (low, mid, high, rms, onset, chroma/0..11), frame by frame;
the video then lasts as long as the audio unless --duration is given (so `--seeds 0 --audio a.wav` alone
is a whole video). --save-timeline keeps the track and its mappings in the timeline, and a timeline that
carries them renders with them. See docs/live-control.md for the options of a mapping.
"""

from __future__ import annotations

import sys
from pathlib import Path

from explorer.cli.common import (
    add_device_arg,
    add_network_arg,
    add_state_args,
    check_class,
    class_given,
    pick_device,
    resolve_network,
    state_flags_given,
    state_from_args,
)
from explorer.engine.seeds import parse_int_list
from explorer.engine.render import Renderer
from explorer.engine.state import Latent
from explorer.errors import UsageError
from explorer.formats import load_model
from explorer.video import recipes
from explorer.video.easing import EASINGS
from explorer.video.encoders import check_codec, check_output, format_of
from explorer.video.export import Cancelled, Progress, export_video
from explorer.video.render import SCALES
from explorer.video.soundtrack import Soundtrack, soundtrack_from_text
from explorer.video.timeline import KINDS, Timeline, check_fps

RECIPES = ("walk", "circle", "noise-loop", "trunc-sweep", "spin")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("video", help="render an interpolation video (mp4, webm, gif, png frames)",
                                   description=__doc__)
    add_network_arg(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--seeds", help="keyframe seeds, e.g. 0-7 (gen_video.py's layout with --grid)")
    source.add_argument("--timeline", type=Path, metavar="T.json",
                        help="a timeline file, or a session saved by the window")
    parser.add_argument("--recipe", choices=RECIPES, default="walk",
                        help="with --seeds: walk through them (default); circle through 2-3 seeds; noise-loop, "
                             "trunc-sweep or spin (StyleGAN3) around the first seed")
    parser.add_argument("--grid", default="1x1", help="WxH cells, each walking its own seeds (default 1x1)")
    parser.add_argument("--num-keyframes", type=int, help="keyframes per cell (default len(seeds)/(W*H); seeds repeat)")
    parser.add_argument("--shuffle-seed", type=int, help="shuffle the seeds with this random seed first")
    parser.add_argument("--w-frames", type=int, default=120, help="frames per transition (default 120)")
    parser.add_argument("--kind", choices=KINDS, help="interpolation: linear (W), slerp (Z), cubic (default for --seeds)")
    parser.add_argument("--easing", choices=tuple(EASINGS), help="easing of every segment (default linear)")
    parser.add_argument("--loop", action="store_true", help="close the loop from the last keyframe to the first")
    add_state_args(parser)
    parser.add_argument("--fps", type=float, help="frames per second (default 60 with --seeds, else the timeline's)")
    parser.add_argument("--size", type=int, choices=SCALES, default=1, help="times the model's resolution, nearest")
    parser.add_argument("--crf", type=int, help="quality, lower is better (default 18 for mp4, 31 for webm)")
    parser.add_argument("--batch", type=int,
                        help="frames per synthesis call (default: 1 on the CPU, whose batch-1 path is fastest; 8 on a GPU)")
    parser.add_argument("--audio", type=Path, metavar="TRACK",
                        help="a sound file: muxed into the video, which lasts as long as it; --map drives parameters")
    parser.add_argument("--map", dest="maps", action="append", default=[], metavar="FEATURE:ADDRESS:LOW..HIGH",
                        help="with --audio: e.g. low:psi:0.5..1.2 or onset:edit/0/amount:0..3:ema=80 (repeatable)")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="with --audio: the video's length (default: the audio's)")
    parser.add_argument("--save-timeline", type=Path, metavar="T.json", help="also save the timeline built from --seeds")
    parser.add_argument("--output", type=Path, required=True, help="out.mp4, out.webm, out.gif, or a folder for PNGs")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    add_device_arg(parser)
    parser.set_defaults(func=run)


def parse_grid(text: str) -> tuple[int, int]:
    """'2x2' or '2,2' -> (columns, rows)."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        cols, rows = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--grid must be WxH, e.g. 2x2, got {text!r}") from None
    if not (1 <= cols <= 16 and 1 <= rows <= 16):
        raise UsageError(f"--grid {text}: each side must be 1..16")
    return cols, rows


def build_timelines(args, renderer: Renderer) -> tuple[list[Timeline], tuple[int, int]]:
    """The timelines (one per grid cell) that the arguments describe."""
    if args.timeline is not None:
        given = state_flags_given(args)
        if given or args.grid != "1x1" or args.recipe != "walk":
            flag = given[0] if given else "--grid/--recipe"
            raise UsageError(f"{flag} works with --seeds; with --timeline, edit the timeline instead")
        timeline = Timeline.load(args.timeline)
        changes = {}
        if args.kind:
            changes["kind"] = args.kind
        if args.loop:
            changes["loop"] = True
        if args.fps:
            changes["fps"] = args.fps
        if args.easing:
            changes["keyframes"] = tuple(k.replace(easing=args.easing) for k in timeline.keyframes)
        return [timeline.replace(**changes)], (1, 1)

    base = state_from_args(args, renderer.generator)
    check_class(renderer.generator, base, class_given(args))
    fps = check_fps(args.fps or 60.0)
    if args.w_frames < 1:
        raise UsageError(f"--w-frames must be at least 1, got {args.w_frames}")
    seconds = args.w_frames / fps
    seeds = parse_int_list(args.seeds)
    grid = parse_grid(args.grid)
    if args.recipe != "walk":
        if grid != (1, 1):
            raise UsageError(f"--recipe {args.recipe} makes one cell; drop --grid")
        state = base.replace(a=Latent(seed=seeds[0]))
        if args.recipe == "circle":
            timeline = recipes.circular_loop(renderer, seeds, state, seconds=seconds * 12, fps=fps)
        elif args.recipe == "noise-loop":
            timeline = recipes.noise_loop(renderer, seeds[0], state, seconds=seconds * 16, fps=fps)
        elif args.recipe == "trunc-sweep":
            timeline = recipes.truncation_sweep(state, psi_to=base.psi if args.trunc is not None else 1.0,
                                                seconds=seconds * 2, fps=fps)
        else:
            if not renderer.generator.has_input_transform:
                print("note: this model has no input transform; a spin shows a still image", file=sys.stderr)
            timeline = recipes.transform_animation(state, turns=1, seconds=seconds * 8, fps=fps)
        if args.kind:
            timeline = timeline.replace(kind=args.kind)
        if args.easing:
            timeline = timeline.replace(keyframes=tuple(k.replace(easing=args.easing) for k in timeline.keyframes))
        return [timeline], (1, 1)

    cells = recipes.grid_seeds(seeds, *grid, num_keyframes=args.num_keyframes, shuffle_seed=args.shuffle_seed)
    timelines = [recipes.seed_walk(cell, seconds, base, args.kind or "cubic", args.easing or "linear", args.loop, fps)
                 for cell in cells]
    return timelines, grid


def soundtrack_from_args(args) -> Soundtrack | None:
    if args.audio is None:
        if args.maps or args.duration is not None:
            raise UsageError(f"{'--map' if args.maps else '--duration'} needs --audio TRACK")
        return None
    return soundtrack_from_text(args.audio, args.maps, args.duration)


def run(args) -> int:
    fmt = format_of(args.output)
    check_codec(fmt)
    check_output(args.output, fmt, args.force)  # before the model loads: fail fast
    soundtrack = soundtrack_from_args(args)
    model = load_model(resolve_network(args.network), pick_device(args.device))
    renderer = Renderer(model)
    timelines, grid = build_timelines(args, renderer)
    if args.save_timeline is not None:
        if len(timelines) > 1:
            raise UsageError("--save-timeline saves one timeline; drop --grid")
        saved = timelines[0] if soundtrack is None else timelines[0].replace(audio=soundtrack)
        try:
            saved.save(args.save_timeline, overwrite=args.force)
        except FileExistsError:
            raise UsageError(f"{args.save_timeline} already exists (use --force to overwrite)") from None
    tty = sys.stderr.isatty()

    def report(p: Progress) -> None:
        if tty:
            print(f"\r{p.line()}   ", end="", file=sys.stderr, flush=True)

    batch = args.batch if args.batch is not None else 1 if model.device.type == "cpu" else 8
    try:
        result = export_video(renderer, timelines, args.output, fmt=fmt, fps=args.fps, scale=args.size, crf=args.crf,
                              grid=grid, batch_size=batch, overwrite=args.force, progress=report,
                              soundtrack=soundtrack)
    except Cancelled:  # pragma: no cover - the CLI cancels by Ctrl+C (KeyboardInterrupt)
        return 130
    finally:
        if tty:
            print(file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{result.path}: {result.frames} frames, {result.width}x{result.height}, {result.fps:g} fps, "
          f"{result.frames / result.fps:.2f} s ({result.format})")
    return 0
