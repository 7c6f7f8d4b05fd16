"""``explorer bench``: median ms per image, GFLOP per image, achieved GFLOP/s, the machine's
convolution ceiling measured in the same run, and efficiency = achieved / ceiling."""

from __future__ import annotations

import json

import torch

from explorer.cli.common import add_device_arg, add_network_arg, pick_device, resolve_network
from explorer.engine.bench import SYNTHETIC_CONFIGS, bench_generator, result_dict, synthetic_generator
from explorer.errors import UsageError
from explorer.formats import load_model


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="measure render speed", description=__doc__)
    add_network_arg(parser)
    parser.add_argument("--synthetic", choices=sorted(SYNTHETIC_CONFIGS),
                        help="time a random-weight generator of this size instead of a model file")
    add_device_arg(parser)
    parser.add_argument("--batch", type=int, default=1, help="images per render (default 1)")
    parser.add_argument("--iters", type=int, default=10, help="timed renders (default 10)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.batch < 1 or args.iters < 1:
        raise UsageError("--batch and --iters must be at least 1")
    if args.threads is not None:
        if args.threads < 1:
            raise UsageError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.synthetic:
        label, generator = f"synthetic {args.synthetic}", synthetic_generator(args.synthetic)
    else:
        model = load_model(resolve_network(args.network), device)
        label, generator = model.name, model.generator
    result = bench_generator(generator, device, args.batch, args.iters)
    if args.json:
        print(json.dumps({"model": label, **result_dict(result)}, indent=2))
        return 0
    print(f"model:           {label} ({generator.img_resolution}x{generator.img_resolution})")
    print(f"device:          {result.device}, {result.threads} threads, batch {result.batch}, {result.iters} iters")
    print(f"ms per image:    {result.ms_per_image:.1f}")
    print(f"GFLOP per image: {result.gflop_per_image:.2f}")
    print(f"achieved:        {result.gflops:.1f} GFLOP/s")
    print(f"conv ceiling:    {result.gflops_ceiling:.1f} GFLOP/s (3x3 conv 256->256 at 64x64, batch 1)")
    print(f"efficiency:      {result.efficiency:.2f}")
    return 0
