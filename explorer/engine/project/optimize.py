"""Projection as one staged job: W, then W+ per row, then pivotal tuning (PTI) of a copy of the generator.

- **W** (NVIDIA's projector.py): one w, started at the mean of 10,000 mapped z and broadcast to every row;
  Adam with a linear learning-rate ramp-up over the first 5 % of the steps and a cosine ramp-down over the
  last 25 %; Gaussian noise on w that decays to nothing by 75 % of the steps (it shakes the optimisation
  out of shallow minima early on); the noise maps are optimised too, kept Gaussian by an auto-correlation
  penalty and re-normalised after every step.
- **W+**: every row on its own, starting from the W result, with the same schedule and no w noise (the
  start is already close), so coarse and fine rows can settle separately.
- **PTI** (Roich et al.): the pivot W+ fixed, the synthesis weights of a copy of the generator fine-tuned
  with a small learning rate; a locality term keeps the copy's images at random latents near the pivot as
  they were, so the tuned model still behaves like the original everywhere else.

The result is an ordinary W+ (NVIDIA's projected_w.npz layout) and, after PTI, the tuned generator. As in
NVIDIA's projector, the optimised noise maps are thrown away: a W+ latent renders with the model's own
noise, and PTI tunes around the pivot as it renders that way (the tuned model keeps the model's noise).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from explorer.engine.images import to_uint8
from explorer.engine.jobs import JobContext
from explorer.engine.latents import class_vector
from explorer.engine.project.losses import feature_distance, ms_ssim, psnr
from explorer.errors import UsageError

STAGES = ("w", "wplus", "pti")
STAGE_LABELS = {"w": "W", "wplus": "W+", "pti": "PTI"}
LOSSES = ("pixel", "ssim", "d", "vgg")
# Cost of one step relative to a W step (a PTI step also renders the locality sample twice).
STAGE_COST = {"w": 1.0, "wplus": 1.0, "pti": 2.2}  # measured: PTI 10.7-12.5 s per 100 steps, W 5.3-6
W_STATS_SEED = 123  # NVIDIA's projector maps z from RandomState(123) for w_avg and w_std


@dataclass(frozen=True)
class ProjectionOptions:
    """Everything that decides a projection (the CLI flags and the dialog's fields)."""

    stages: tuple[str, ...] = ("w", "wplus")
    w_steps: int = 300
    wplus_steps: int = 500
    pti_steps: int = 200
    losses: tuple[str, ...] = ("pixel", "ssim")
    pixel_norm: str = "l2"  # "l2" (what PSNR measures) or "l1"
    weights: dict = field(default_factory=lambda: {"pixel": 1.0, "ssim": 0.1, "d": 0.1, "vgg": 0.1})
    seed: int = 303  # NVIDIA's default: the initial noise maps and the w noise
    class_idx: int = 0
    w_lr: float = 0.1
    wplus_lr: float = 0.02
    pti_lr: float = 3e-4
    w_noise: float = 0.05  # initial w noise, in units of w_std
    lr_rampup: float = 0.05
    lr_rampdown: float = 0.25
    noise_ramp: float = 0.75
    optimise_noise: bool = True
    noise_regularize: float = 1e5
    locality_weight: float = 0.1  # PTI's own weight for its locality regulariser
    locality_radius: float = 1.0  # how far from the pivot the locality samples lie, in units of w_std
    w_avg_samples: int = 10_000
    preview_every: int = 10

    def __post_init__(self):
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown or not self.stages:
            raise UsageError(f"unknown projection stage {unknown[0] if unknown else '(none)'!r} (choose from: {', '.join(STAGES)})")
        order = [STAGES.index(s) for s in self.stages]
        if order != sorted(set(order)):
            raise UsageError(f"stages must be in the order w, wplus, pti without repeats, got {','.join(self.stages)}")
        bad = [name for name in self.losses if name not in LOSSES]
        if bad or not self.losses:
            raise UsageError(f"unknown loss {bad[0] if bad else '(none)'!r} (choose from: {', '.join(LOSSES)})")
        if self.pixel_norm not in ("l1", "l2"):
            raise UsageError(f"pixel norm must be l1 or l2, got {self.pixel_norm!r}")
        for stage in self.stages:
            if not 1 <= self.steps_of(stage) <= 100_000:
                raise UsageError(f"{STAGE_LABELS[stage]} steps must be 1..100000, got {self.steps_of(stage)}")

    def steps_of(self, stage: str) -> int:
        return {"w": self.w_steps, "wplus": self.wplus_steps, "pti": self.pti_steps}[stage]


@dataclass(frozen=True)
class ProjectionPreview:
    """What a watcher sees every few steps: the target beside the current reconstruction."""

    stage: str
    step: int
    steps: int
    target: np.ndarray  # [H, W, C] uint8
    image: np.ndarray  # [H, W, C] uint8
    loss: float
    psnr: float


@dataclass
class ProjectionResult:
    wplus: np.ndarray  # float32 [1, num_ws, w_dim]
    target: np.ndarray  # [H, W, C] uint8
    options: ProjectionOptions
    generator: torch.nn.Module | None = None  # the PTI-tuned copy; None without the PTI stage
    log: list[dict] = field(default_factory=list)  # one entry per step: stage, step, lr, loss and its parts
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage


def lr_ramp(t: float, rampup: float, rampdown: float) -> float:
    """NVIDIA's schedule factor at progress t in [0, 1): linear warm-up, then a cosine cool-down to 0."""
    ramp = 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1.0 - t) / rampdown))
    return ramp * min(1.0, t / rampup) if rampup > 0 else ramp


