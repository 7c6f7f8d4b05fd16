"""Drag (DragGAN) speed: optimiser steps per second, batch 1, float32.

    python bench/drag_speed.py                        # the bundled 64 px model and a random StyleGAN2 256 px one
    python bench/drag_speed.py --models bundled sg3t-256 --steps 10 --device cuda

A step is what the window shows once per frame: a synthesis with autograd up to the feature block, point
tracking, the motion (and, with --mask, mask) loss, its backward pass and one Adam step on the first rows.
Each model drags one handle from the image centre 15% of the width to the right for --steps steps (it is
never allowed to stop early); the first two steps are a warm-up. Random weights drag as slowly as trained
ones (the work is the same), so no model file is needed for the larger sizes (explorer/engine/bench.py's
synthetic configs). Prints one line per model; --json prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import explorer  # noqa: F401  (first: sets OMP_WAIT_POLICY=PASSIVE before torch loads OpenMP)
import numpy as np
import torch

from explorer.engine.bench import SYNTHETIC_CONFIGS, synthetic_generator
from explorer.engine.drag import DragSpec, drag, feature_layer
from explorer.engine.jobs import JobContext
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.formats import BUNDLED_MODEL, Model, load_model

WARMUP = 2


def open_model(name: str, device: torch.device) -> Model:
    if name == "bundled":
        return load_model(BUNDLED_MODEL, device)
    torch.manual_seed(0)
    generator = synthetic_generator(name).to(device)
    return Model(generator, {}, Path(f"synthetic-{name}"), "", "synthetic", {})


def steps_per_second(model: Model, steps: int, masked: bool) -> dict:
    g = model.generator
    res = g.img_resolution
    mask = None
    if masked:
        mask = np.zeros((res, res), bool)
        mask[res // 4: 3 * res // 4, res // 4: 3 * res // 4] = True
    spec = DragSpec(handles=((res / 2, res / 2),), targets=((res * 0.65, res / 2),), mask=mask,
                    steps=steps + WARMUP, stop_distance=1e-6)
    times: list[float] = []
    cpu: list[float] = []

    def seen(step) -> None:
        times.append(time.perf_counter())
        cpu.append(time.process_time())

    drag(JobContext(on_preview=seen), Renderer(model), State(a=Latent(seed=0)), spec)
    timed = len(times) - 1 - WARMUP  # steps between the warm-up's end and the last preview
    return dict(model=model.path.name, resolution=res, feature_layer=feature_layer(g).name,
                steps=timed, steps_per_s=timed / (times[-1] - times[WARMUP]),
                cpu_s_per_step=(cpu[-1] - cpu[WARMUP]) / timed, mask=masked,
                device=str(model.generator.mapping.w_avg.device), threads=torch.get_num_threads())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["bundled", "sg2-256"],
                        help=f"bundled and/or synthetic configs: {', '.join(SYNTHETIC_CONFIGS)}")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per model (default 20)")
    parser.add_argument("--mask", action="store_true", help="drag with a mask (adds the mask term)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for name in args.models:
        figures = steps_per_second(open_model(name, torch.device(args.device)), args.steps, args.mask)
        if args.json:
            print(json.dumps(figures))
        else:
            print(f"{name:>8} ({figures['resolution']} px, features {figures['feature_layer']}): "
                  f"{figures['steps_per_s']:.2f} steps/s, {figures['cpu_s_per_step'] * 1e3:.0f} ms CPU per step "
                  f"({figures['device']}, {figures['threads']} threads)")


if __name__ == "__main__":
    main()
