"""``explorer train``: train a StyleGAN2 model (with ADA) from a dataset zip or a folder of images.

Writes a run directory ``<outdir>/NNNNN-<desc>/`` in NVIDIA's layout: training_options.json, log.txt,
stats.jsonl, reals.png, fakes*.png, network-snapshot-NNNNNN.safetensors (open it, or the run folder,
in the explorer) and resume-NNNNNN.state.pt. --resume RUN_DIR continues exactly where the run stopped (a new
run directory, same kimg, augment p, optimiser state and hyper-parameters); add --fine-tune to start from
its weights with other settings instead. Stop gracefully with Ctrl-C, SIGTERM, or
``touch <run_dir>/stop-request``: the run finishes its tick, writes a snapshot and exits 0.

Configs: tiny (tests and demos, ~32x32, fast on CPU), small (a 64x64 model on CPU in hours), and
NVIDIA's paper256, paper512, stylegan2 (GPU). --metrics fid50k_full,kid50k_full needs --feature-net:
a TorchScript feature network such as NVIDIA's inception-2015-12-05.pt. Loading TorchScript runs code
from that file: give only files you trust.
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.train.options import TrainOptions, add_arguments


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a StyleGAN2-ADA model from images", description=__doc__)
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from explorer.train.loop import train

    run_dir = train(TrainOptions.from_namespace(args))
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0 only
        print(f"run directory: {run_dir}")
    return 0