def noise_layers(synthesis: torch.nn.Module) -> list[torch.nn.Module]:
    """The layers with a constant noise map (StyleGAN2; StyleGAN3 has none)."""
    return [m for m in synthesis.modules() if getattr(m, "use_noise", False) and hasattr(m, "noise_const")]


def noise_regularization(maps: list[torch.Tensor]) -> torch.Tensor:
    """Squared auto-correlation at a one-pixel shift, at every scale of a 2x pyramid down to 8x8:
    zero for white noise, large when the maps start to carry image structure."""
    total = torch.zeros([])
    for noise in maps:
        x = noise[None, None]
        while True:
            total = total + (x * torch.roll(x, 1, dims=3)).mean().square() + (x * torch.roll(x, 1, dims=2)).mean().square()
            if x.shape[-1] <= 8:
                break
            x = torch.nn.functional.avg_pool2d(x, 2)
    return total


def image_tensor(pixels: np.ndarray, device) -> torch.Tensor:
    """[H, W, C] uint8 -> [1, C, H, W] float in [-1, 1] (the inverse of images.to_uint8)."""
    return torch.from_numpy(np.array(pixels)).to(device).permute(2, 0, 1)[None].float() / 127.5 - 1


class Objective:
    """The distance of an image to the target: a weighted sum of the chosen loss terms."""

    def __init__(self, target: torch.Tensor, options: ProjectionOptions, d_features=None, vgg=None):
        self.target = target
        self.options = options
        self.extractors = {"d": d_features, "vgg": vgg}
        for name in ("d", "vgg"):
            if name in options.losses and self.extractors[name] is None:
                raise UsageError(f"the {name} loss needs its network ({'a model file with a discriminator' if name == 'd' else '--vgg FILE'})")
        with torch.no_grad():
            self.target_features = {name: self.extractors[name](target) for name in ("d", "vgg") if name in options.losses}

    def parts(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for name in self.options.losses:
            if name == "pixel":
                diff = image - self.target
                out[name] = (diff.abs() if self.options.pixel_norm == "l1" else diff.square()).mean()
            elif name == "ssim":
                out[name] = (1 - ms_ssim(image, self.target)).mean()
            else:
                out[name] = feature_distance(self.extractors[name](image), self.target_features[name]).mean()
        return out

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        parts = self.parts(image)
        total = sum(self.options.weights.get(name, 1.0) * value for name, value in parts.items())
        return total, {name: float(value.detach()) for name, value in parts.items()}


class Projector:
    """Runs the stages on a private copy of a generator (the original is only read)."""

    def __init__(self, generator: torch.nn.Module, target: np.ndarray, options: ProjectionOptions,
                 ctx: JobContext | None = None, d_features=None, vgg=None,
                 on_frame: Callable[[np.ndarray], None] | None = None,
                 on_stage: Callable[[str], None] | None = None):
        self.original = generator
        self.options = options
        self.ctx = ctx or JobContext()
        self.on_frame = on_frame  # gets [target | reconstruction] after every step (the projection video)
        self.on_stage = on_stage  # gets each stage's announcement with its time estimate (the CLI prints it)
        self.device = generator.mapping.w_avg.device
        if generator.c_dim and not 0 <= options.class_idx < generator.c_dim:
            raise UsageError(f"class {options.class_idx} is out of range 0..{generator.c_dim - 1}")
        channels = getattr(generator.synthesis, "img_channels", 3)
        expected = (generator.img_resolution, generator.img_resolution, channels)
        if tuple(target.shape) != expected:
            raise UsageError(f"target is {target.shape}, the model needs {expected}")
        self.target_pixels = target
        self.objective = Objective(image_tensor(target, self.device), options, d_features, vgg)
        self.g = copy.deepcopy(generator).eval().requires_grad_(False)
        self.rng = torch.Generator(device="cpu").manual_seed(options.seed)
        self.log: list[dict] = []
        self.seconds: dict[str, float] = {}
        self.seconds_per_step: float | None = None  # of a W step, measured, for the estimates
        self._done_cost = 0.0
        self._total_cost = sum(STAGE_COST[s] * options.steps_of(s) for s in options.stages)

    # ---- running --------------------------------------------------------------------------------------

    def run(self) -> ProjectionResult:
        o = self.options
        self.w_avg, self.w_std = self._w_stats()
        self.noise = self._start_noise()
        self.seconds_per_step = self._probe()
        wplus = self.w_avg.reshape(1, 1, -1).repeat(1, self.g.num_ws, 1)
        tuned = None
        for stage in o.stages:
            self.ctx.check()
            self._announce(stage)
            started = time.perf_counter()
            if stage == "w":
                wplus = self._stage_w()
            elif stage == "wplus":
                wplus = self._stage_wplus(wplus)
            else:
                tuned = self._stage_pti(wplus)
            self.seconds[stage] = time.perf_counter() - started
            self.seconds_per_step = self.seconds[stage] / (o.steps_of(stage) * STAGE_COST[stage])
        return ProjectionResult(wplus=wplus.detach().cpu().numpy().astype(np.float32), target=self.target_pixels,
                                options=o, generator=tuned, log=self.log, seconds=self.seconds)

    def estimate(self, stage: str) -> float:
        """Seconds the stage should take, from the speed measured so far."""
        return self.options.steps_of(stage) * STAGE_COST[stage] * (self.seconds_per_step or 0.0)

    def _announce(self, stage: str) -> None:
        steps = self.options.steps_of(stage)
        seconds = self.estimate(stage)
        text = f"{STAGE_LABELS[stage]}: {steps} steps, about {seconds:.0f} s ({100 * seconds / steps:.1f} s per 100 steps)"
        self.ctx.progress(self._done_cost / self._total_cost, text)
        if self.on_stage is not None:
            self.on_stage(text)

    def _w_stats(self) -> tuple[torch.Tensor, float]:
        """w_avg and the scalar w_std of ``w_avg_samples`` mapped z, as NVIDIA's projector computes them."""
        g, n = self.g, self.options.w_avg_samples
        z = torch.from_numpy(np.random.RandomState(W_STATS_SEED).randn(n, g.z_dim)).float().to(self.device)
        c = class_vector(g.c_dim, self.options.class_idx).to(self.device).repeat(n, 1) if g.c_dim else None
        with torch.no_grad():
            w = torch.cat([g.mapping(z[i:i + 1000], None if c is None else c[i:i + 1000])[:, 0] for i in range(0, n, 1000)])
        w_avg = w.mean(dim=0)
        return w_avg, float(((w - w_avg).square().sum() / n).sqrt())

    def _start_noise(self) -> list[torch.Tensor]:
        """Fresh N(0, 1) noise maps put into the copy's layers (or the model's own, kept fixed)."""
        maps = []
        for layer in noise_layers(self.g.synthesis):
            if self.options.optimise_noise:
                noise = torch.randn(layer.noise_const.shape, generator=self.rng).to(self.device).requires_grad_(True)
                layer.noise_const = noise
            maps.append(layer.noise_const)
        return maps if self.options.optimise_noise else []

    def _probe(self) -> float:
        """Seconds of one W step (one render, its loss and the backward pass), timed after a warm-up."""
        w = self.w_avg.reshape(1, 1, -1).repeat(1, self.g.num_ws, 1).requires_grad_(True)
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            loss, _ = self.objective(self.g.synthesis(w, noise_mode="const"))
            loss.backward()
            timings.append(time.perf_counter() - started)
        return timings[-1]

    def _loop(self, stage: str, params: list[torch.Tensor], lr0: float, step_fn) -> None:
        """The optimisation loop shared by the stages: the schedule, logging, progress, previews, cancel.

        ``step_fn(t)`` renders at progress t and returns (image, loss to minimise, logged parts).
        """
        o = self.options
        steps = o.steps_of(stage)
        optimizer = torch.optim.Adam(params, betas=(0.9, 0.999), lr=lr0)
        started = time.perf_counter()
        for step in range(steps):
            self.ctx.check()
            t = step / steps
            lr = lr0 * lr_ramp(t, o.lr_rampup, o.lr_rampdown)
            for group in optimizer.param_groups:
                group["lr"] = lr
            image, loss, parts = step_fn(t)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():  # keep the noise maps white: zero mean, unit variance
                for noise in self.noise:
                    noise -= noise.mean()
                    noise *= noise.square().mean().rsqrt()
            value = float(loss.detach())
            self.log.append({"stage": stage, "step": step, "lr": lr, "loss": value, **parts})
            self._report(stage, step, steps, image.detach(), value, started)

    def _report(self, stage: str, step: int, steps: int, image: torch.Tensor, loss: float, started: float) -> None:
        self._done_cost += STAGE_COST[stage]
        last = step == steps - 1
        if self.on_frame is not None:
            self.on_frame(np.concatenate([self.target_pixels, to_uint8(image)[0]], axis=1))
        if step % self.options.preview_every == 0 or last:
            elapsed = time.perf_counter() - started
            left = elapsed / (step + 1) * (steps - step - 1)
            quality = float(psnr(image, self.objective.target)[0])
            self.ctx.progress(self._done_cost / self._total_cost,
                              f"{STAGE_LABELS[stage]} step {step + 1}/{steps}: loss {loss:.4f}, "
                              f"{quality:.1f} dB, {left:.0f} s left")
            self.ctx.preview(ProjectionPreview(stage, step + 1, steps, self.target_pixels, to_uint8(image)[0],
                                               loss, quality))

    # ---- the stages -----------------------------------------------------------------------------------

    def _with_noise_penalty(self, distance: torch.Tensor, parts: dict) -> tuple[torch.Tensor, dict]:
        """The distance plus the noise maps' penalty (logged on its own: it dwarfs the distance at first)."""
        if not self.noise:
            return distance, parts
        penalty = self.options.noise_regularize * noise_regularization(self.noise)
        return distance + penalty, {**parts, "noise_reg": float(penalty.detach())}

    def _stage_w(self) -> torch.Tensor:
        o, g = self.options, self.g
        w = self.w_avg.clone()[None, None].requires_grad_(True)

        def step(t):
            scale = self.w_std * o.w_noise * max(0.0, 1.0 - t / o.noise_ramp) ** 2
            shaken = w + scale * torch.randn(w.shape, generator=self.rng).to(self.device)
            image = g.synthesis(shaken.repeat(1, g.num_ws, 1), noise_mode="const")
            return image, *self._with_noise_penalty(*self.objective(image))

        self._loop("w", [w] + self.noise, o.w_lr, step)
        return w.detach().repeat(1, g.num_ws, 1)

    def _stage_wplus(self, start: torch.Tensor) -> torch.Tensor:
        g = self.g
        wplus = start.detach().clone().requires_grad_(True)

        def step(t):
            image = g.synthesis(wplus, noise_mode="const")
            return image, *self._with_noise_penalty(*self.objective(image))

        self._loop("wplus", [wplus] + self.noise, self.options.wplus_lr, step)
        return wplus.detach()

    def _stage_pti(self, pivot: torch.Tensor) -> torch.nn.Module:
        """Fine-tune a copy of the synthesis network so that the pivot renders the target.

        The copy starts from the pivot as the W+ result shows it (with the model's own noise maps, as the
        W+ renders), and the weights of the step that rendered the pivot closest to the target are kept:
        once the reconstruction is nearly exact Adam's normalised steps can wander, and PTI must never
        end worse than the pivot it started from.
        """
        o = self.options
        reference = self.g  # the untuned copy with the model's own noise maps, frozen
        for mine, original in zip(noise_layers(reference.synthesis), noise_layers(self.original.synthesis)):
            mine.noise_const = original.noise_const.detach().clone()
        self.noise = []  # nothing but weights moves from here on
        tuned = copy.deepcopy(reference)
        tuned.synthesis.requires_grad_(True)
        pivot = pivot.detach()
        z_dim, c_dim = self.g.z_dim, self.g.c_dim
        c = class_vector(c_dim, o.class_idx).to(self.device) if c_dim else None
        best = {"distance": math.inf, "weights": None}

        def step(t):
            image = tuned.synthesis(pivot, noise_mode="const")
            distance, parts = self.objective(image)
            if float(distance.detach()) < best["distance"]:  # these weights (before this step's update)
                best["distance"] = float(distance.detach())
                best["weights"] = {k: v.detach().clone() for k, v in tuned.synthesis.state_dict().items()}
            nearby = self._near_pivot(pivot, z_dim, c)
            with torch.no_grad():
                before = reference.synthesis(nearby, noise_mode="const")
            locality = (tuned.synthesis(nearby, noise_mode="const") - before).square().mean()
            return image, distance + o.locality_weight * locality, {**parts, "locality": float(locality.detach())}

        params = [p for p in tuned.synthesis.parameters() if p.requires_grad]
        self._loop("pti", params, o.pti_lr, step)
        with torch.no_grad():
            final, _ = self.objective(tuned.synthesis(pivot, noise_mode="const"))
        if float(final) > best["distance"]:
            tuned.synthesis.load_state_dict(best["weights"])
        return tuned.eval().requires_grad_(False)

    def _near_pivot(self, pivot: torch.Tensor, z_dim: int, c) -> torch.Tensor:
        """A W+ a fixed distance from the pivot toward a random mapped z, row by row (PTI's locality sample)."""
        z = torch.randn([1, z_dim], generator=self.rng).to(self.device)
        with torch.no_grad():
            w = self.g.mapping(z, c)
        direction = w - pivot
        direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        return pivot + self.options.locality_radius * self.w_std * direction


def project(generator: torch.nn.Module, target: np.ndarray, options: ProjectionOptions | None = None,
            ctx: JobContext | None = None, d_features=None, vgg=None,
            on_frame: Callable[[np.ndarray], None] | None = None,
            on_stage: Callable[[str], None] | None = None) -> ProjectionResult:
    """Project ``target`` ([R, R, C] uint8 at the model's size) with ``options``; see the module docstring."""
    return Projector(generator, target, options or ProjectionOptions(), ctx, d_features, vgg, on_frame, on_stage).run()
