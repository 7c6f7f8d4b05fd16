"""``explorer project``: find the latent of a photo (W, then W+ per row, optionally pivotal tuning).

Writes into --outdir: ``projected_w.npz`` (NVIDIA's layout, [1, num_ws, w_dim]), ``target.png`` (the
cropped, resized target) and ``proj.png`` (the projection as the model renders it), both PNGs carrying
the projection's recipe; ``log.csv`` (the loss of every step); with the pti stage ``model-pti.safetensors``
(the tuned model: proj.png is rendered with it; the pivot rendered by the original model is
``proj-wplus.png``); with --save-video ``proj.mp4`` ([target | reconstruction] at every step, 10 fps).
``explorer generate --projected-w D/projected_w.npz`` (with ``--network D/model-pti.safetensors`` after PTI)
renders proj.png again. See docs/projection.md.
"""

from __future__ import annotations

from pathlib import Path

from explorer.cli.common import add_device_arg, add_network_arg, check_writable, pick_device, resolve_network
from explorer.engine.jobs import text_progress
from explorer.engine.latents import save_wplus_npz
from explorer.engine.project import LOSSES, STAGES, Crop, ProjectionOptions, fit_target, project, read_image
from explorer.engine.project.files import (
    ProjectionVideo,
    loss_networks,
    run_with_video,
    save_tuned_model,
    write_loss_log,
)
from explorer.engine.project.losses import psnr_uint8
from explorer.engine.recipe import recipe_for, write_png
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.errors import UsageError
from explorer.formats import load_model


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("project", help="find the W+ latent of a photo (and a PTI-tuned model)",
                                   description=__doc__)
    add_network_arg(parser)
    parser.add_argument("--target", type=Path, required=True, help="the image to project (PNG, JPEG, ...)")
    parser.add_argument("--outdir", type=Path, required=True, help="output folder")
    parser.add_argument("--stages", default="w,wplus", help=f"comma-separated, in order, from {','.join(STAGES)} "
                                                            "(default w,wplus)")
    parser.add_argument("--steps", type=int, help="steps of every stage (default: W 300, W+ 500, PTI 200)")
    for stage in STAGES:
        parser.add_argument(f"--{stage}-steps", type=int, help=f"steps of the {stage} stage (overrides --steps)")
    parser.add_argument("--seed", type=int, default=ProjectionOptions.seed, help="seed of the optimisation's noise (default 303)")
    parser.add_argument("--loss", default="pixel,ssim", help=f"comma-separated from {','.join(LOSSES)} (default pixel,ssim)")
    parser.add_argument("--pixel-norm", choices=("l2", "l1"), default="l2", help="the pixel loss's norm (default l2)")
    parser.add_argument("--vgg", type=Path, metavar="FILE", help="torchvision's VGG16 weights (vgg16-397923af.pth) for the vgg loss")
    parser.add_argument("--discriminator", type=Path, metavar="FILE",
                        help="model file holding the discriminator for the d loss (default: --network, or the training "
                             "snapshot a render-only export such as the bundled model was made from)")
    parser.add_argument("--crop", metavar="LEFT,TOP,SIZE", help="square of the photo to use, in its pixels (default: the centre square)")
    parser.add_argument("--class", dest="class_idx", type=int, default=0, help="class of a conditional model (default 0)")
    parser.add_argument("--no-noise", action="store_true", help="keep the model's noise maps instead of optimising them")
    parser.add_argument("--save-video", action="store_true", help="also write proj.mp4 of the optimisation")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    add_device_arg(parser)
    parser.set_defaults(func=run)


def options_from_args(args) -> ProjectionOptions:
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    steps = {}
    for stage in STAGES:
        value = getattr(args, f"{stage}_steps")
        if value is None:
            value = args.steps
        if value is not None:
            steps[f"{stage}_steps"] = value
    return ProjectionOptions(stages=stages, losses=tuple(s.strip() for s in args.loss.split(",") if s.strip()),
                             pixel_norm=args.pixel_norm, seed=args.seed, class_idx=args.class_idx,
                             optimise_noise=not args.no_noise, **steps)


def parse_crop(text: str | None) -> Crop | None:
    if text is None:
        return None
    try:
        left, top, size = (int(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--crop must be three integers LEFT,TOP,SIZE, got {text!r}") from None
    return Crop(left, top, size)


def output_paths(outdir: Path, options: ProjectionOptions, video: bool) -> dict[str, Path]:
    names = {"w": "projected_w.npz", "target": "target.png", "proj": "proj.png", "log": "log.csv"}
    if "pti" in options.stages:
        names.update(model="model-pti.safetensors", pivot="proj-wplus.png")
    if video:
        names["video"] = "proj.mp4"
    return {key: outdir / name for key, name in names.items()}


def run(args) -> int:
    options = options_from_args(args)
    crop = parse_crop(args.crop)
    paths = output_paths(args.outdir, options, args.save_video)
    for path in paths.values():
        check_writable(path, args.force)
    source = read_image(args.target)  # a bad image fails before the model is even opened
    model = load_model(resolve_network(args.network), pick_device(args.device))
    g = model.generator
    target = fit_target(source, g.img_resolution, getattr(g.synthesis, "img_channels", 3), crop)
    for note in source.notes:
        print(f"note: {args.target.name}: {note}")
    if args.vgg is not None and "vgg" not in options.losses:
        print("note: --vgg given without the vgg loss (--loss ...,vgg); not used")
    d_features, vgg = loss_networks(options.losses, model, args.discriminator, args.vgg)
    video = ProjectionVideo(paths["video"], target.shape[0], overwrite=args.force) if args.save_video else None
    result = run_with_video(video, lambda on_frame: project(g, target, options, text_progress(), d_features, vgg,
                                                            on_frame=on_frame, on_stage=print))
    write_results(args, paths, model, result, target)
    return 0


def write_results(args, paths: dict[str, Path], model, result, target) -> None:
    state = State(a=Latent(w_plus=result.wplus[0].tolist()), class_idx=args.class_idx)
    save_wplus_npz(paths["w"], result.wplus)
    write_loss_log(paths["log"], result)
    render_model = model
    if result.generator is not None:
        save_tuned_model(paths["model"], model, result, args.target)
        pivot = Renderer(model).render(state)
        write_png(paths["pivot"], pivot, recipe_for(state, model))
        render_model = load_model(paths["model"], model.device)  # the file as written: what generate will use
    image = Renderer(render_model).render(state)
    recipe = recipe_for(state, render_model)
    write_png(paths["proj"], image, recipe)
    write_png(paths["target"], target, recipe)
    seconds = ", ".join(f"{stage} {s:.1f} s" for stage, s in result.seconds.items())
    print(f"{paths['proj']}: {psnr_uint8(image, target):.2f} dB against the target ({seconds})")
    if result.generator is not None:
        print(f"{paths['pivot']}: {psnr_uint8(pivot, target):.2f} dB with the original model; "
              f"tuned model {paths['model']}")
    for key in ("w", "target", "log", "video"):
        if key in paths:
            print(paths[key])

