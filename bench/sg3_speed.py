"""StyleGAN3 render speed on the CPU: untrained T (or R) generators, batch 1, float32, inference mode.

    python bench/sg3_speed.py                 # T-64 (cbase 4096, cmax 128) and T-256 (cbase 32768)
    python bench/sg3_speed.py --res 256 --cbase 32768 --cfg r --reps 3 --profile

Reports the best and median wall time per image (the machine may be shared; best is the fairer
figure) and, with --profile, the time per layer split into modulated conv and filtered lrelu.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from explorer.models.stylegan3 import Generator


def build(res: int, cbase: int, cmax: int, cfg: str) -> Generator:
    kwargs = dict(channel_base=cbase, channel_max=cmax)
    if cfg == "r":
        kwargs.update(conv_kernel=1, use_radial_filters=True)
    torch.manual_seed(0)
    G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3, synthesis_kwargs=kwargs)
    return G.eval().requires_grad_(False)


def time_render(G: Generator, reps: int) -> list[float]:
    torch.manual_seed(1)
    with torch.inference_mode():
        ws = G.mapping(torch.randn(1, G.z_dim), None)
        G.synthesis(ws)  # warm-up (allocator, Winograd weights)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            G.synthesis(ws)
            times.append(time.perf_counter() - t0)
    return times


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
    args = parser.parse_args()
    if args.res:
        setups = [(r, args.cbase or 32768, args.cmax or 512) for r in args.res]
    else:
        setups = [(64, 4096, 128), (256, 32768, 512)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for res, cbase, cmax in setups:
        G = build(res, cbase, cmax, args.cfg)
        times = time_render(G, args.reps if res < 512 else max(1, args.reps // 2))
        print(f"SG3-{args.cfg.upper()} {res}x{res} cbase {cbase} cmax {cmax}: "
              f"best {1000 * min(times):.1f} ms/img, median {1000 * statistics.median(times):.1f} ms/img")
        if args.profile:
            profile_layers(G)


if __name__ == "__main__":
    main()
