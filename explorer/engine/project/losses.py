"""Distances between a reconstruction and its target that work offline.

Images are float [N, C, H, W] in the generator's range (nominally [-1, 1]).

- ``pixel``: mean squared (L2, what PSNR measures) or absolute (L1) difference;
- ``ssim``: 1 - multi-scale SSIM (structure and contrast at several scales, so a blur costs something);
- ``d``: a distance between the discriminator's intermediate features of the two images (LPIPS-style:
  each block's features unit-normalised over channels, squared differences averaged); a D trained on
  the model's data has learnt what matters in these images;
- ``vgg``: the same distance over VGG16's five ReLU stages (explorer/engine/project/vgg.py).

``psnr`` and ``ssim`` are also the figures the bench and tests report.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Wang, Simoncelli and Bovik's MS-SSIM scale weights, finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SSIM_WINDOW, SSIM_SIGMA = 11, 1.5
SSIM_MIN_SIDE = 16  # a scale smaller than this has too few windows to say anything about structure


def psnr(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image of [N, C, H, W] in [-1, 1] (peak-to-peak 2)."""
    mse = (image.float() - target.float()).square().mean(dim=(1, 2, 3))
    return 10 * torch.log10(4.0 / mse.clamp_min(1e-12))


def psnr_uint8(image, target) -> float:
    """PSNR in dB of two uint8 arrays of one shape (the figure for written files)."""
    import numpy as np

    mse = float(np.mean((np.asarray(image, np.float64) - np.asarray(target, np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _gaussian_window(channels: int, device, dtype) -> torch.Tensor:
    x = torch.arange(SSIM_WINDOW, dtype=dtype, device=device) - (SSIM_WINDOW - 1) / 2
    g = torch.exp(-x.square() / (2 * SSIM_SIGMA**2))
    g = g / g.sum()
    return torch.outer(g, g).expand(channels, 1, SSIM_WINDOW, SSIM_WINDOW).contiguous()


def _ssim_terms(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image mean SSIM and mean contrast-structure term of [N, C, H, W] in [0, 1].

    The window is reflect-padded so that images as small as 16 pixels keep every position.
    """
    c1, c2 = 0.01**2, 0.03**2
    window = _gaussian_window(x.shape[1], x.device, x.dtype)
    pad = SSIM_WINDOW // 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(t, (pad,) * 4, mode="reflect"), window, groups=x.shape[1])

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x.square()
    var_y = blur(y * y) - mu_y.square()
    cov = blur(x * y) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x.square() + mu_y.square() + c1)
    return (luminance * cs).mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ssim(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Single-scale SSIM per image (1 = identical) of [N, C, H, W] in [-1, 1]."""
    return _ssim_terms((image.float() + 1) / 2, (target.float() + 1) / 2)[0]


def ms_ssim(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-scale SSIM per image over as many of the five scales as the size allows (weights renormalised).

    The contrast-structure terms are clamped at a small positive value before the power so that early,
    badly matched reconstructions keep a usable gradient.
    """
    x, y = (image.float() + 1) / 2, (target.float() + 1) / 2
    scales = 1 + max(0, min(len(MS_SSIM_WEIGHTS) - 1, int(math.log2(min(x.shape[-2:]) / SSIM_MIN_SIDE))))
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    value = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    for i in range(scales):
        full, cs = _ssim_terms(x, y)
        term = full if i == scales - 1 else cs
        value = value * term.clamp_min(1e-4) ** weights[i]
        if i < scales - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return value


def feature_distance(features_a: list[torch.Tensor], features_b: list[torch.Tensor]) -> torch.Tensor:
    """LPIPS-style distance per image: channel-unit-normalised features, squared differences averaged
    over positions, summed over the stages (no learnt weights: every channel counts alike)."""
    total = 0
    for fa, fb in zip(features_a, features_b):
        na = fa / (fa.square().sum(dim=1, keepdim=True) + 1e-10).sqrt()
        nb = fb / (fb.square().sum(dim=1, keepdim=True) + 1e-10).sqrt()
        total = total + (na - nb).square().sum(dim=1).mean(dim=(1, 2))
    return total


class DiscriminatorFeatures(torch.nn.Module):
    """The outputs of a StyleGAN2 discriminator's resolution blocks (explorer.train.networks_d), frozen.

    The blocks before the 4x4 epilogue see the image at every scale; the epilogue (minibatch statistics,
    the real/fake score) says nothing about what a single image looks like, so it is left out.
    """

    def __init__(self, discriminator: torch.nn.Module):
        super().__init__()
        self.discriminator = discriminator.eval().requires_grad_(False)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        d = self.discriminator
        x, features = None, []
        for r in d.block_resolutions:
            x = getattr(d, f"b{r}")(x, image)
            features.append(x.float())
        return features
