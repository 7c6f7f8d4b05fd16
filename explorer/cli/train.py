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

from explorer.train.configs import CONFIGS
from explorer.train.dataset import TRANSFORMS


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a StyleGAN2-ADA model from images", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="dataset zip (explorer dataset) or image folder")
    parser.add_argument("--outdir", type=Path, required=True, help="parent folder of the run directories")
    parser.add_argument("--cfg", choices=tuple(CONFIGS), default="tiny", help="network and hyper-parameter preset")
    parser.add_argument("--gpus", type=int, default=1, help="processes (one per GPU; on CPU, gloo processes)")
    parser.add_argument("--batch", type=int, help="total batch size (default: the cfg's)")
    parser.add_argument("--gamma", type=float, help="R1 regularisation weight (default: the cfg's)")
    parser.add_argument("--kimg", type=float, help="train until this many thousand images (default: the cfg's)")
    parser.add_argument("--tick", type=float, help="kimg per progress tick (default: the cfg's)")
    parser.add_argument("--snap", type=int, help="ticks between snapshots (default: the cfg's)")
    parser.add_argument("--mirror", action="store_true", help="add x-flipped copies of the images")
    parser.add_argument("--aug", choices=("ada", "fixed", "noaug"), default="ada", help="augmentation mode (default ada)")
    parser.add_argument("--target", type=float, default=0.6, help="ADA target for E[sign(D(real))] (default 0.6)")
    parser.add_argument("--p", type=float, default=0.2, help="augment probability for --aug fixed (default 0.2)")
    parser.add_argument("--cond", action="store_true", help="train a class-conditional model (needs dataset labels)")
    parser.add_argument("--resume", type=Path, help="run directory or snapshot to continue from")
    parser.add_argument("--fine-tune", action="store_true",
                        help="with --resume: take only the snapshot's weights and train on with this command's "
                             "settings (--gamma, --glr, --dlr, --mbstd-group, ...): fresh optimisers, kimg from 0")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--workers", type=int, help="data loader processes (default 3 on GPU, 0 on CPU)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: cuda if available")
    parser.add_argument("--resolution", type=int, help="train at this size (default: the dataset's image size)")
    parser.add_argument("--transform", choices=TRANSFORMS, default="center-crop",
                        help="how images that are not RESOLUTION square are fitted (default center-crop)")
    parser.add_argument("--metrics", default="", help="comma list, e.g. fid50k_full,kid50k_full (needs --feature-net)")
    parser.add_argument("--feature-net", type=Path,
                        help="TorchScript feature network for metrics, e.g. NVIDIA's inception-2015-12-05.pt "
                             "(runs code from the file: trusted files only)")
    parser.add_argument("--glr", type=float, help="G learning rate (default: the cfg's)")
    parser.add_argument("--dlr", type=float, help="D learning rate (default: the cfg's)")
    parser.add_argument("--mbstd-group", type=int, help="minibatch-std group size (default: the cfg's)")
    parser.add_argument("--threads", type=int,
                        help="CPU threads per process (default: torch's choice). On a machine busy with other "
                             "work use 1, or set OMP_WAIT_POLICY=PASSIVE: spinning threads can make steps 10x slower")
    parser.add_argument("--desc", help="run directory name after the number (default: from the options)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from explorer.train.loop import train

    metrics = [m for m in (args.metrics or "").split(",") if m.strip() and m.strip() != "none"]
    run_dir = train(
        data=args.data, outdir=args.outdir, cfg=args.cfg, gpus=args.gpus, batch=args.batch, gamma=args.gamma,
        kimg=args.kimg, tick=args.tick, snap=args.snap, mirror=args.mirror, aug=args.aug, target=args.target,
        p=args.p, cond=args.cond, resume=args.resume, seed=args.seed, workers=args.workers, device=args.device,
        metrics=metrics if metrics or args.resume is None else None, feature_net=args.feature_net,
        resolution=args.resolution, desc=args.desc, glr=args.glr, dlr=args.dlr, mbstd_group=args.mbstd_group,
        threads=args.threads, fine_tune=args.fine_tune, transform=args.transform,
    )
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0 only
        print(f"run directory: {run_dir}")
    return 0
