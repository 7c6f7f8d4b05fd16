"""The training loop: ``train(...)`` prepares a run (checks, run directory, options) and launches
``TrainingLoop`` on one process per GPU (see ``distributed``).

One step (``batch`` images over all processes) runs the phases Gmain, [Greg every 4], Dmain, [Dreg
every 16]; each phase's gradients are averaged across processes and stepped by Adam(betas 0, 0.99).
Lazy-regularisation phases use lr*c and beta**c, c = interval/(interval+1), NVIDIA's correction for
the reg phase running 1/interval as often with interval times the weight. After each step:

- G_ema <- lerp(G, G_ema, 0.5 ** (batch / ema_nimg)), ema_nimg = ema_kimg*1000 (ramped up as
  cur_nimg*ema_rampup early on when the cfg asks), buffers copied: the smoothed G is what we save
  for exploring, because single-step G's flicker;
- every 4 steps ADA nudges p (``augment.AdaController``);
- a stop request (SIGTERM, SIGINT, ``<run_dir>/stop-request``) ends the tick early.

A tick ends every ``tick_kimg`` (and after the very first step, as NVIDIA's loop, so a snapshot of
the initial networks exists at once): statistics go to stats.jsonl and the console; every ``snap``
ticks, at the end and on a stop, a snapshot (+ fakes grid, + resume state, + metrics) is written.

Exact resume: the resume state holds everything that changes during training (see ``snapshot``); the
data sampler restarts at the saved image count; RNG states are restored after the data loader exists
(its creation draws a seed). On one CPU process a resumed run reproduces an uninterrupted one bit for
bit (a test checks this); multi-process and CUDA runs continue statistically identically.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch

from explorer.engine.devices import TRAINING_DEVICES, resolve_device
from explorer.models.limits import check_discriminator_config
from explorer.errors import UsageError
from explorer.train import configs, distributed, snapshot
from explorer.train.augment import AdaController, AugmentPipe
from explorer.train.dataset import DatasetError, ImageDataset, InfiniteSampler
from explorer.train.loss import StyleGAN2Loss
from explorer.train.metrics import MetricRunner
from explorer.train.networks_d import build_discriminator
from explorer.train.options import TrainOptions
from explorer.train.run_dir import (
    RunLog, append_stats, clear_stop_request, grid_indices, grid_size, make_run_dir, save_grid,
    stop_requested, write_json, writing,
)
from explorer.train.run_layout import (
    FAKES_INIT_FILE, FINISHED_FILE, OPTIONS_FILE, PID_FILE, REALS_FILE, STATS_FILE, fakes_name, remove_partial_files,
)
from explorer.train.stats import Stats

LOSS_STATS = [
    "Loss/D/loss", "Loss/D/reg", "Loss/G/loss", "Loss/G/reg", "Loss/pl_penalty", "Loss/r1_penalty",
    "Loss/scores/fake", "Loss/scores/real", "Loss/signs/fake", "Loss/signs/real",
]
PHASE_NAMES = ["Gmain", "Greg", "Gboth", "Dmain", "Dreg", "Dboth"]


# =============================================================================================== setup


def train(options: TrainOptions) -> Path:
    """Train (or resume) a StyleGAN2 model; returns the run directory. Raises ExplorerError on bad input.

    ``options.resume`` continues exactly (same hyper-parameters, optimiser state, kimg) when a resume state
    lies beside the snapshot; ``options.fine_tune`` takes only the snapshot's weights and starts afresh with
    these settings (what changing gamma, learning rates or the minibatch-std group mid-run needs).
    """
    command = options
    device = resolve_device(command.device or "auto", strict=True, supported=TRAINING_DEVICES)
    gpus = command.gpus
    torchrun = distributed.torchrun_env()
    if torchrun is not None:
        gpus = torchrun[1]  # one process per rank, already started by torchrun
        distributed.init_process(torchrun[0], torchrun[1], device, None)
    if device == "cuda" and distributed.torchrun_env() is None and gpus > torch.cuda.device_count():
        raise UsageError(f"--gpus {gpus}: only {torch.cuda.device_count()} CUDA GPU(s) are visible")
    data, outdir, resume, fine_tune = command.data, command.outdir, command.resume, command.fine_tune
    batch, gamma, glr, dlr, mbstd_group = command.batch, command.gamma, command.glr, command.dlr, command.mbstd_group
    kimg, tick, snap, workers, feature_net = command.kimg, command.tick, command.snap, command.workers, command.feature_net
    metrics = list(command.metrics) if command.metrics is not None else None
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"{outdir.name}: --outdir is a file, not a folder for run directories")
    if not data.exists():
        raise DatasetError(data, "training data not found (give a dataset .zip or a folder of images)")

    if fine_tune and resume is None:
        raise UsageError("--fine-tune needs --resume (the run or snapshot whose weights to start from)")
    resume_state = None
    resume_snapshot = None
    if resume is not None:
        _clean_stopped_run(resume)
        resume_snapshot, resume_file = snapshot.find_resume_point(resume, weights_only=fine_tune)
        if resume_file is not None:
            resume_state = snapshot.load_resume_state(resume_file)

    if resume_state is not None:
        # Exact resume: the original hyper-parameters; only run-length and bookkeeping may change.
        options = json.loads(resume_state["options"])
        _refuse_changed_settings(options, batch=batch, gamma=gamma, glr=glr, dlr=dlr, mbstd_group=mbstd_group)
        options["total_kimg"] = float(kimg) if kimg is not None else options["total_kimg"]
        options["kimg_per_tick"] = float(tick) if tick is not None else options["kimg_per_tick"]
        options["snap"] = int(snap) if snap is not None else options["snap"]
        options["workers"] = workers if workers is not None else options["workers"]
        options["metrics"] = list(metrics) if metrics is not None else options["metrics"]
        # Loading TorchScript runs code: the feature network only ever comes from this command line,
        # never from a (possibly hostile) file; without one the run's metrics are skipped with a note.
        options["feature_net"] = str(feature_net) if feature_net else None
        options["training_set_kwargs"]["path"] = str(data)
        options["device"] = device
        options["threads"] = command.threads
        if gpus != options["num_gpus"]:
            print(f"note: resuming a {options['num_gpus']}-process run on {gpus}: statistically, not bit-exactly, the same")
            if options["batch_size"] % gpus:
                raise UsageError(f"--gpus {gpus} does not divide the run's batch {options['batch_size']}")
            options["num_gpus"], options["batch_gpu"] = gpus, options["batch_size"] // gpus
        options["resume"] = {"snapshot": str(resume_snapshot), "state": str(resume_file), "exact": True}
    else:
        options = _new_options(command, device, gpus)
        if resume_snapshot is not None:
            _adopt_start_networks(options, resume_snapshot)
            options["resume"] = {"snapshot": str(resume_snapshot), "state": None, "exact": False}
            options["ada_kimg"] = 100  # NVIDIA: faster p adaptation when fine-tuning
            options["ema_rampup"] = None

    is_main = torchrun is None or torchrun[0] == 0
    if is_main:
        try:
            run_dir = make_run_dir(outdir, command.desc or _describe(options, data))
        except OSError as exc:
            raise UsageError(f"{outdir.name}: cannot make a run directory there ({exc.strerror or exc})") from None
        options["run_dir"] = str(run_dir)
        options["command"] = command.to_json()  # the options as given; ``TrainOptions(**...)`` reads them back
        with writing(run_dir, OPTIONS_FILE):
            write_json(run_dir / OPTIONS_FILE, options)
        print(f"training run directory: {run_dir}", flush=True)
    if torchrun is not None:
        options = distributed.broadcast_object(options if is_main else None, torchrun[0])
        run_dir = Path(options["run_dir"])
    # Watchers (the GUI monitor) tell a live run from a dead one by this pid; a SIGKILL leaves the file
    # behind, but with a pid that is no longer alive.
    pid_file = run_dir / PID_FILE
    if is_main:
        with writing(run_dir, PID_FILE):
            pid_file.write_text(str(os.getpid()))
    try:
        distributed.launch(_worker, options["num_gpus"], device, options)
    finally:
        if is_main:
            pid_file.unlink(missing_ok=True)
    return run_dir


def _clean_stopped_run(resume: Path) -> None:
    """A killed run leaves its writers' ``.part`` files behind; remove them when that run is resumed
    (never from a folder whose trainer is still alive: its ``.part`` is the snapshot being written)."""
    from explorer.train.run_reader import pid_alive, read_pid

    run_dir = resume if resume.is_dir() else resume.parent
    pid = read_pid(run_dir) if run_dir.is_dir() else None
    if run_dir.is_dir() and (pid is None or not pid_alive(pid)):
        for name in remove_partial_files(run_dir):
            print(f"removed {name} (left by a run that was killed mid-write)")


def _new_options(command: TrainOptions, device: str, gpus: int) -> dict:
    """The run options (NVIDIA's training_options.json layout) for a new run of ``command``."""
    c = command
    spec = configs.get_cfg(c.cfg)
    data = c.data
    dataset = ImageDataset(data, resolution=c.resolution, use_labels=c.cond, xflip=c.mirror, cache=False,
                           transform=c.transform)
    batch = int(c.batch or spec.batch)
    if batch < 1 or batch % gpus:
        raise UsageError(f"--batch {batch} must be a positive multiple of --gpus {gpus}")
    cuda = device == "cuda"
    c_dim = dataset.label_dim if c.cond else 0
    G_cfg = configs.generator_config(spec, dataset.resolution, dataset.num_channels, c_dim, cuda)
    D_cfg = configs.discriminator_config(spec, dataset.resolution, dataset.num_channels, c_dim, cuda, c.mbstd_group)
    return {
        "cfg": spec.name,
        "cfg_spec": spec.as_dict(),
        "G_kwargs": {"class_name": "explorer.models.stylegan2.Generator", **G_cfg},
        "D_kwargs": {"class_name": "explorer.train.networks_d.Discriminator", **D_cfg},
        "G_opt_kwargs": {"lr": float(c.glr or spec.lrate), "betas": [0.0, 0.99], "eps": 1e-8},
        "D_opt_kwargs": {"lr": float(c.dlr or spec.lrate), "betas": [0.0, 0.99], "eps": 1e-8},
        "loss_kwargs": {
            "r1_gamma": float(spec.gamma if c.gamma is None else c.gamma),
            "style_mixing_prob": spec.style_mixing_prob,
            "pl_weight": spec.pl_weight,
        },
        "G_reg_interval": 4,
        "D_reg_interval": 16,
        "augment": c.aug,
        "augment_pipe": "bgc",
        "augment_p": float(c.p) if c.aug == "fixed" else 0.0,
        "ada_target": float(c.target) if c.aug == "ada" else None,
        "ada_interval": 4,
        "ada_kimg": 500,
        "ema_kimg": spec.ema_kimg,
        "ema_rampup": spec.ema_rampup,
        "training_set_kwargs": {**dataset.describe(), "path": str(data)},
        "skipped_images": [f"{n}: {r}" for n, r in dataset.skipped[:100]],
        "num_gpus": gpus,
        "batch_size": batch,
        "batch_gpu": batch // gpus,
        "total_kimg": float(c.kimg if c.kimg is not None else spec.kimg),
        "kimg_per_tick": float(c.tick if c.tick is not None else spec.tick_kimg),
        "snap": int(c.snap if c.snap is not None else spec.snap_ticks),
        "grid_max": list(spec.grid_max) if spec.grid_max else None,
        "random_seed": int(c.seed),
        "workers": c.workers if c.workers is not None else (3 if cuda else 0),
        "metrics": list(c.metrics or []),
        "feature_net": str(c.feature_net) if c.feature_net else None,
        "device": device,
        "threads": c.threads,
        "resume": None,
    }


def _refuse_changed_settings(options: dict, **given) -> None:
    """An exact resume keeps the run's hyper-parameters; a flag asking for other ones would otherwise be
    silently ignored, so it is an error that names the way to get it (--fine-tune)."""
    current = {
        "batch": options["batch_size"],
        "gamma": options["loss_kwargs"]["r1_gamma"],
        "glr": options["G_opt_kwargs"]["lr"],
        "dlr": options["D_opt_kwargs"]["lr"],
        "mbstd_group": options["D_kwargs"]["mbstd_group_size"],
    }
    changed = [f"--{name.replace('_', '-')} {value:g} (the run has {current[name]:g})"
               for name, value in given.items() if value is not None and value != current[name]]
    if changed:
        raise UsageError(f"{', '.join(changed)}: an exact resume keeps the run's settings; add --fine-tune to "
                         "start from the snapshot's weights with new ones (fresh optimisers and kimg count)")


def _adopt_start_networks(options: dict, path: Path) -> None:
    """Fine-tuning from a model file: its network shapes win over the cfg's (as NVIDIA's --resume)."""
    _, nets = snapshot.read_start_networks(path)
    g_cfg = dict(nets["G_ema"][0])
    res = options["training_set_kwargs"]["resolution"]
    if g_cfg.get("img_resolution") != res:
        raise UsageError(f"{Path(path).name} makes {g_cfg.get('img_resolution')}px images but the data is {res}px: "
                         f"make the dataset at {g_cfg.get('img_resolution')} (explorer dataset --resolution)")
    if g_cfg.get("c_dim", 0) != options["G_kwargs"]["c_dim"]:
        raise UsageError(f"{Path(path).name} has {g_cfg.get('c_dim', 0)} label dimensions, the training run "
                         f"{options['G_kwargs']['c_dim']} (check --cond and the dataset labels)")
    if g_cfg.get("img_channels") != options["G_kwargs"]["img_channels"]:
        raise UsageError(f"{Path(path).name} makes {g_cfg.get('img_channels')}-channel images, the data has "
                         f"{options['G_kwargs']['img_channels']}")
    options["G_kwargs"] = {"class_name": "explorer.models.stylegan2.Generator", **g_cfg}
    if "D" in nets and nets["D"][0]:
        # The minibatch-std group size shapes no tensor: the run's setting (--mbstd-group or the cfg's)
        # wins over the one the snapshot was trained with, so fine-tuning can change it.
        d_cfg = {**nets["D"][0], "mbstd_group_size": options["D_kwargs"]["mbstd_group_size"]}
        try:
            check_discriminator_config(d_cfg)
        except ValueError as exc:
            raise UsageError(f"{Path(path).name}: its discriminator config is unusable ({exc})") from None
        options["D_kwargs"] = {"class_name": "explorer.train.networks_d.Discriminator", **d_cfg}


def _describe(options: dict, data: Path) -> str:
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in data.stem) or "data"
    return (f"{options['cfg']}-{name}-gpus{options['num_gpus']}-batch{options['batch_size']}"
            f"-gamma{options['loss_kwargs']['r1_gamma']:g}")


