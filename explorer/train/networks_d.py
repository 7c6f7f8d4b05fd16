"""NVIDIA's StyleGAN2 residual discriminator in plain torch, with their parameter and buffer names.

Same names and shapes as ``networks_stylegan2.Discriminator`` (architecture 'resnet'), so a D from
their pickles loads into this class and ours into theirs:

- ``b{R}.fromrgb`` (1x1 conv, only in the first block), ``b{r}.conv0`` (3x3), ``b{r}.conv1`` (3x3,
  down 2), ``b{r}.skip`` (1x1, down 2, no bias), ``b{r}.resample_filter`` and per-layer filters;
- ``b4``: minibatch-stddev, ``conv`` (3x3), ``fc`` (C*16 -> C), ``out`` (C -> 1 or cmap_dim);
- conditional: ``mapping`` (an embedding of the label through a small MLP, like the generator's mapping
  but with no z) whose output ``cmap`` is projected onto the features: score = <out, cmap>/sqrt(dim).

Why things are the way they are:

- Equalised learning rate: weights are stored N(0, 1) and scaled by 1/sqrt(fan_in) at run time, so
  Adam sees the same effective step size in every layer.
- The residual paths are scaled by sqrt(0.5) so the sum keeps unit variance.
- Down-sampling blurs with the [1,3,3,1] filter first: strided convs alone alias, which D exploits.
- fp16 (CUDA only) in the highest ``num_fp16_res`` resolutions with activations clamped to
  +-``conv_clamp``: halves memory traffic; the clamp stops fp16 overflow. CPU always runs fp32.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def make_filter(taps=(1, 3, 3, 1)) -> torch.Tensor:
    """Separable FIR taps -> normalised 2-D filter (outer product, sums to 1)."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def blur(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int, int, int], stride: int = 1) -> torch.Tensor:
    """Depthwise 2-D FIR filtering with explicit zero padding (left, right, top, bottom), then decimation.

    (Measured on CPU: a depthwise conv beats three 2-tap ``avg_pool2d`` passes and a separable pair.)
    """
    c = x.shape[1]
    x = F.pad(x, pad)
    weight = f.to(x.dtype).flip([0, 1])[None, None].expand(c, 1, *f.shape)
    return F.conv2d(x, weight, groups=c, stride=stride)


def downsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Blur then keep every second pixel: [N, C, H, W] -> [N, C, H/2, W/2]."""
    return blur(x, f, (1, 1, 1, 1), stride=2)


def lrelu_agc(x: torch.Tensor, gain: float, clamp: float | None) -> torch.Tensor:
    x = F.leaky_relu(x, 0.2) * gain
    return x.clamp(-clamp, clamp) if clamp is not None else x


class FullyConnectedLayer(nn.Module):
    """Dense layer with equalised learning rate (names: ``weight`` [out, in], ``bias`` [out])."""

    def __init__(self, in_features, out_features, bias=True, activation="linear", lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) * self.bias_gain if self.bias is not None else None
        x = F.linear(x, w, b)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, 0.2) * math.sqrt(2)
        return x


class Conv2dLayer(nn.Module):
    """Conv with equalised lr, optional filtered 2x down-sampling, lrelu gain and clamp."""

    def __init__(self, in_channels, out_channels, kernel_size, bias=True, activation="lrelu", down=1, conv_clamp=None):
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.kernel_size = kernel_size
        self.register_buffer("resample_filter", make_filter())
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.act_gain = math.sqrt(2) if activation == "lrelu" else 1.0
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x, gain: float = 1.0):
        w = (self.weight * self.weight_gain).to(x.dtype)
        b = self.bias.to(x.dtype) if self.bias is not None else None
        p = self.kernel_size // 2
        if self.down == 1:
            x = F.conv2d(x, w, b, padding=p)
        elif self.kernel_size == 1:
            x = F.conv2d(downsample2d(x, self.resample_filter), w, b)
        else:  # blur with 2 extra pixels each side, then a strided conv: exact NVIDIA geometry
            x = blur(x, self.resample_filter, (p + 1, p + 1, p + 1, p + 1))
            x = F.conv2d(x, w, b, stride=2)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        if self.activation == "lrelu":
            return lrelu_agc(x, self.act_gain * gain, clamp)
        x = x * gain if gain != 1 else x
        return x.clamp(-clamp, clamp) if clamp is not None else x


class DiscriminatorBlock(nn.Module):
    """One resolution of the residual D: (fromrgb) -> conv0 -> conv1(down) + skip(down)."""

    def __init__(self, in_channels, tmp_channels, out_channels, resolution, img_channels, use_fp16=False, conv_clamp=None):
        super().__init__()
        self.in_channels, self.resolution, self.use_fp16 = in_channels, resolution, use_fp16
        self.register_buffer("resample_filter", make_filter())
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, activation="linear", down=2)

    def forward(self, x, img):
        dtype = torch.float16 if self.use_fp16 and (img if x is None else x).is_cuda else torch.float32
        if self.in_channels == 0:
            x = self.fromrgb(img.to(dtype))
        else:
            x = x.to(dtype)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


class MinibatchStdLayer(nn.Module):
    """Appends the std of features across a group of samples: lets D see a lack of variety."""

    def __init__(self, group_size, num_channels=1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x):
        n, c, h, w = x.shape
        g = _largest_divisor(n, self.group_size)  # NVIDIA needs n % g == 0; small batches pick a divisor
        f = self.num_channels
        y = x.float().reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()
        y = y.mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y.to(x.dtype)], dim=1)


def _largest_divisor(n: int, at_most: int) -> int:
    for g in range(min(at_most, n), 0, -1):
        if n % g == 0:
            return g
    return 1


class DiscriminatorEpilogue(nn.Module):
    """The 4x4 end of D: minibatch std, conv, fc, score (or projection onto the label embedding)."""

    def __init__(self, in_channels, cmap_dim, img_channels, mbstd_group_size=4, mbstd_num_channels=1, conv_clamp=None):
        super().__init__()
        self.cmap_dim = cmap_dim
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, 3, conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * 16, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x, cmap):
        x = x.float()
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.out(self.fc(x.flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x


class LabelMapping(nn.Module):
    """The label embedding of a conditional D (NVIDIA's MappingNetwork with z_dim=0): names
    ``mapping.embed``, ``mapping.fc{i}``; 2nd-moment normalised embedding, lr multiplier 0.01."""

    def __init__(self, c_dim, cmap_dim, num_layers=8, lr_multiplier=0.01):
        super().__init__()
        self.num_layers = num_layers
        self.embed = FullyConnectedLayer(c_dim, cmap_dim)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(cmap_dim, cmap_dim, activation="lrelu", lr_multiplier=lr_multiplier))

    def forward(self, c):
        x = self.embed(c.float())
        x = x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x


class Discriminator(nn.Module):
    """Residual StyleGAN2 discriminator: images [N, C, R, R] in [-1, 1] (+ labels [N, c_dim]) -> [N, 1]."""

    def __init__(
        self,
        c_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 0,
        conv_clamp: float | None = None,
        cmap_dim: int | None = None,
        mbstd_group_size: int = 4,
        mbstd_num_channels: int = 1,
        mapping_layers: int = 8,
        architecture: str = "resnet",
    ):
        super().__init__()
        if architecture != "resnet":
            raise ValueError(f"only the 'resnet' discriminator is implemented, not {architecture!r}")
        self.c_dim, self.img_resolution, self.img_channels = c_dim, img_resolution, img_channels
        log2 = int(np.log2(img_resolution))
        if 2**log2 != img_resolution or img_resolution < 4:
            raise ValueError(f"img_resolution {img_resolution} is not a power of two >= 4")
        self.block_resolutions = [2**i for i in range(log2, 2, -1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions + [4]}
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        if cmap_dim is None:
            cmap_dim = channels[4]
        if c_dim == 0:
            cmap_dim = 0
        for r in self.block_resolutions:
            in_channels = channels[r] if r < img_resolution else 0
            block = DiscriminatorBlock(
                in_channels, channels[r], channels[r // 2], r, img_channels,
                use_fp16=(r >= fp16_resolution and num_fp16_res > 0), conv_clamp=conv_clamp,
            )
            setattr(self, f"b{r}", block)
        if c_dim > 0:
            self.mapping = LabelMapping(c_dim, cmap_dim, num_layers=mapping_layers)
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim, img_channels, mbstd_group_size, mbstd_num_channels, conv_clamp)

    def forward(self, img, c=None):
        x = None
        for r in self.block_resolutions:
            x = getattr(self, f"b{r}")(x, img)
        cmap = self.mapping(c) if self.c_dim > 0 else None
        return self.b4(x, cmap)


def build_discriminator(config: dict) -> Discriminator:
    """Build a D from the JSON config stored in snapshots (``{"arch": "stylegan2-d", ...kwargs}``); every
    field is bounds-checked first (``ValueError`` naming it), since the config comes from a file."""
    from explorer.models.limits import check_discriminator_config

    check_discriminator_config(config)
    kwargs = {k: v for k, v in config.items() if k != "arch"}
    return Discriminator(**kwargs)
