"""Checking a run's options as read back from a resume state (a file, so possibly damaged or hostile).

The trainer trusts nothing in it: each value the loop uses must have its type and a sane range, file
paths in it are never opened (the feature network only ever comes from the command line), and the
network configs must build -- on PyTorch's ``meta`` device, which allocates nothing -- to exactly the
tensors the state holds, so an absurd config cannot make the trainer allocate more than the file did.
"""

from __future__ import annotations

import torch

from explorer.train.metrics import parse_metric

AUG_MODES = ("ada", "fixed", "noaug")
# key -> (low, high) for numbers, or a tuple of allowed values; None allowed where marked with "?".
_NUMBERS = {
    "batch_size": (1, 65536), "num_gpus": (1, 1024), "batch_gpu": (1, 65536), "total_kimg": (0, 1e9),
    "kimg_per_tick": (1e-6, 1e9), "snap": (1, 1e9), "random_seed": (0, 2**32 - 1), "workers": (0, 256),
    "augment_p": (0, 1), "ada_interval": (1, 1e6), "ada_kimg": (1e-6, 1e9), "ema_kimg": (0, 1e9),
    "ada_target?": (0, 1), "ema_rampup?": (0, 1e3), "G_reg_interval?": (1, 1e6), "D_reg_interval?": (1, 1e6),
}
_LOSS = {"r1_gamma": (0, 1e9), "style_mixing_prob": (0, 1), "pl_weight": (0, 1e9)}


def _number(value, low, high, integer=False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float) if not integer else int):
        return False
    return low <= value <= high


def run_options_problem(options, networks: dict) -> str | None:
    """Why ``options`` (a resume state's run options) cannot drive the loop, or None."""
    if not isinstance(options, dict):
        return "the run options are not a JSON object"
    for key, (low, high) in _NUMBERS.items():
        optional = key.endswith("?")
        key = key.rstrip("?")
        value = options.get(key)
        if optional and value is None:
            continue
        integer = key in ("batch_size", "num_gpus", "batch_gpu", "snap", "random_seed", "workers", "ada_interval",
                          "G_reg_interval", "D_reg_interval")
        if not _number(value, low, high, integer):
            return f"options {key} is missing or out of range"
    if options["batch_size"] != options["batch_gpu"] * options["num_gpus"]:
        return "options batch_size is not batch_gpu x num_gpus"
    if options.get("augment") not in AUG_MODES or options.get("augment_pipe") != "bgc":
        return "options augment is not one of " + ", ".join(AUG_MODES)
    loss = options.get("loss_kwargs")
    if not isinstance(loss, dict) or not all(_number(loss.get(k), lo, hi) for k, (lo, hi) in _LOSS.items()):
        return "options loss_kwargs is missing or out of range"
    for name in ("G_opt_kwargs", "D_opt_kwargs"):
        opt = options.get(name)
        if not (isinstance(opt, dict) and _number(opt.get("lr"), 1e-12, 10) and _number(opt.get("eps"), 1e-30, 1)
                and isinstance(opt.get("betas"), list) and len(opt["betas"]) == 2
                and all(_number(b, 0, 0.999999) for b in opt["betas"])):
            return f"options {name} is missing or out of range"
    grid = options.get("grid_max")
    if grid is not None and not (isinstance(grid, list) and len(grid) == 2 and all(_number(v, 1, 32, True) for v in grid)):
        return "options grid_max is not two grid sizes"
    metrics = options.get("metrics")
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        return "options metrics is not a list of names"
    try:
        for name in metrics:
            parse_metric(name)
    except Exception as exc:
        return f"options metrics: {exc}"
    ts = options.get("training_set_kwargs")
    if not (isinstance(ts, dict) and _number(ts.get("resolution"), 4, 4096, True)
            and isinstance(ts.get("use_labels"), bool) and isinstance(ts.get("xflip"), bool)):
        return "options training_set_kwargs is missing or out of range"
    return _networks_problem(options, networks)


def _networks_problem(options: dict, networks: dict) -> str | None:
    from explorer.models import build_generator
    from explorer.train.networks_d import build_discriminator

    built = {}
    for prefix, key, build in (("G", "G_kwargs", build_generator), ("D", "D_kwargs", build_discriminator)):
        config = options.get(key)
        if not isinstance(config, dict):
            return f"options {key} is missing"
        config = {k: v for k, v in config.items() if k != "class_name"}
        try:
            with torch.device("meta"):  # shapes only: nothing is allocated, whatever the config says
                built[prefix] = {k: tuple(t.shape) for k, t in build(config).state_dict().items()}
        except Exception as exc:
            return f"options {key} does not describe a network ({type(exc).__name__})"
    built["G_ema"] = built["G"]
    for prefix, shapes in built.items():
        saved = {k: tuple(t.shape) for k, t in networks[prefix].items()}
        if saved != shapes:
            return f"the {prefix} tensors do not match the run's {prefix} network"
    return None