def _worker(rank: int, world_size: int, device: str, init_method: str | None, options: dict) -> None:
    dist = distributed.init_process(rank, world_size, device, init_method)
    if options.get("threads"):
        # CPU training on a machine shared with other busy processes: torch's OpenMP threads spin at
        # every barrier while a sibling thread is descheduled, which was measured to make steps 10-50x
        # slower than one thread. --threads 1 (or OMP_WAIT_POLICY=PASSIVE in the environment) avoids it.
        torch.set_num_threads(int(options["threads"]))
    run_dir = Path(options["run_dir"])
    try:
        if dist.is_main:
            with RunLog(run_dir):
                TrainingLoop(options, dist).run()
        else:
            TrainingLoop(options, dist).run()
    finally:
        distributed.shutdown()


# ======================================================================================== the loop


class _StopSignal:
    """SIGTERM / SIGINT set a flag (checked once a step) instead of killing the process mid-write."""

    def __init__(self):
        self.flag = False
        self._old = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGTERM, signal.SIGINT):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        self.flag = True

    def __exit__(self, *exc):
        for s, handler in self._old.items():
            signal.signal(s, handler)
        return False


def _load_optimizer(opt: torch.optim.Optimizer, saved: dict, path: Path) -> None:
    """Adam's state from a resume file; a damaged one (wrong layout, or moments that do not match the
    parameters' shapes, which Adam would only notice at its next step) is a one-line error."""
    try:
        opt.load_state_dict(saved)
    except Exception as exc:
        raise snapshot.unusable_state(path, f"optimiser state: {type(exc).__name__}") from None
    for group in opt.param_groups:
        for param in group["params"]:
            for value in opt.state.get(param, {}).values():
                if isinstance(value, torch.Tensor) and value.dim() and value.shape != param.shape:
                    raise snapshot.unusable_state(path, "optimiser moments do not match the networks")


