"""Direction-finding speed on the CPU: SeFa and GANSpace PCA on a randomly initialised StyleGAN2.

    OMP_NUM_THREADS=1 python bench/directions_speed.py                       # sg2-1024, as issue 15 asks
    OMP_NUM_THREADS=1 python bench/directions_speed.py --synthetic sg2-256 --pca-samples 20000

SeFa is timed twice: with 2 sigma samples (the least allowed: about the factorization alone) and as the
window and the CLI run it, with 10,000 mapped samples for the sigmas. PCA maps ``--pca-samples`` z
through the 8-layer mapping network in chunks.
Random weights take as long as trained ones: the work is the same matrix products.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import explorer  # noqa: F401  (first: sets OMP_WAIT_POLICY=PASSIVE before torch loads OpenMP)
import torch

from explorer.engine.bench import SYNTHETIC_CONFIGS, synthetic_generator
from explorer.engine.directions import pca_directions, sefa_directions
from explorer.formats import Model


def synthetic_model(name: str) -> Model:
    torch.manual_seed(0)
    generator = synthetic_generator(name)
    return Model(generator=generator, config=SYNTHETIC_CONFIGS[name], path=Path(f"{name}.synthetic"),
                 sha256="", source_format="synthetic", provenance={})


def seconds(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", default="sg2-1024", choices=sorted(SYNTHETIC_CONFIGS))
    parser.add_argument("--pca-samples", type=int, default=100_000)
    args = parser.parse_args()
    model = synthetic_model(args.synthetic)
    g = model.generator
    print(f"{args.synthetic}: num_ws {g.num_ws}, w_dim {g.w_dim}, torch threads {torch.get_num_threads()}")
    rows = (0, g.num_ws - 1)
    factor_s, _ = seconds(lambda: sefa_directions(model, rows, sigma_samples=2))
    print(f"SeFa, all {g.num_ws} rows, factorization (2 sigma samples): {factor_s:.2f} s")
    sefa_s, dset = seconds(lambda: sefa_directions(model, rows))
    print(f"SeFa, all {g.num_ws} rows, {len(dset)} vectors, with 10,000 sigma samples: {sefa_s:.2f} s")
    pca_s, dset = seconds(lambda: pca_directions(model, args.pca_samples, 20))
    print(f"PCA of {args.pca_samples:,} samples, 20 components: {pca_s:.2f} s")


if __name__ == "__main__":
    main()
