"""Training speed: images per second of the real training step (all phases, lazy regularisation,
augmentation, EMA) for a config, on the CPU (or --device cuda).

    python bench/train_speed.py                       # tiny at 32x32, then paper256 (2 images/step)
    python bench/train_speed.py --cfg small --resolution 64 --steps 20
    python bench/train_speed.py --cfg tiny --p 0.3    # with ADA augmenting 30% of the time

Prints wall-clock img/s and "cpu img/s" (images per CPU-second x threads): on a machine shared with
other work the second is what an idle machine would see, if the threads scale. Reports s/kimg for
comparison with NVIDIA's published figures (reference §5: paper256 on 8 V100s 4.01 s/kimg, 1 V100 at
256x256 with --cfg auto 21.6-24.2 s/kimg). The first ``--warmup`` steps (allocator and kernel set-up)
are not timed; steps cycle through all 16 lazy-regularisation phases only when --steps >= 16, so short
runs slightly over-weight the R1 step that step 0 always does (it is excluded with the warm-up).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.train import distributed  # noqa: E402
from explorer.train.loop import TrainingLoop, _new_options  # noqa: E402
from explorer.train.options import TrainOptions  # noqa: E402


def _random_dataset(folder: Path, resolution: int, count: int = 8) -> Path:
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (resolution, resolution, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def bench(cfg: str, resolution: int, batch: int | None, steps: int, warmup: int, p: float, device: str, threads: int | None) -> dict:
    if threads:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = _random_dataset(Path(tmp), resolution)
        command = TrainOptions(data=data, outdir=Path(tmp), cfg=cfg, batch=batch, aug="fixed" if p > 0 else "noaug",
                               p=p, workers=0, resolution=resolution)
        options = _new_options(command, device, 1)
        options["run_dir"] = tmp
        loop = TrainingLoop(options, distributed.Dist(device=torch.device(device)))
        loop._build()
        loop._load_resume()
        batch_gpu = options["batch_gpu"]
        images = torch.from_numpy(np.stack([loop.dataset[i % len(loop.dataset)][0] for i in range(batch_gpu)]))
        labels = torch.zeros(batch_gpu, 0)
        for _ in range(warmup):
            loop.step(images, labels)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            loop.step(images, labels)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = steps * batch_gpu
    nthreads = torch.get_num_threads()
    return {
        "cfg": cfg, "resolution": resolution, "batch": batch_gpu, "steps": steps, "device": device,
        "img_per_s": n / wall, "cpu_img_per_s": n / (cpu / nthreads), "sec_per_kimg": wall / n * 1000,
        "threads": nthreads,
        "G_params_M": sum(t.numel() for t in loop.G.parameters()) / 1e6,
        "D_params_M": sum(t.numel() for t in loop.D.parameters()) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", action="append", help="config(s) to time (default: tiny and paper256)")
    parser.add_argument("--resolution", type=int, help="image size (default: the config's hint)")
    parser.add_argument("--batch", type=int, help="batch (default: the config's; paper configs 2 on CPU)")
    parser.add_argument("--steps", type=int, help="timed steps (default 16 for tiny/small, 1 for paper configs)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--p", type=float, default=0.0, help="augmentation probability (default 0: ADA starts at 0)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    from explorer.train.configs import CONFIGS

    for cfg in args.cfg or ["tiny", "paper256"]:
        spec = CONFIGS[cfg]
        big = cfg not in ("tiny", "small")
        batch = args.batch or (2 if big and args.device == "cpu" else None)
        steps = args.steps or (1 if big and args.device == "cpu" else 16)
        r = bench(cfg, args.resolution or spec.resolution_hint, batch, steps, args.warmup, args.p, args.device, args.threads)
        print(f"{r['cfg']:<9} {r['resolution']:>4}px batch {r['batch']:<3} {r['device']}, {r['threads']} threads: "
              f"{r['img_per_s']:7.2f} img/s wall ({r['sec_per_kimg']:9.1f} s/kimg), {r['cpu_img_per_s']:7.2f} img/s by CPU time; "
              f"G {r['G_params_M']:.2f}M D {r['D_params_M']:.2f}M params", flush=True)


if __name__ == "__main__":
    main()