def _ignore_sigint(_worker_id: int) -> None:
    """Data-loader workers leave Ctrl-C to the trainer, which stops gracefully (they would just die)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _cpu_mem_gb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class TrainingLoop:
    def __init__(self, options: dict, dist: distributed.Dist):
        self.o = options
        self.dist = dist
        self.device = dist.device
        self.run_dir = Path(options["run_dir"])

    def log(self, text: str) -> None:
        if self.dist.is_main:
            print(text, flush=True)

    # ------------------------------------------------------------------------------------ building
    def _build(self):
        from explorer.models import build_generator

        o, dev = self.o, self.device
        rank, ws = self.dist.rank, self.dist.world_size
        seed = o["random_seed"] * ws + rank
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

        ts = o["training_set_kwargs"]
        self.dataset = ImageDataset(ts["path"], resolution=ts["resolution"], use_labels=ts["use_labels"], xflip=ts["xflip"],
                                    transform=ts.get("transform", "center-crop"))
        G_cfg = {k: v for k, v in o["G_kwargs"].items() if k != "class_name"}
        D_cfg = {k: v for k, v in o["D_kwargs"].items() if k != "class_name"}
        self.G_cfg, self.D_cfg = G_cfg, D_cfg
        self.G = build_generator(G_cfg).train().requires_grad_(False).to(dev)
        self.D = build_discriminator(D_cfg).train().requires_grad_(False).to(dev)
        self.G_ema = copy.deepcopy(self.G).eval()
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
            torch.backends.cuda.matmul.allow_tf32 = False  # as NVIDIA: TF32 hurts the regularisers' precision
            torch.backends.cudnn.allow_tf32 = False
            for g in (self.G, self.G_ema):
                if hasattr(g.synthesis, "allow_fp16"):
                    g.synthesis.allow_fp16 = True

        self.augment_pipe = None
        self.ada = None
        if o["augment"] != "noaug":
            self.augment_pipe = AugmentPipe.from_name(o["augment_pipe"]).train().requires_grad_(False).to(dev)
            self.augment_pipe.p.fill_(o["augment_p"])
            if o["augment"] == "ada":
                self.ada = AdaController(self.augment_pipe, o["ada_target"], o["ada_interval"], o["ada_kimg"])

        self.stats = Stats()
        lk = o["loss_kwargs"]
        self.loss = StyleGAN2Loss(self.G, self.D, self.augment_pipe, r1_gamma=lk["r1_gamma"],
                                  style_mixing_prob=lk["style_mixing_prob"], pl_weight=lk["pl_weight"],
                                  stats=self.stats, ada=self.ada)
        self.phases = []
        self.optimizers = {}
        for name, module, opt_kwargs, interval, active in [
            ("G", self.G, o["G_opt_kwargs"], o["G_reg_interval"], lk["pl_weight"] != 0),
            ("D", self.D, o["D_opt_kwargs"], o["D_reg_interval"], lk["r1_gamma"] != 0),
        ]:
            lr, (b1, b2), eps = opt_kwargs["lr"], opt_kwargs["betas"], opt_kwargs["eps"]
            params = list(module.parameters())
            if interval is None or not active:
                opt = torch.optim.Adam(params, lr=lr, betas=(float(b1), float(b2)), eps=eps)
                self.phases.append((name + "both", module, opt, 1))
            else:
                c = interval / (interval + 1)
                opt = torch.optim.Adam(params, lr=lr * c, betas=(float(b1) ** c, float(b2) ** c), eps=eps)
                self.phases += [(name + "main", module, opt, 1), (name + "reg", module, opt, interval)]
            self.optimizers[name] = opt

    def _load_resume(self):
        """Weights from the resume snapshot; counters, optimisers and p from the resume state."""
        o = self.o
        self.cur_nimg, self.cur_tick, self.batch_idx, self.total_time_before = 0, 0, 0, 0.0
        self._rng_to_restore = None
        if not o.get("resume"):
            return
        path = Path(o["resume"]["snapshot"])
        if o["resume"]["exact"]:
            state = snapshot.load_resume_state(Path(o["resume"]["state"]))
            nets = {prefix: (None, sd) for prefix, sd in state["networks"].items()}
            meta = {}
        else:
            meta, nets = snapshot.read_start_networks(path)
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            if prefix in nets:
                missing = snapshot.copy_params_and_buffers(nets[prefix][1], module)
                if missing and o["resume"]["exact"]:
                    raise snapshot.TrainingError(f"{path.name}: {prefix} does not match the run's networks ({missing[0]})")
        if "D" not in nets:
            self.log(f"note: {path.name} holds no discriminator: D starts from scratch")
        if not o["resume"]["exact"]:
            if self.augment_pipe is not None and o["augment"] == "ada" and "augment_p" in meta:
                self.augment_pipe.p.fill_(float(meta["augment_p"]))
            self.log(f"resuming weights from {path} (no resume state: counters and optimisers start fresh)")
            return
        self.cur_nimg = int(state["cur_nimg"])
        self.cur_tick = int(state["cur_tick"]) + 1  # the state was written at the end of that tick
        self.batch_idx = int(state["batch_idx"])
        self.total_time_before = float(state.get("total_time", 0.0))
        for name, opt in self.optimizers.items():
            _load_optimizer(opt, state["opt"][name], path)
        if self.augment_pipe is not None:
            self.augment_pipe.p.fill_(float(state["augment_p"]))
        if self.ada is not None:
            self.ada.sign_sum, self.ada.count = (float(v) for v in state["ada_acc"])
        self.loss.pl_mean.fill_(float(state["pl_mean"]))
        rngs = state["rng"]
        if len(rngs) == self.dist.world_size:
            self._rng_to_restore = rngs[self.dist.rank]
        self.log(f"resuming exactly from {path.parent.name}/{path.name} at kimg {self.cur_nimg / 1000:.3f}, tick {self.cur_tick}, "
                 f"augment p {float(state['augment_p']):.3f}")

    def _make_loader(self):
        o = self.o
        sampler = InfiniteSampler(len(self.dataset), self.dist.rank, self.dist.world_size, o["random_seed"], start=self.cur_nimg)
        kwargs = dict(batch_size=o["batch_gpu"], sampler=sampler, num_workers=o["workers"],
                      pin_memory=self.device.type == "cuda")
        if o["workers"] > 0:
            kwargs.update(prefetch_factor=2, persistent_workers=True, worker_init_fn=_ignore_sigint)
        return iter(torch.utils.data.DataLoader(self.dataset, **kwargs))

    # ------------------------------------------------------------------------------------ grids
    def _setup_grid(self):
        o = self.o
        cap = tuple(o["grid_max"]) if o.get("grid_max") else None
        self.grid = grid_size(self.dataset.resolution, cap)
        gw, gh = self.grid
        idx = grid_indices(self.dataset, gw, gh, seed=o["random_seed"])
        gen = torch.Generator().manual_seed(o["random_seed"])  # own generator: the same z every snapshot
        self.grid_z = torch.randn(gw * gh, self.G.z_dim, generator=gen)
        self.grid_c = torch.from_numpy(np.stack([self.dataset.label(i) for i in idx])).float()
        if self.dist.is_main:
            reals = np.stack([self.dataset[i][0] for i in idx])
            with writing(self.run_dir, "the image grids"):
                save_grid(reals, self.run_dir / REALS_FILE, self.grid)
                self._save_fakes(self.run_dir / FAKES_INIT_FILE)

    def _save_fakes(self, path: Path):
        images = []
        with torch.no_grad():
            for z, c in zip(self.grid_z.split(self.o["batch_gpu"]), self.grid_c.split(self.o["batch_gpu"])):
                ws = self.G_ema.mapping(z.to(self.device), c.to(self.device))
                images.append(self.G_ema.synthesis(ws, noise_mode="const").float().cpu())
        save_grid(torch.cat(images), path, self.grid)

    # ------------------------------------------------------------------------------------ snapshot
    def _snapshot(self, total_time: float) -> None:
        o, dist = self.o, self.dist
        rngs = dist.all_gather_object(snapshot.capture_rng())
        expected = 2 * sum(snapshot.state_bytes(m) for m in (self.G, self.G_ema, self.D))  # snapshot + state
        expected += 2 * sum(snapshot.state_bytes(m) for m in (self.G, self.D))  # Adam moments
        failure = None
        if dist.is_main:
            try:
                snapshot.check_disk_space(self.run_dir, expected)
            except snapshot.TrainingError as exc:
                failure = exc
        if dist.any_flag(failure is not None):
            raise failure or snapshot.TrainingError(f"{self.run_dir.name}: not enough free disk space for a snapshot")
        if dist.is_main:
            p = float(self.augment_pipe.p) if self.augment_pipe is not None else 0.0
            extra = {
                "kimg": f"{self.cur_nimg / 1000:.3f}",
                "cur_nimg": self.cur_nimg,
                "tick": self.cur_tick,
                "augment_p": f"{p:.6f}",
                "training_run": self.run_dir.name,
                "cfg": o["cfg"],
                "dataset": Path(o["training_set_kwargs"]["path"]).name,
            }
            networks = {"G_ema": (self.G_cfg, self.G_ema), "G": (self.G_cfg, self.G), "D": (self.D_cfg, self.D)}
            with writing(self.run_dir, "a snapshot"):
                snap_path = snapshot.save_snapshot(self.run_dir, self.cur_nimg, networks, extra)
                self._save_fakes(self.run_dir / fakes_name(self.cur_nimg))
            state = {
                "snapshot": snap_path.name,
                "cur_nimg": self.cur_nimg,
                "cur_tick": self.cur_tick,
                "batch_idx": self.batch_idx,
                "augment_p": p,
                "ada_acc": [self.ada.sign_sum, self.ada.count] if self.ada is not None else [0.0, 0.0],
                "pl_mean": float(self.loss.pl_mean),
                "opt": {name: opt.state_dict() for name, opt in self.optimizers.items()},
                "networks": {"G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict()},
                "rng": rngs,
                "world_size": dist.world_size,
                "total_time": total_time,
                "options": json.dumps(o),
            }
            with writing(self.run_dir, "the resume state"):
                snapshot.save_resume_state(self.run_dir, self.cur_nimg, state)
            if self.metric_runner is not None:
                with writing(self.run_dir, "a metric result"):
                    self.metric_runner.run(self.G_ema, self.run_dir, snap_path.name, dist.world_size)
        dist.barrier()

    # ------------------------------------------------------------------------------------ run
    def run(self) -> None:
        o, dist, dev = self.o, self.dist, self.device
        start_time = time.time()
        self._build()
        self._load_resume()
        for module in (self.G, self.D, self.G_ema):
            dist.broadcast_module(module)
        self.metric_runner = None
        if dist.is_main:
            self.log(f"training {o['cfg']} on {o['training_set_kwargs']['path']}: "
                     f"{len(self.dataset.names)} images at {self.dataset.resolution}x{self.dataset.resolution}"
                     f"{' (+ mirrored)' if self.dataset.xflip else ''}, {dist.world_size} process(es) on {dev.type}, "
                     f"batch {o['batch_size']}, {o['total_kimg']:g} kimg")
            for name, reason in self.dataset.skipped[:20]:
                self.log(f"skipped {name}: {reason}")
            self.metric_runner = MetricRunner(o["metrics"], o.get("feature_net"), self.dataset, dev, log=self.log)
        self._setup_grid()
        data_iter = self._make_loader()
        if self._rng_to_restore is not None:  # after the loader exists: its creation draws from the RNG
            snapshot.restore_rng(self._rng_to_restore)

        total_nimg = int(round(o["total_kimg"] * 1000))
        tick_nimg = o["kimg_per_tick"] * 1000
        tick_start_nimg = self.cur_nimg
        tick_start_time = time.time()
        maintenance_time = tick_start_time - start_time
        first_tick = self.cur_tick == 0
        stop = _StopSignal()
        stopped = False
        with stop:
            while True:
                real_img, real_c = next(data_iter)
                self.step(real_img, real_c)

                local_stop = stop.flag or (dist.is_main and stop_requested(self.run_dir))
                stopped = dist.any_flag(local_stop)
                done = self.cur_nimg >= total_nimg
                if not (done or stopped or first_tick) and self.cur_nimg < tick_start_nimg + tick_nimg:
                    continue
                first_tick = False

                # ---- tick end
                tick_end_time = time.time()
                total_time = self.total_time_before + tick_end_time - start_time
                names = LOSS_STATS + [f"Timing/{n}" for n in PHASE_NAMES]
                line = self.stats.collect(reduce=dist.all_reduce_sum, names=names)
                p = float(self.augment_pipe.p) if self.augment_pipe is not None else 0.0
                tick_imgs = max(self.cur_nimg - tick_start_nimg, 1)
                sec_per_tick = tick_end_time - tick_start_time
                scalars = {
                    "Progress/tick": self.cur_tick,
                    "Progress/kimg": self.cur_nimg / 1000,
                    "Progress/augment": p,
                    "Timing/total_sec": total_time,
                    "Timing/sec_per_tick": sec_per_tick,
                    "Timing/sec_per_kimg": sec_per_tick / tick_imgs * 1000,
                    "Timing/img_per_sec": tick_imgs / max(sec_per_tick, 1e-9),
                    "Timing/maintenance_sec": maintenance_time,
                    "Timing/total_hours": total_time / 3600,
                    "Timing/total_days": total_time / 86400,
                    "Resources/cpu_mem_gb": _cpu_mem_gb(),
                }
                if dev.type == "cuda":
                    scalars["Resources/peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated(dev) / 2**30
                    scalars["Resources/peak_gpu_mem_reserved_gb"] = torch.cuda.max_memory_reserved(dev) / 2**30
                    torch.cuda.reset_peak_memory_stats(dev)
                for key, value in scalars.items():
                    line[key] = {"num": 1, "mean": float(value), "std": 0.0}
                if dist.is_main:
                    with writing(self.run_dir, STATS_FILE):
                        append_stats(self.run_dir, line)
                    g = line.get("Loss/G/loss", {}).get("mean", float("nan"))
                    d = line.get("Loss/D/loss", {}).get("mean", float("nan"))
                    self.log(f"tick {self.cur_tick:<5d} kimg {self.cur_nimg / 1000:<8.3f} time {total_time:<8.1f} "
                             f"sec/kimg {scalars['Timing/sec_per_kimg']:<8.2f} img/s {scalars['Timing/img_per_sec']:<7.1f} "
                             f"maintenance {maintenance_time:<5.1f} cpumem {scalars['Resources/cpu_mem_gb']:<5.2f} "
                             f"augment {p:.3f} G {g:.3f} D {d:.3f}")

                maintenance_start = time.time()
                if done or stopped or self.cur_tick % o["snap"] == 0:
                    self._snapshot(total_time)
                self.cur_tick += 1
                tick_start_nimg = self.cur_nimg
                tick_start_time = time.time()
                maintenance_time = tick_start_time - maintenance_start
                if done or stopped:
                    break
        if dist.is_main:
            if stopped:
                clear_stop_request(self.run_dir)
                self.log(f"stopped on request at kimg {self.cur_nimg / 1000:.3f}; continue with --resume {self.run_dir}")
            else:
                with writing(self.run_dir, FINISHED_FILE):
                    (self.run_dir / FINISHED_FILE).write_text(f"{self.cur_nimg / 1000:.3f} kimg\n")
                self.log(f"done: {self.cur_nimg / 1000:.3f} kimg in {self.run_dir}")

    def step(self, real_img: torch.Tensor, real_c: torch.Tensor) -> None:
        """One training step on this process's share of the batch (uint8 images, labels)."""
        o, dist, dev = self.o, self.dist, self.device
        batch, batch_gpu = o["batch_size"], o["batch_gpu"]
        real_img = real_img.to(dev).float() / 127.5 - 1
        real_c = real_c.to(dev)
        all_z = torch.randn(len(self.phases), batch_gpu, self.G.z_dim).to(dev)
        all_c = self._gen_labels(len(self.phases) * batch_gpu).to(dev).split(batch_gpu)
        for (name, module, opt, interval), gen_z, gen_c in zip(self.phases, all_z, all_c):
            if self.batch_idx % interval != 0:
                continue
            t0 = time.perf_counter()
            module.requires_grad_(True)
            opt.zero_grad(set_to_none=True)
            self.loss.accumulate_gradients(name, real_img, real_c, gen_z, gen_c, gain=interval)
            module.requires_grad_(False)
            dist.average_gradients(list(module.parameters()))
            opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            self.stats.report(f"Timing/{name}", (time.perf_counter() - t0) * 1000)
        self._update_ema(batch)
        self.cur_nimg += batch
        self.batch_idx += 1
        if self.ada is not None and self.batch_idx % o["ada_interval"] == 0:
            self.ada.update(batch, reduce=dist.all_reduce_sum)

    def _gen_labels(self, n: int) -> torch.Tensor:
        if self.G.c_dim == 0:
            return torch.zeros(n, 0)
        idx = np.random.randint(len(self.dataset), size=n)
        return torch.from_numpy(np.stack([self.dataset.label(int(i)) for i in idx]))

    def _update_ema(self, batch: int) -> None:
        o = self.o
        ema_nimg = o["ema_kimg"] * 1000
        if o.get("ema_rampup"):
            ema_nimg = min(ema_nimg, self.cur_nimg * o["ema_rampup"])
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.copy_(p.detach().lerp(p_ema, beta))
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)
