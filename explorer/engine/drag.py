"""Point dragging (DragGAN, Pan et al., SIGGRAPH 2023) on our StyleGAN2 / StyleGAN3 generators, any device.

The artist sets handle points and where each should go (targets), optionally a mask of what may change.
Each step of the optimisation

1. synthesizes the current W+ and reads the **features** of one intermediate synthesis block (a forward
   hook; ``feature_layer`` says which);
2. **tracks** every handle: its new position is the pixel, within ``track_radius`` of where it was, whose
   feature is nearest (L1) to the handle's feature in the first step;
3. stops when every handle is within ``stop_distance`` pixels of its target;
4. else takes one Adam step on the first ``rows`` rows of W+ (the later rows stay as they were) against the
   **motion supervision** loss: for each handle p with target t, d = (t - p) / |t - p|, the features on a
   disc of radius ``motion_radius`` around p are pulled one pixel along d,
   ``sum_q |F(q + d) - F(q).detach()|_1``; with a mask, ``mask_weight * |(F - F_0) * (1 - mask)|_1`` keeps
   the features outside the mask where they were in the first step.

Features are sampled bilinearly from the block's output at the image's pixel centres (grid_sample), which
is what the paper's bilinear resize to the image size gives at those points, without building the resized
map. Points are (x, y) in pixels of the model's image, (0, 0) the top-left pixel.

The drag starts from whatever W+ the state renders (a seed with truncation, mixing and edits, a projected
photo, an earlier drag) and its result is a final W+ latent (``dragged_state``) carrying a ``DragRecord``:
a PNG of it reopens to the same image. The optimisation is a job (explorer/engine/jobs.py): it reports
progress, previews every step (a ``DragStep``) and stops early, keeping what it has, when ``should_stop``
says so.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from explorer.engine.images import to_uint8, upscale_nearest, watchable_factor
from explorer.engine.jobs import JobContext
from explorer.engine.render import Renderer
from explorer.engine.state import MAX_DRAG_POINTS, DragRecord, Latent, State
from explorer.errors import StateError, UsageError

DEFAULT_ROWS = 6  # the paper optimises the first 6 rows of W+
FINEST_FEATURES = 32  # features never coarser than this many pixels across (small models)


# ---- which features -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureLayer:
    """The synthesis module whose output the drag reads, and how its output lines up with the image."""

    name: str
    module: torch.nn.Module
    margin: int  # feature pixels on each side outside the image (StyleGAN3's layers carry a margin)
    resolution: int  # feature pixels across the image, after the margin is cut
    # StyleGAN2 modulates the activations rather than the weights (fused_modconv=False): the same maths,
    # but the backward pass then needs no gradient of per-sample weights, which halves its cost.
    synthesis_kwargs: dict = dataclasses.field(default_factory=dict)


def feature_resolution(img_resolution: int) -> int:
    """Features a quarter of the image across, but at least 32 px (or the whole image if it is smaller).

    A quarter is the paper's choice on its 512 px StyleGAN2 models (the 6th block, 128 px): fine enough to
    place points, deep enough to know what is where. 256 px models get 64 px features, the bundled 64 px
    model 32 px ones (16 px would make every handle's neighbourhood a large share of the image).
    """
    return min(img_resolution, max(img_resolution // 4, FINEST_FEATURES))


def feature_layer(generator: torch.nn.Module) -> FeatureLayer:
    """The layer whose output gives the drag's features, for a StyleGAN2 or StyleGAN3 generator.

    StyleGAN2: the output of the synthesis block at ``feature_resolution`` (after both its convolutions).
    StyleGAN3: the first layer that reaches that sampling rate (the ToRGB layer excluded); its output
    holds a margin around the image, cut here so that feature and image pixels line up.
    """
    synthesis = generator.synthesis
    target = feature_resolution(generator.img_resolution)
    if hasattr(synthesis, "block_resolutions"):
        res = min(r for r in synthesis.block_resolutions if r >= target)
        return FeatureLayer(f"b{res}", getattr(synthesis, f"b{res}"), 0, res, {"fused_modconv": False})
    names = synthesis.layer_names[:-1]
    layers = [getattr(synthesis, n) for n in names]
    index = next((i for i, layer in enumerate(layers) if layer.out_sampling_rate >= target), len(layers) - 1)
    layer = layers[index]
    return FeatureLayer(names[index], layer, (layer.out_size - layer.out_sampling_rate) // 2,
                        layer.out_sampling_rate)


class FeatureTap:
    """Keeps the last output of a ``FeatureLayer`` while in a ``with`` block (a forward hook).

    The layers after the tap only make the image, which needs no gradient: the hook switches autograd
    off for them (they take the generators' inference paths and record no graph), and leaving the block
    switches it back to what it was.
    """

    def __init__(self, layer: FeatureLayer):
        self.layer = layer
        self.features: torch.Tensor | None = None

    def __enter__(self) -> "FeatureTap":
        self._grad_enabled = torch.is_grad_enabled()
        self._handle = self.layer.module.register_forward_hook(self._keep)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()
        torch.set_grad_enabled(self._grad_enabled)

    def _keep(self, module, inputs, output) -> None:
        x = output[0] if isinstance(output, tuple) else output  # StyleGAN2 blocks return (x, img)
        m = self.layer.margin
        self.features = (x[..., m:x.shape[-2] - m, m:x.shape[-1] - m] if m else x).float()
        torch.set_grad_enabled(False)


# ---- sampling features at image points ------------------------------------------------------------------

def sample(features: torch.Tensor, points: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Features [1, C, h, w] at image points [..., 2] (x, y pixels of an image ``size`` (H, W)) -> [..., C]."""
    height, width = size
    grid = torch.stack([(points[..., 0] + 0.5) / width * 2 - 1, (points[..., 1] + 0.5) / height * 2 - 1], dim=-1)
    flat = grid.reshape(1, -1, 1, 2).to(features.dtype)
    values = F.grid_sample(features, flat, mode="bilinear", padding_mode="border", align_corners=False)
    return values[0, :, :, 0].t().reshape(*points.shape[:-1], features.shape[1])


def disc_offsets(radius: int) -> torch.Tensor:
    """Integer offsets [K, 2] within ``radius`` (the motion supervision's neighbourhood)."""
    r = torch.arange(-radius, radius + 1, dtype=torch.float32)
    grid = torch.stack(torch.meshgrid(r, r, indexing="xy"), dim=-1).reshape(-1, 2)
    return grid[grid.norm(dim=1) <= radius + 1e-6]


def square_offsets(radius: int) -> torch.Tensor:
    """Integer offsets [(2r + 1)^2, 2] of a square patch (the tracking's search window)."""
    r = torch.arange(-radius, radius + 1, dtype=torch.float32)
    return torch.stack(torch.meshgrid(r, r, indexing="xy"), dim=-1).reshape(-1, 2)


# ---- masks ----------------------------------------------------------------------------------------------

def encode_mask(mask: np.ndarray) -> str:
    """A bool mask [H, W] as text for a recipe: "HxW:" and the base64 of its zlib-compressed bits."""
    mask = np.asarray(mask, dtype=bool)
    bits = zlib.compress(np.packbits(mask).tobytes(), 9)
    return f"{mask.shape[0]}x{mask.shape[1]}:" + base64.b64encode(bits).decode("ascii")


def decode_mask(text: str) -> np.ndarray:
    """The inverse of ``encode_mask``; a damaged text raises StateError."""
    try:
        size, _, payload = text.partition(":")
        height, width = (int(v) for v in size.split("x"))
        if not (0 < height <= 1 << 14 and 0 < width <= 1 << 14):
            raise ValueError(f"mask size {height}x{width} is out of range")
        bits = zlib.decompressobj().decompress(base64.b64decode(payload, validate=True), (height * width + 7) // 8)
        mask = np.unpackbits(np.frombuffer(bits, np.uint8), count=height * width)
        return mask.reshape(height, width).astype(bool)
    except (ValueError, zlib.error) as exc:
        raise StateError(None, f"damaged drag mask ({exc})") from None


# ---- the drag -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DragSpec:
    """What to drag, and how. Radii and distances are in pixels of the model's image. ``None`` radii and
    learning rate scale with the image: the paper's 3 and 12 px at 512 px (never below 2 and 3 px), and its
    Adam rate 0.002 at 512 px, larger for smaller images, where one pixel of motion is a larger change
    (0.016 at 64 px)."""

    handles: tuple[tuple[float, float], ...]
    targets: tuple[tuple[float, float], ...]
    mask: np.ndarray | None = None  # bool [H, W]: True where the image may change; None: everywhere
    steps: int = 200
    rows: int | None = None  # leading W+ rows optimised; None: min(6, num_ws)
    lr: float | None = None
    motion_radius: int | None = None
    track_radius: int | None = None
    mask_weight: float = 20.0
    stop_distance: float = 1.0

    def __post_init__(self):
        handles = tuple((float(x), float(y)) for x, y in self.handles)
        targets = tuple((float(x), float(y)) for x, y in self.targets)
        if not handles or len(handles) != len(targets):
            raise UsageError("a drag needs one target per handle (and at least one handle)")
        if len(handles) > MAX_DRAG_POINTS:
            raise UsageError(f"a drag takes at most {MAX_DRAG_POINTS} handles, got {len(handles)}")
        if not all(math.isfinite(v) for p in handles + targets for v in p):
            raise UsageError("drag points must be finite numbers")
        object.__setattr__(self, "handles", handles)
        object.__setattr__(self, "targets", targets)
        if not isinstance(self.steps, int) or self.steps < 0:
            raise UsageError(f"drag steps must be a non-negative integer, got {self.steps!r}")
        if self.rows is not None and (not isinstance(self.rows, int) or self.rows < 1):
            raise UsageError(f"drag rows must be a positive integer, got {self.rows!r}")
        if (self.lr is not None and not self.lr > 0) or not self.stop_distance > 0 or self.mask_weight < 0:
            raise UsageError("drag lr and stop distance must be positive, the mask weight not negative")

    def check(self, size: tuple[int, int]) -> None:
        """Refuse points outside an image of ``size`` (H, W) and a mask of another size, in one line."""
        height, width = size
        for what, points in (("handle", self.handles), ("target", self.targets)):
            for x, y in points:
                if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
                    raise UsageError(f"{what} {x:g},{y:g} is outside the {width}x{height} image")
        if self.mask is not None:
            if self.mask.shape != (height, width):
                raise UsageError(f"the mask is {self.mask.shape[1]}x{self.mask.shape[0]}, the image {width}x{height}")
            if not self.mask.any():
                raise UsageError("the mask is empty: nothing would be free to move")

    def radii(self, img_resolution: int) -> tuple[int, int]:
        scale = img_resolution / 512
        motion = self.motion_radius if self.motion_radius is not None else max(2, round(3 * scale))
        track = self.track_radius if self.track_radius is not None else max(3, round(12 * scale))
        return motion, track

    def learning_rate(self, img_resolution: int) -> float:
        return self.lr if self.lr is not None else 2e-3 * max(1.0, 512 / img_resolution)


@dataclass(frozen=True)
class DragStep:
    """One step, for previews and the step video: the image of the W+ the step started from."""

    step: int
    steps: int
    image: np.ndarray  # [H, W, C] uint8
    handles: tuple[tuple[float, float], ...]  # tracked positions in this image
    distance: float  # the largest handle-to-target distance, pixels


@dataclass(frozen=True)
class DragResult:
    wplus: np.ndarray  # float32 [num_ws, w_dim]
    image: np.ndarray  # [H, W, C] uint8 of wplus
    handles: tuple[tuple[float, float], ...]  # where the tracked handles ended
    steps: int  # optimiser steps taken
    rows: int
    reached: bool  # every handle within stop_distance of its target

    def record(self, spec: DragSpec) -> DragRecord:
        """The provenance entry of this drag."""
        mask = None if spec.mask is None else encode_mask(spec.mask)
        return DragRecord(handles=spec.handles, targets=spec.targets, reached=self.handles, steps=self.steps,
                          rows=self.rows, mask=mask)


def drag(ctx: JobContext, renderer: Renderer, state: State, spec: DragSpec,
         should_stop: Callable[[], bool] | None = None) -> DragResult:
    """Drag ``spec``'s handles toward its targets, starting from the W+ ``state`` renders (see the module
    docstring). ``should_stop`` ends the drag early with what it has; ``ctx.check()`` cancels it."""
    generator, synthesis_kwargs = renderer.synthesis_call(state)
    size = (generator.img_resolution, generator.img_resolution)
    spec.check(size)
    num_ws = generator.num_ws
    rows = min(spec.rows or DEFAULT_ROWS, num_ws)
    motion_radius, track_radius = spec.radii(generator.img_resolution)
    device = renderer.device
    w_start = renderer.wplus(state).detach().clone().to(device)  # a normal tensor (the cache's are inference ones)
    w_rows = w_start[:rows].clone().requires_grad_(True)
    optimizer = torch.optim.Adam([w_rows], lr=spec.learning_rate(generator.img_resolution))
    handles = torch.tensor(spec.handles, device=device)
    targets = torch.tensor(spec.targets, device=device)
    disc = disc_offsets(motion_radius).to(device)
    patch = square_offsets(track_radius).to(device)
    limit = torch.tensor([size[1] - 1, size[0] - 1], dtype=torch.float32, device=device)
    keep = None  # [1, 1, h, w]: 1 where features must stay (outside the mask), at the features' size
    handle_features = start_features = None
    layer = feature_layer(generator)

    def forward(w_rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        wplus = torch.cat([w_rows, w_start[rows:]])[None]
        with FeatureTap(layer) as tap:
            image = generator.synthesis(wplus, **synthesis_kwargs, **layer.synthesis_kwargs)
        return tap.features, image

    step = 0
    with torch.enable_grad():
        while True:
            features, image = forward(w_rows)
            with torch.no_grad():
                if handle_features is None:
                    handle_features = sample(features, handles, size)  # f_0 of each handle
                    start_features = features.detach().clone()
                    if spec.mask is not None:
                        free = torch.from_numpy(spec.mask.astype(np.float32)).to(device)[None, None]
                        keep = 1 - F.interpolate(free, size=features.shape[-2:], mode="area")
                else:
                    handles = track(features, handles, handle_features, patch, limit, size)
                distances = (targets - handles).norm(dim=1)
            ctx.preview(DragStep(step, spec.steps, to_uint8(image)[0], _points(handles), float(distances.max())))
            ctx.progress(step / max(spec.steps, 1), f"drag step {step}/{spec.steps}: "
                                                    f"{float(distances.max()):.1f} px to go")
            reached = bool((distances <= spec.stop_distance).all())
            if reached or step >= spec.steps or (should_stop is not None and should_stop()):
                break
            ctx.check()
            loss = motion_loss(features, handles, targets, distances > spec.stop_distance, disc, size)
            if keep is not None and spec.mask_weight:
                loss = loss + spec.mask_weight * ((features - start_features) * keep).abs().mean()
            (grad,) = torch.autograd.grad(loss, [w_rows])  # not into the generator's weights
            w_rows.grad = grad
            optimizer.step()
            step += 1
    ctx.progress(1.0, f"drag {'reached its targets' if reached else 'stopped'} after {step} steps")
    wplus = torch.cat([w_rows.detach(), w_start[rows:]])
    return DragResult(wplus.cpu().numpy().astype(np.float32), to_uint8(image)[0], _points(handles), step, rows,
                      reached)


def motion_loss(features: torch.Tensor, handles: torch.Tensor, targets: torch.Tensor, moving: torch.Tensor,
                disc: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pull each moving handle's disc of features one pixel toward its target (sum over handles of the
    mean L1 between F(q + d) and the detached F(q))."""
    loss = features.new_zeros(())
    for p, t in zip(handles[moving], targets[moving]):
        d = (t - p) / (t - p).norm()
        q = p + disc
        loss = loss + (sample(features, q + d, size) - sample(features, q, size).detach()).abs().mean()
    return loss


def track(features: torch.Tensor, handles: torch.Tensor, handle_features: torch.Tensor, patch: torch.Tensor,
          limit: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Each handle moved to the point of its search patch whose feature is nearest (L1) to its first one."""
    candidates = torch.minimum((handles[:, None] + patch[None]).clamp(min=0), limit)  # [P, K, 2]
    distance = (sample(features, candidates, size) - handle_features[:, None]).abs().sum(-1)  # [P, K]
    best = distance.argmin(dim=1)
    return candidates[torch.arange(len(handles)), best]


def _points(points: torch.Tensor) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in points.tolist())


def dragged_state(state: State, result: DragResult, spec: DragSpec) -> State:
    """``state`` with the drag's W+ as its latent A (final rows, not truncated again), its record appended
    to the provenance of the latent it started from. The rows already hold B's mix and the edits, so
    mixing is cleared and the edits' amounts set to 0 (their sliders stay, to edit on from here)."""
    earlier = state.a.drags if state.a.w_plus is not None and not any(state.mix) and not _edited(state) else ()
    latent = Latent(w_plus=tuple(map(tuple, result.wplus.tolist())), follow_psi=False,
                    drags=earlier + (result.record(spec),))
    edits = tuple(dataclasses.replace(e, amount=0.0) for e in state.edits)
    return state.replace(a=latent, mix=(), edits=edits)


def _edited(state: State) -> bool:
    return any(e.amount for e in state.edits)


# ---- the step video -------------------------------------------------------------------------------------

STEP_VIDEO_FPS = 30  # the window's and the command line's step videos


def step_frame(step: DragStep, targets: tuple[tuple[float, float], ...]) -> np.ndarray:
    """One frame of a drag's step video: the step's image, enlarged for small models, with each tracked
    handle as a red dot and each target as a blue one (as the window draws them)."""
    factor = watchable_factor(step.image.shape[1])
    frame = upscale_nearest(step.image[..., :3] if step.image.shape[-1] >= 3 else step.image.repeat(3, -1), factor)
    frame = np.ascontiguousarray(frame)
    radius = max(2, factor)
    for points, colour in ((targets, (40, 90, 255)), (step.handles, (255, 40, 40))):
        for x, y in points:
            cx, cy = (x + 0.5) * factor, (y + 0.5) * factor
            rows = slice(max(0, int(cy - radius)), int(cy + radius) + 1)
            cols = slice(max(0, int(cx - radius)), int(cx + radius) + 1)
            yy, xx = np.mgrid[rows, cols]
            frame[rows, cols][(yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2 <= radius**2] = colour
    return frame
