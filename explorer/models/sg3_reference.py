"""StyleGAN3 synthesis written the plain way NVIDIA's reference path computes it: a fused (grouped)
modulated convolution per layer, then bias, zero-stuffed up-sampling, leaky ReLU with gain and clamp,
full-rate filtering and decimation. Slow on purpose: tests check our fast path against it, and
``bench/sg3_speed.py --reference`` times it as the baseline."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from explorer.models.ops import upfirdn2d_reference


def filtered_lrelu_reference(x, up_filter, down_filter, bias, up, down, padding, gain, slope, clamp):
    """bias, x``up`` FIR, leaky ReLU * gain clamped to +-clamp, FIR and x``down`` decimation, literally."""
    x = x + bias.reshape(1, -1, 1, 1)
    x = upfirdn2d_reference(x, up_filter, up=up, padding=padding, gain=up**2)
    x = (F.leaky_relu(x, slope) * gain).clamp(-clamp, clamp)
    return upfirdn2d_reference(x, down_filter, down=down)


def reference_synthesis(G, ws: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
    """The image of ``ws`` [N, num_ws, w_dim] from an ``explorer.models.stylegan3.Generator``."""
    s = G.synthesis
    ws = ws.unbind(1)
    x = s.input(ws[0], transform)
    for name, w in zip(s.layer_names, ws[1:]):
        layer = getattr(s, name)
        styles, weight = layer.affine(w), layer.weight
        if layer.is_torgb:
            styles = styles / math.sqrt(layer.in_channels * layer.conv_kernel**2)
        else:
            weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean().rsqrt()
        wn = weight.unsqueeze(0) * styles[:, None, :, None, None]
        if not layer.is_torgb:
            wn = wn * (wn.square().sum([2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None, None]
        wn = wn * layer.magnitude_ema.rsqrt()
        n = x.shape[0]
        x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), wn.reshape(-1, *wn.shape[2:]),
                     padding=layer.conv_kernel - 1, groups=n)
        x = x.reshape(n, -1, *x.shape[2:])
        gain, slope = (1.0, 1.0) if layer.is_torgb else (math.sqrt(2), 0.2)
        x = filtered_lrelu_reference(x, layer.up_filter, layer.down_filter, layer.bias, layer.up_factor,
                                     layer.down_factor, layer.padding, gain, slope, layer.conv_clamp)
    return x * s.output_scale
