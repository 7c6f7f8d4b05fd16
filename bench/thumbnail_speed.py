"""Seed-browser thumbnails per second: the bundled model and a 256 px StyleGAN2 (random weights).

    python bench/thumbnail_speed.py                     # bundled + synthetic sg2-256, batches 1 and 8
    python bench/thumbnail_speed.py --tiles 48 --batch 1,4,16 --device cuda

Each figure renders a page of new seeds through ``Renderer.render_seeds`` (mapping into the cache, then
synthesis, then uint8): batch 1 is what the window's browser does (one background render per tile, so the
canvas can interrupt between tiles) and what ``explorer grid`` does by default; larger batches are
``explorer grid --batch``. "cached" repeats the page: the mapping network is skipped, synthesis is not.
Best of --reps runs; the load average is printed because the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.engine.bench import SYNTHETIC_CONFIGS, synthetic_generator  # noqa: E402
from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import State  # noqa: E402
from explorer.formats import BUNDLED_MODEL, Model, load_model  # noqa: E402


def synthetic_model(name: str, device: str) -> Model:
    torch.manual_seed(0)
    return Model(synthetic_generator(name).to(device), SYNTHETIC_CONFIGS[name], Path(f"{name}.synthetic"), "0" * 64,
                 "native", {})


def tiles_per_second(model: Model, tiles: int, batch: int, reps: int, first_seed: int) -> tuple[float, float]:
    """(new seeds, seeds already in the mapping cache) tiles per second."""
    state = State(psi=0.7)
    best_new = best_cached = float("inf")
    for rep in range(reps):
        renderer = Renderer(model)
        seeds = range(first_seed + rep * tiles, first_seed + (rep + 1) * tiles)
        start = time.perf_counter()
        for _ in renderer.render_seeds(state, seeds, batch):
            pass
        best_new = min(best_new, time.perf_counter() - start)
        start = time.perf_counter()
        for _ in renderer.render_seeds(state, seeds, batch):
            pass
        best_cached = min(best_cached, time.perf_counter() - start)
    return tiles / best_new, tiles / best_cached


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=24, help="tiles per page (default 24)")
    parser.add_argument("--batch", default="1,8", help="batch sizes to try (default 1,8)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--synthetic", default="sg2-256", choices=sorted(SYNTHETIC_CONFIGS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batch.split(",")]
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    models = [("bundled " + BUNDLED_MODEL.name, load_model(BUNDLED_MODEL, args.device)),
              (f"synthetic {args.synthetic}", synthetic_model(args.synthetic, args.device))]
    with torch.inference_mode():
        for label, model in models:
            g = model.generator
            for batch in batches:
                new, cached = tiles_per_second(model, args.tiles, batch, args.reps, first_seed=1000)
                print(f"{label:34s} {g.img_resolution:4d} px  batch {batch:3d}: {new:7.1f} tiles/s new seeds, "
                      f"{cached:7.1f} tiles/s cached  ({1000 / new:.1f} ms per tile)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
