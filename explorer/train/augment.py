"""ADA: differentiable augmentations applied to every image D sees, with probability ``p`` each.

Why: with little data D memorises the training set and G's gradients die. Augmenting both reals and
fakes with invertible, "non-leaking" transformations (each applied with probability p < ~0.8) hides
individual images from D while G still learns the un-augmented distribution. ``p`` is steered by how
confident D is on reals: r_t = E[sign(D(real))] above ``target`` means over-fitting, so p rises.

The pipeline (NVIDIA's 'bgc' set; strengths are theirs, the implementation is ours):

- blit, exact integer pixel moves: x-flip, 90-degree rotations, integer translation (+-12.5%,
  reflected at the border) -- done with flips, ``rot90`` and gathers, so they never blur;
- geometric: isotropic scale (lognormal, std 0.2 octaves), arbitrary rotation (applied before and
  after the anisotropic scale, each with p_rot = 1 - sqrt(1 - p) so one of them fires with prob p),
  anisotropic scale (std 0.2), fractional translation (std 0.125) -- all composed into one affine
  matrix per image and resampled once with ``grid_sample`` (reflection padding, 2x supersampling and
  2x2 averaging against aliasing);
- colour, one 4x4 matrix per image on homogeneous RGB: brightness (+N(0, 0.2)), contrast
  (lognormal, std 0.5 octaves), luma flip, hue rotation about the luma axis, saturation (std 1 octave).

Everything is differentiable w.r.t. the images (gradients flow to G through the augmented fakes).
Images that draw no transformation in a group are passed through that group untouched, so at p = 0
the pipeline is exactly the identity. ``sample()`` draws the parameters and ``apply()`` uses them, so
a test can fix the draw (gradcheck) and two calls can share one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

PIPES = {
    "blit": dict(xflip=1, rotate90=1, xint=1),
    "geom": dict(scale=1, rotate=1, aniso=1, xfrac=1),
    "color": dict(brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1),
}
PIPES["bgc"] = {**PIPES["blit"], **PIPES["geom"], **PIPES["color"]}


@dataclass
class AugmentParams:
    """One draw of augmentation parameters for a batch (all tensors have leading dim N)."""

    flip: torch.Tensor  # [N] bool, mirror in x
    rot90: torch.Tensor  # [N] int64 in 0..3
    shift: torch.Tensor  # [N, 2] int64 pixels (x, y)
    geom: torch.Tensor  # [N, 3, 3] inverse affine in normalised coordinates (output -> input)
    color: torch.Tensor  # [N, 4, 4] colour matrix on homogeneous RGB


def _rot2(theta):
    c, s = torch.cos(theta), torch.sin(theta)
    m = torch.zeros(*theta.shape, 3, 3, dtype=theta.dtype, device=theta.device)
    m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1], m[..., 2, 2] = c, -s, s, c, 1
    return m


def _scale2(sx, sy):
    m = torch.zeros(*sx.shape, 3, 3, dtype=sx.dtype, device=sx.device)
    m[..., 0, 0], m[..., 1, 1], m[..., 2, 2] = sx, sy, 1
    return m


def _translate2(tx, ty):
    m = torch.eye(3, dtype=tx.dtype, device=tx.device).repeat(*tx.shape, 1, 1)
    m[..., 0, 2], m[..., 1, 2] = tx, ty
    return m


def _rotate_about_axis(v: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """4x4 homogeneous rotation by theta[N] about the unit 3-vector v (Rodrigues)."""
    n = theta.shape[0]
    k = torch.tensor([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]], dtype=theta.dtype, device=theta.device)
    eye = torch.eye(3, dtype=theta.dtype, device=theta.device)
    r = eye + torch.sin(theta)[:, None, None] * k + (1 - torch.cos(theta))[:, None, None] * (k @ k)
    m = torch.eye(4, dtype=theta.dtype, device=theta.device).repeat(n, 1, 1)
    m[:, :3, :3] = r
    return m


class AugmentPipe(nn.Module):
    """The ADA pipeline. ``p`` is a buffer (saved in snapshots and resume states)."""

    def __init__(
        self,
        xflip=0, rotate90=0, xint=0, scale=0, rotate=0, aniso=0, xfrac=0,
        brightness=0, contrast=0, lumaflip=0, hue=0, saturation=0,
        xint_max=0.125, scale_std=0.2, rotate_max=1.0, aniso_std=0.2, xfrac_std=0.125,
        brightness_std=0.2, contrast_std=0.5, hue_max=1.0, saturation_std=1.0,
    ):
        super().__init__()
        self.register_buffer("p", torch.zeros([]))
        self.w = dict(xflip=xflip, rotate90=rotate90, xint=xint, scale=scale, rotate=rotate, aniso=aniso,
                      xfrac=xfrac, brightness=brightness, contrast=contrast, lumaflip=lumaflip, hue=hue,
                      saturation=saturation)
        self.xint_max, self.scale_std, self.rotate_max = xint_max, scale_std, rotate_max
        self.aniso_std, self.xfrac_std = aniso_std, xfrac_std
        self.brightness_std, self.contrast_std = brightness_std, contrast_std
        self.hue_max, self.saturation_std = hue_max, saturation_std

    @classmethod
    def from_name(cls, name: str = "bgc") -> "AugmentPipe":
        return cls(**PIPES[name])

    # ------------------------------------------------------------------ drawing the parameters
    def sample(self, n: int, size: int, device="cpu", generator: torch.Generator | None = None, p: float | None = None) -> AugmentParams:
        """Draw one batch of parameters; ``generator`` makes the draw reproducible."""
        p = float(self.p) if p is None else float(p)
        # Drawn on the CPU whatever the device: cheap, and the RNG stream (saved for exact resumes)
        # then does not depend on where the images live.
        f32 = dict(device="cpu", dtype=torch.float32)

        def rand(*shape):
            return torch.rand(*shape, generator=generator)

        def randn(*shape):
            return torch.randn(*shape, generator=generator)

        def gate(weight, prob=None):
            return rand(n) < (p * weight if prob is None else prob)

        w = self.w
        flip = gate(w["xflip"]) & (rand(n) < 0.5)
        rot90 = torch.where(gate(w["rotate90"]), torch.floor(rand(n) * 4).long(), torch.zeros(n, dtype=torch.long))
        shift = torch.round((rand(n, 2) * 2 - 1) * self.xint_max * size).long()
        shift = torch.where(gate(w["xint"])[:, None], shift, torch.zeros_like(shift))

        # Geometric: build the forward transform T = T_k ... T_1 as its inverse T_1^-1 ... T_k^-1.
        inv = torch.eye(3, **f32).repeat(n, 1, 1)
        one = torch.ones(n, **f32)
        s = torch.where(gate(w["scale"]), torch.exp2(randn(n) * self.scale_std), one)
        inv = inv @ _scale2(1 / s, 1 / s)
        p_rot = 1 - math.sqrt(max(0.0, 1 - min(p * w["rotate"], 1.0)))
        theta = torch.where(gate(0, p_rot), (rand(n) * 2 - 1) * math.pi * self.rotate_max, 0 * one)
        inv = inv @ _rot2(-theta)
        a = torch.where(gate(w["aniso"]), torch.exp2(randn(n) * self.aniso_std), one)
        inv = inv @ _scale2(1 / a, a)
        theta = torch.where(gate(0, p_rot), (rand(n) * 2 - 1) * math.pi * self.rotate_max, 0 * one)
        inv = inv @ _rot2(-theta)
        t = torch.where(gate(w["xfrac"])[:, None], randn(n, 2) * self.xfrac_std, 0 * one[:, None].expand(n, 2))
        inv = inv @ _translate2(-2 * t[:, 0], -2 * t[:, 1])  # normalised coords span 2 per image width

        # Colour: C = C_k ... C_1 applied to homogeneous RGB.
        c = torch.eye(4, **f32).repeat(n, 1, 1)
        b = torch.where(gate(w["brightness"]), randn(n) * self.brightness_std, 0 * one)
        tb = torch.eye(4, **f32).repeat(n, 1, 1)
        tb[:, :3, 3] = b[:, None]
        c = tb @ c
        k = torch.where(gate(w["contrast"]), torch.exp2(randn(n) * self.contrast_std), one)
        c = torch.diag_embed(torch.stack([k, k, k, one], 1)) @ c
        v = torch.tensor([1.0, 1.0, 1.0, 0.0], **f32) / math.sqrt(3)
        vv = torch.outer(v, v)
        flip_luma = (gate(w["lumaflip"]) & (rand(n) < 0.5)).float()
        c = (torch.eye(4, **f32) - 2 * vv * flip_luma[:, None, None]) @ c
        hue = torch.where(gate(w["hue"]), (rand(n) * 2 - 1) * math.pi * self.hue_max, 0 * one)
        c = _rotate_about_axis(v[:3], hue) @ c
        sat = torch.where(gate(w["saturation"]), torch.exp2(randn(n) * self.saturation_std), one)
        c = (vv + (torch.eye(4, **f32) - vv) * sat[:, None, None]) @ c
        params = AugmentParams(flip=flip, rot90=rot90, shift=shift, geom=inv, color=c)
        return AugmentParams(**{k: v.to(device) for k, v in vars(params).items()})

    # ------------------------------------------------------------------ applying them
    def apply(self, images: torch.Tensor, params: AugmentParams) -> torch.Tensor:
        x = images
        x = torch.where(params.flip[:, None, None, None].to(x.device), x.flip(3), x)
        x = _rot90_per_sample(x, params.rot90.to(x.device))
        if bool((params.shift != 0).any()):
            x = _shift_reflect(x, params.shift.to(x.device))
        x = _geometric(x, params.geom.to(x.device, x.dtype))
        x = _colour(x, params.color.to(x.device, x.dtype))
        return x

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if float(self.p) <= 0:
            return images
        return self.apply(images, self.sample(images.shape[0], images.shape[-1], images.device, generator))


def _rot90_per_sample(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    if not bool((k != 0).any()):
        return x
    out = x
    for turns in (1, 2, 3):
        mask = k == turns
        if bool(mask.any()):
            idx = mask.nonzero()[:, 0]
            out = out.index_put((idx,), torch.rot90(x[idx], turns, dims=(2, 3)))
    return out


def _reflect_index(size: int, shift: torch.Tensor) -> torch.Tensor:
    """[N] shifts -> [N, size] source indices for a move by ``shift`` with mirror (no edge repeat)."""
    if size == 1:
        return torch.zeros(shift.shape[0], 1, dtype=torch.long, device=shift.device)
    period = 2 * (size - 1)
    j = (torch.arange(size, device=shift.device)[None, :] - shift[:, None]) % period
    return torch.where(j >= size, period - j, j)


def _shift_reflect(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    ix = _reflect_index(w, shift[:, 0])[:, None, None, :].expand(n, c, h, w)
    x = x.gather(3, ix)
    iy = _reflect_index(h, shift[:, 1])[:, None, :, None].expand(n, c, h, w)
    return x.gather(2, iy)


def _geometric(x: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(3, dtype=inv.dtype, device=inv.device)
    moved = (inv - eye).abs().flatten(1).amax(1) > 1e-7
    if not bool(moved.any()):
        return x
    idx = moved.nonzero()[:, 0]
    sub = x[idx]
    n, c, h, w = sub.shape
    grid = F.affine_grid(inv[idx, :2, :], [n, c, 2 * h, 2 * w], align_corners=False)
    warped = F.grid_sample(sub, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    warped = F.avg_pool2d(warped, 2)
    return x.index_put((idx,), warped)


def _colour(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(4, dtype=c.dtype, device=c.device)
    changed = (c - eye).abs().flatten(1).amax(1) > 1e-7
    if not bool(changed.any()):
        return x
    idx = changed.nonzero()[:, 0]
    sub, m = x[idx], c[idx]
    n, ch, h, w = sub.shape
    rgb = sub if ch == 3 else sub.expand(n, 3, h, w)  # grey: colour it, then average back
    out = torch.einsum("nij,njhw->nihw", m[:, :3, :3], rgb) + m[:, :3, 3, None, None]
    if ch != 3:
        out = out.mean(dim=1, keepdim=True)
    return x.index_put((idx,), out)


class AdaController:
    """Steers ``pipe.p`` toward E[sign(D(real))] == target, every ``interval`` steps.

    p moves by sign(r_t - target) * images_seen / (ada_kimg * 1000): from 0 to 1 in ``ada_kimg``
    thousand images at most (500, NVIDIA's default; 100 after a resume). The sign sums are all-reduced
    across processes by the caller, so every rank steers p identically.
    """

    def __init__(self, pipe: AugmentPipe, target: float = 0.6, interval: int = 4, ada_kimg: float = 500):
        self.pipe, self.target, self.interval, self.ada_kimg = pipe, target, interval, ada_kimg
        self.sign_sum = 0.0
        self.count = 0.0

    def accumulate(self, real_logits: torch.Tensor) -> None:
        self.sign_sum += float(torch.sign(real_logits.detach()).sum())
        self.count += real_logits.numel()

    def update(self, batch_images: int, reduce=None) -> float | None:
        """Adjust p (call every ``interval`` steps); returns r_t or None if nothing was seen."""
        totals = torch.tensor([self.sign_sum, self.count], dtype=torch.float64)
        if reduce is not None:
            totals = reduce(totals)
        self.sign_sum, self.count = 0.0, 0.0
        if totals[1] <= 0:
            return None
        rt = float(totals[0] / totals[1])
        step = math.copysign(1.0, rt - self.target) * (batch_images * self.interval) / (self.ada_kimg * 1000)
        self.pipe.p.copy_(torch.clamp(self.pipe.p + step, 0.0, 1.0))
        return rt
