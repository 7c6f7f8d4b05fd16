"""StyleGAN3 render speed on the CPU: untrained T (or R) generators, batch 1, float32, inference mode.

    python bench/sg3_speed.py                 # T-64 (cbase 4096, cmax 128) and T-256 (cbase 32768)
    python bench/sg3_speed.py --res 256 --cbase 32768 --cfg r --reps 3 --profile

Reports the best and median wall time per image and the CPU time of the best run (on a shared,
busy machine the CPU time is the steadier figure). ``--reference`` also times a plain implementation of
the same maths the way NVIDIA's pure-PyTorch path computes it (grouped modulated convolution,
zero-stuffed up-sampling, full-rate filtering then decimation), on the same machine and net, and
checks that both agree. ``--profile`` splits our time per layer into modulated conv and filtering.
"""

from __future__ import annotations

import argparse
import statistics
import time

import math

import explorer  # noqa: F401  (first: sets OMP_WAIT_POLICY=PASSIVE before torch loads OpenMP)
import torch

from explorer.models.sg3_reference import reference_synthesis
from explorer.models.stylegan3 import Generator


def build(res: int, cbase: int, cmax: int, cfg: str) -> Generator:
    kwargs = dict(channel_base=cbase, channel_max=cmax)
    if cfg == "r":
        kwargs.update(conv_kernel=1, use_radial_filters=True)
    torch.manual_seed(0)
    G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3, synthesis_kwargs=kwargs)
    return G.eval().requires_grad_(False)


def time_render(render, ws: torch.Tensor, reps: int) -> tuple[list[float], float, torch.Tensor]:
    """Wall times of ``reps`` renders after a warm-up, the CPU time of the fastest, and the image."""
    with torch.inference_mode():
        img = render(ws)  # warm-up (allocator, Winograd weights)
        walls, cpu_best = [], math.inf
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            render(ws)
            walls.append(time.perf_counter() - t0)
            if walls[-1] == min(walls):
                cpu_best = time.process_time() - c0
    return walls, cpu_best, img


def profile_layers(G: Generator) -> None:
    from explorer.models.sg3_ops import filtered_lrelu

    with torch.inference_mode():
        ws = G.mapping(torch.randn(1, G.z_dim), None).unbind(1)
        x = G.synthesis.input(ws[0])
        for name, w in zip(G.synthesis.layer_names, ws[1:]):
            layer = getattr(G.synthesis, name)
            t0 = time.perf_counter()
            y = layer.modulated_conv(x, w)
            t1 = time.perf_counter()
            x = filtered_lrelu(y, layer.up_filter, layer.down_filter, None, layer.up_factor, layer.down_factor,
                               layer.padding, gain=1.0 if layer.is_torgb else 2 ** 0.5,
                               slope=1.0 if layer.is_torgb else 0.2, clamp=layer.conv_clamp)
            t2 = time.perf_counter()
            print(f"  {name:14s} conv {1000 * (t1 - t0):7.1f} ms   filtered_lrelu {1000 * (t2 - t1):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, nargs="*")
    parser.add_argument("--cbase", type=int)
    parser.add_argument("--cmax", type=int)
    parser.add_argument("--cfg", choices=["t", "r"], default="t")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--reference", action="store_true", help="also time the plain reference-style path")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.res:
        setups = [(r, args.cbase or 32768, args.cmax or 512) for r in args.res]
    else:
        setups = [(64, 4096, 128), (256, 32768, 512)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for res, cbase, cmax in setups:
        G = build(res, cbase, cmax, args.cfg)
        torch.manual_seed(1)
        with torch.inference_mode():
            ws = G.mapping(torch.randn(1, G.z_dim), None)
        reps = args.reps if res < 512 else max(1, args.reps // 2)
        label = f"SG3-{args.cfg.upper()} {res}x{res} cbase {cbase} cmax {cmax}"
        walls, cpu, img = time_render(G.synthesis, ws, reps)
        print(f"{label}: best {1000 * min(walls):.1f} ms/img, median {1000 * statistics.median(walls):.1f} ms/img, "
              f"cpu {1000 * cpu:.1f} ms")
        if args.reference:
            ref_walls, ref_cpu, ref = time_render(lambda w: reference_synthesis(G, w), ws, max(1, reps // 2))
            rel = float((img - ref).norm() / ref.norm())
            print(f"{label} plain reference path: best {1000 * min(ref_walls):.1f} ms/img, cpu {1000 * ref_cpu:.1f} ms; "
                  f"speed-up {min(ref_walls) / min(walls):.1f}x wall, {ref_cpu / cpu:.1f}x cpu; "
                  f"||ours - ref|| / ||ref|| = {rel:.1e}")
        if args.profile:
            profile_layers(G)


if __name__ == "__main__":
    main()
