"""Projection quality and speed on the bundled model: PSNR / SSIM of the reconstructions, seconds per stage.

    python bench/projection_quality.py                        # 8 seeds, every target kind, pixel+ssim
    python bench/projection_quality.py --seeds 0-3 --kinds own --losses pixel,ssim pixel,ssim,d
    python bench/projection_quality.py --vgg ~/vgg16-397923af.pth --losses pixel,ssim,vgg

Target kinds:
- ``own``: the model's own images of the seeds (noise const), which W+ must bring back at >= 28 dB;
- ``shifted``: the same images moved 3 px right and 2 px down (edges repeated) and saved as JPEG quality 75;
- ``reals``: training drawings from checkpoints/training/avatars-64/reals.png (drawn by DiceBear, not by
  the model; the generator has never reproduced them exactly).

Each target is projected once through every stage asked for; the W+ after the W+ stage is scored with the
original model, the PTI model with its pivot. "mean" is the PSNR of the mean image (w_avg) against the
target: what a projection must clearly beat. The d loss uses the bundled model's training snapshot (its
G_ema is the bundled model). One torch thread unless --threads says otherwise; the load average is printed,
as the machine may be shared.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.cli.common import parse_int_list  # noqa: E402
from explorer.engine.project import ProjectionOptions, project  # noqa: E402
from explorer.engine.project.discriminator import load_discriminator  # noqa: E402
from explorer.engine.project.losses import DiscriminatorFeatures, psnr_uint8, ssim  # noqa: E402
from explorer.engine.project.optimize import image_tensor  # noqa: E402
from explorer.engine.project.vgg import VGG16Features  # noqa: E402
from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import Latent, State  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402

SNAPSHOT = ROOT / "checkpoints" / "training" / "avatars-64" / "network-snapshot-000081.safetensors"
REALS = ROOT / "checkpoints" / "training" / "avatars-64" / "reals.png"


def shifted_jpeg(image: np.ndarray, dx: int = 3, dy: int = 2, quality: int = 75) -> np.ndarray:
    moved = np.pad(image, ((dy, 0), (dx, 0), (0, 0)), mode="edge")[: image.shape[0], : image.shape[1]]
    buffer = io.BytesIO()
    Image.fromarray(moved).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def targets(kind: str, renderer: Renderer, seeds: list[int]) -> list[tuple[str, np.ndarray]]:
    if kind == "reals":
        grid = np.asarray(Image.open(REALS).convert("RGB"))
        tiles = [grid[r * 64:(r + 1) * 64, c * 64:(c + 1) * 64] for r in range(grid.shape[0] // 64)
                 for c in range(grid.shape[1] // 64)]
        return [(f"real{i}", tiles[i]) for i in range(len(seeds))]
    own = [(f"seed{s}", renderer.render(State(a=Latent(seed=s)))) for s in seeds]
    return own if kind == "own" else [(name, shifted_jpeg(image)) for name, image in own]


def ssim_uint8(a: np.ndarray, b: np.ndarray) -> float:
    return float(ssim(image_tensor(a, "cpu"), image_tensor(b, "cpu"))[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-7")
    parser.add_argument("--kinds", nargs="+", default=["own", "shifted", "reals"], choices=("own", "shifted", "reals"))
    parser.add_argument("--losses", nargs="+", default=["pixel,ssim"], help="one or more comma-separated loss sets")
    parser.add_argument("--stages", default="w,wplus,pti")
    parser.add_argument("--w-steps", type=int, default=ProjectionOptions.w_steps)
    parser.add_argument("--wplus-steps", type=int, default=ProjectionOptions.wplus_steps)
    parser.add_argument("--pti-steps", type=int, default=ProjectionOptions.pti_steps)
    parser.add_argument("--vgg", type=Path, help="torchvision's vgg16-397923af.pth, for the vgg loss")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.1f}, {args.threads} torch thread(s)")

    model = load_model(BUNDLED_MODEL)
    renderer = Renderer(model)
    mean_image = renderer.render(State(psi=0.0))
    seeds = parse_int_list(args.seeds)
    stages = tuple(args.stages.split(","))
    d_features = DiscriminatorFeatures(load_discriminator(SNAPSHOT)) if any("d" in s.split(",") for s in args.losses) else None
    vgg = VGG16Features.from_file(args.vgg) if args.vgg else None

    print("| targets | losses | mean image dB | W dB | W+ dB | W+ SSIM | PTI dB | PTI SSIM | s / 100 steps (W, W+, PTI) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.kinds:
        for loss_set in args.losses:
            options = ProjectionOptions(stages=stages, w_steps=args.w_steps, wplus_steps=args.wplus_steps,
                                        pti_steps=args.pti_steps, losses=tuple(loss_set.split(",")))
            rows = []
            for name, target in targets(kind, renderer, seeds):
                result = project(model.generator, target, options, d_features=d_features, vgg=vgg)
                row = {"mean": psnr_uint8(mean_image, target)}
                w_only = project_w_psnr(result)
                row["w"] = w_only
                image = renderer.render(State(a=Latent(w_plus=result.wplus[0].tolist())))
                row["wplus"], row["wplus_ssim"] = psnr_uint8(image, target), ssim_uint8(image, target)
                if result.generator is not None:
                    tuned = Renderer(dataclasses.replace(model, generator=result.generator))
                    image = tuned.render(State(a=Latent(w_plus=result.wplus[0].tolist())))
                    row["pti"], row["pti_ssim"] = psnr_uint8(image, target), ssim_uint8(image, target)
                row.update({f"s_{k}": 100 * v / options.steps_of(k) for k, v in result.seconds.items()})
                rows.append(row)
                print(f"  {kind} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()), file=sys.stderr, flush=True)

            def mean(key: str) -> str:
                values = [r[key] for r in rows if key in r and r[key] is not None]
                return f"{np.mean(values):.2f}" if values else "-"

            speeds = ", ".join(mean(f"s_{s}") for s in stages)
            print(f"| {kind} ({len(rows)}) | {loss_set} | {mean('mean')} | {mean('w')} | {mean('wplus')} | "
                  f"{mean('wplus_ssim')} | {mean('pti')} | {mean('pti_ssim')} | {speeds} |", flush=True)


def project_w_psnr(result) -> float | None:
    """PSNR at the end of the W stage, from the logged pixel loss (the W result itself is not kept)."""
    w_steps = [entry for entry in result.log if entry["stage"] == "w" and "pixel" in entry]
    if not w_steps or result.options.pixel_norm != "l2":
        return None
    return float(10 * np.log10(4.0 / max(w_steps[-1]["pixel"], 1e-12)))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.0f} s")
