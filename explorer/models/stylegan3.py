"""StyleGAN3 generator ("Alias-Free GAN", configs T and R) in plain PyTorch, with NVIDIA's names.

Parameter and buffer names and shapes are those of NVIDIA's ``networks_stylegan3.py`` so that their
tensors load unchanged; the maths is theirs (see docs and the reference notes, section 4.3), the
execution is ours: fast polyphase filtering and Winograd convolutions (``sg3_ops``, or NNPACK's for
single images) so that the CPU is usable for exploring, and no in-place changes of buffers during
rendering (renders are reentrant).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from explorer.models import LayerInfo
from explorer.models.ops import FullyConnectedLayer, normalize_2nd_moment
from explorer.models.sg3_ops import (
    TensorCache,
    conv3x3_winograd,
    design_lowpass_filter,
    filtered_lrelu,
    filtered_lrelu_padding,
    winograd_weight,
)

MAPPING_KWARGS = ("num_layers", "lr_multiplier", "w_avg_beta", "freeze_layers", "freeze_embed")
SYNTHESIS_KWARGS = ("channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff", "first_stopband",
                    "last_stopband_rel", "margin_size", "output_scale", "num_fp16_res")
LAYER_KWARGS = ("conv_kernel", "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp",
                "magnitude_ema_beta")


def _check_kwargs(kwargs: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"StyleGAN3 {what}: unsupported argument(s) {', '.join(map(repr, unknown))}")


# ----------------------------------------------------------------------------------------------------
# Mapping network.


class MappingNetwork(torch.nn.Module):
    """z (and class label c) -> w, broadcast to ``num_ws`` rows, *untruncated* (the engine truncates
    toward the buffer ``w_avg``). SG3's mapping is always w_dim wide, 2 layers by default."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int = 2,
                 lr_multiplier: float = 0.01, w_avg_beta: float = 0.998, freeze_layers: int = 0,
                 freeze_embed: bool = False):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        self.embed = FullyConnectedLayer(c_dim, w_dim) if c_dim > 0 else None
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1], activation="lrelu",
                                                          lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is conditional: it needs a class label of {self.c_dim} values")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1)
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        return x.unsqueeze(1).repeat([1, self.num_ws, 1])


# ----------------------------------------------------------------------------------------------------
# Synthesis input: Fourier features.


class SynthesisInput(torch.nn.Module):
    """Fourier features at fixed random frequencies, rotated and translated by w0 and by the user's
    ``transform`` (the inverse of the image-space transform), then mixed by a trainable matrix."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim = w_dim
        self.channels = channels
        self.size = int(size)
        self.sampling_rate = float(sampling_rate)
        self.bandwidth = float(bandwidth)
        # Frequencies drawn from a disc (as NVIDIA's init), phases uniform; both stay fixed.
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = torch.nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():  # start as the identity transform: (r_c, r_s, t_x, t_y) = (1, 0, 0, 0)
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([channels]) - 0.5)

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """[N, C, size, size] features; ``transform`` ([3, 3] or [N, 3, 3]) replaces the buffer if given."""
        N = w.shape[0]
        user = self.transform if transform is None else transform.to(device=w.device, dtype=torch.float32)
        user = user.expand(N, 3, 3) if user.ndim == 2 else user

        # Learned rotation and translation (inverse, with respect to the image), then the user's.
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        eye = torch.eye(3, device=w.device, dtype=torch.float32)
        m_r = eye.repeat(N, 1, 1)
        m_r[:, 0, 0] = t[:, 0]
        m_r[:, 0, 1] = -t[:, 1]
        m_r[:, 1, 0] = t[:, 1]
        m_r[:, 1, 1] = t[:, 0]
        m_t = eye.repeat(N, 1, 1)
        m_t[:, 0, 2] = -t[:, 2]
        m_t[:, 1, 2] = -t[:, 3]
        transforms = m_r @ m_t @ user

        # Transform the frequencies (row vectors) and phases; damp what the transform pushed out of band.
        freqs = self.freqs.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)

        # Sampling grid: pixel centres of affine_grid(align_corners=False), one unit = sampling_rate pixels.
        s = self.size
        coords = ((torch.arange(s, device=w.device, dtype=torch.float32) * 2 + 1) / s - 1) * (0.5 * s / self.sampling_rate)
        gy, gx = torch.meshgrid(coords, coords, indexing="ij")
        grid = torch.stack([gx, gy], dim=-1).reshape(1, s * s, 2)  # [1, HW, xy]
        x = grid @ freqs.transpose(1, 2) + phases.unsqueeze(1)  # [N, HW, C]
        x = torch.sin(x * (2 * math.pi)) * amplitudes.unsqueeze(1)
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.reshape(N, s, s, self.channels).permute(0, 3, 1, 2).contiguous()


# ----------------------------------------------------------------------------------------------------
# Synthesis layer.


class SynthesisLayer(torch.nn.Module):
    """Modulated convolution, then filtered leaky ReLU between the input and output sampling rates
    (or, for the final ToRGB layer, a 1x1 modulated convolution without demodulation)."""

    def __init__(self, w_dim: int, is_torgb: bool, is_critically_sampled: bool, use_fp16: bool,
                 in_channels: int, out_channels: int, in_size: int, out_size: int,
                 in_sampling_rate: int, out_sampling_rate: int, in_cutoff: float, out_cutoff: float,
                 in_half_width: float, out_half_width: float, conv_kernel: int = 3, filter_size: int = 6,
                 lrelu_upsampling: int = 2, use_radial_filters: bool = False, conv_clamp: float | None = 256,
                 magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.w_dim = w_dim
        self.is_torgb = is_torgb
        self.is_critically_sampled = is_critically_sampled
        self.use_fp16 = use_fp16  # recorded for `explorer info`; we always compute in float32 on the CPU
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size, self.out_size = int(in_size), int(out_size)
        self.in_sampling_rate, self.out_sampling_rate = int(in_sampling_rate), int(out_sampling_rate)
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.in_cutoff, self.out_cutoff = float(in_cutoff), float(out_cutoff)
        self.in_half_width, self.out_half_width = float(in_half_width), float(out_half_width)
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta

        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = int(round(self.tmp_sampling_rate / self.in_sampling_rate))
        self.down_factor = int(round(self.tmp_sampling_rate / self.out_sampling_rate))
        if self.in_sampling_rate * self.up_factor != self.tmp_sampling_rate or \
                self.out_sampling_rate * self.down_factor != self.tmp_sampling_rate:
            raise ValueError("StyleGAN3 layer sampling rates are not integer multiples of each other")
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = bool(use_radial_filters) and not is_critically_sampled
        self.register_buffer("up_filter", design_lowpass_filter(
            self.up_taps, self.in_cutoff, self.in_half_width * 2, self.tmp_sampling_rate))
        self.register_buffer("down_filter", design_lowpass_filter(
            self.down_taps, self.out_cutoff, self.out_half_width * 2, self.tmp_sampling_rate, radial=self.down_radial))
        lo, hi = filtered_lrelu_padding(self.in_size, self.out_size, self.conv_kernel, self.up_factor,
                                        self.down_factor, self.up_taps, self.down_taps)
        self.padding = (lo, hi, lo, hi)
        self._winograd = TensorCache()
        self._demod = TensorCache()

    def _normalized_weight(self) -> torch.Tensor:
        """The weight scaled to unit RMS per output channel (demodulation makes this a no-op on the
        result; NVIDIA does it to keep fp16 in range, we keep it for identical rounding behaviour)."""
        w = self.weight.to(torch.float32)
        if self.is_torgb:
            return w
        return w * w.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()

    def _weight_and_demod_sums(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalized weight and its squared sums over the kernel ([O, I], for demodulation): they
        depend on the weight only, so renders reuse them (cached). With autograd on they are computed
        afresh: a cached value may be an inference tensor, which autograd refuses to save."""
        def make(_):
            weight = self._normalized_weight()
            return weight, weight.square().sum(dim=[2, 3])
        if torch.is_grad_enabled():
            return make(None)
        return self._demod.get(self.weight, make)

    def _use_winograd(self, x: torch.Tensor) -> bool:
        """Winograd F(4x4, 3x3) on the CPU where it measured faster than oneDNN's direct convolution
        (1.2-2x): from 64 channels on. Below that its tile transforms cost more than the GEMMs save."""
        if self.conv_kernel != 3 or x.device.type != "cpu":
            return False
        if torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad):
            return False  # the cached Winograd weights carry no autograd history
        return min(self.in_channels, self.out_channels) >= 64

    def _use_nnpack(self, x: torch.Tensor) -> bool:
        """NNPACK's Winograd F(6x6, 3x3) (bundled with PyTorch; ``F.conv2d`` uses it only for batches of
        16 or more) where our Winograd would run: measured 1.4-1.9x faster than ours for a single image
        at 64-128 channels (its tile transforms are fused AVX kernels, ours are whole-tensor passes),
        about equal at 512. Relative error ~5e-6 per convolution, as ours (2e-6) well within float32
        image tolerances. The ranking against oneDNN's direct convolution depends on the CPU (SG3-T 64
        px, all 14 convolutions, 2 threads: NNPACK ahead on one 2-core Xeon, 63 ms vs 51 ms for oneDNN
        channels-last on another). The rule stays fixed rather than timed per machine: a timed choice
        could make a seed's pixels differ between two runs on the same machine."""
        return self._use_winograd(x) and torch.backends.nnpack.is_available()

    def modulated_conv(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """SG3's modulated convolution plus bias: styles per input channel, demodulation (not for
        ToRGB), then the input gain rsqrt(magnitude_ema) per input channel *after* demodulation, and a
        convolution padded by k-1 (the output grows by k-1 per side; the filter padding expects that).

        Per sample this is conv(x, weight * s * g) * d, so the styles and gain may scale the input and
        d the output instead of the weight: whichever touches fewer numbers."""
        N, I, H, W = x.shape
        styles = self.affine(w).to(torch.float32)  # [N, I]
        weight, weight_sq = self._weight_and_demod_sums()
        input_gain = self.magnitude_ema.to(torch.float32).rsqrt()
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel ** 2))
            dcoefs = None
        else:
            styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
            dcoefs = (styles.square() @ weight_sq.t() + 1e-8).rsqrt()  # [N, O]
        pad = self.conv_kernel - 1
        bias = self.bias.to(torch.float32)
        if N == 1 and self._use_nnpack(x):  # fold styles, gain and demodulation into the weight
            wn = weight * (styles * input_gain).reshape(1, -1, 1, 1)
            if dcoefs is not None:
                wn = wn * dcoefs.reshape(-1, 1, 1, 1)
            return torch._nnpack_spatial_convolution(x.contiguous(), wn, bias, [pad, pad])  # NCHW in and out
        x = x.contiguous(memory_format=torch.channels_last)
        if self._use_winograd(x):
            u = self._winograd.get(self.weight, lambda _: winograd_weight(self._normalized_weight()))
            if N == 1 and u.numel() < x.numel():  # fold styles, gain and demodulation into the 36 GEMMs
                scale = (styles[0] * input_gain).reshape(1, -1, 1)
                if dcoefs is not None:
                    scale = scale * dcoefs[0].reshape(1, 1, -1)
                return conv3x3_winograd(x, u * scale, pad, bias)
            return conv3x3_winograd(x * (styles * input_gain).reshape(N, -1, 1, 1), u, pad, bias, dcoefs)
        if N == 1:
            wn = weight * (styles * input_gain).reshape(1, -1, 1, 1)
            if dcoefs is not None:
                wn = wn * dcoefs.reshape(-1, 1, 1, 1)
            return F.conv2d(x, wn.contiguous(memory_format=torch.channels_last), bias, padding=pad)
        y = F.conv2d(x * (styles * input_gain).reshape(N, -1, 1, 1), weight, padding=pad)
        if dcoefs is not None:
            return torch.addcmul(bias.reshape(1, -1, 1, 1), y, dcoefs.reshape(N, -1, 1, 1))
        return y + bias.reshape(1, -1, 1, 1)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = self.modulated_conv(x.to(torch.float32), w)
        gain = 1.0 if self.is_torgb else math.sqrt(2)
        slope = 1.0 if self.is_torgb else 0.2
        return filtered_lrelu(x, self.up_filter, self.down_filter, None, self.up_factor, self.down_factor,
                              self.padding, gain=gain, slope=slope, clamp=self.conv_clamp)

    def nominal_flops(self) -> int:
        """FLOPs (2 x multiply-adds) of this layer's maths for one image, independent of how we run it:
        the convolution, then the polyphase up-sampling FIR and the down-sampling FIR (per axis, or 2-D
        for a radial filter), each counting only the taps that meet real samples."""
        k, cin, cout = self.conv_kernel, self.in_channels, self.out_channels
        conv_size = self.in_size + k - 1  # the convolution pads by k - 1
        macs = cout * cin * k * k * conv_size**2
        up_size = conv_size * self.up_factor
        if self.up_taps > 1:  # rows, then columns; each output sample meets taps / up real inputs
            macs += cout * (conv_size * up_size + up_size**2) * self.up_taps // self.up_factor
        if self.down_taps > 1:
            if self.down_radial:
                macs += cout * self.out_size**2 * self.down_taps**2
            else:
                macs += cout * (up_size * self.out_size + self.out_size**2) * self.down_taps
        return 2 * macs

    def extra_repr(self) -> str:
        return (f"is_torgb={self.is_torgb}, in={self.in_channels}@{self.in_size}/{self.in_sampling_rate}, "
                f"out={self.out_channels}@{self.out_size}/{self.out_sampling_rate}, up={self.up_factor}, "
                f"down={self.down_factor}, radial={self.down_radial}")


# ----------------------------------------------------------------------------------------------------
# Synthesis network.


def layer_schedule(img_resolution: int, img_channels: int, channel_base: int = 32768, channel_max: int = 512,
                   num_layers: int = 14, num_critical: int = 2, first_cutoff: float = 2,
                   first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3, margin_size: int = 10):
    """Per-layer (i = 0..num_layers) cutoffs f_c, stopbands f_t, sampling rates s, half-widths f_h,
    sizes and channels: a geometric progression from the first layer to the image's Nyquist rate
    (reference notes, section 4.3). numpy float64, the same arithmetic as NVIDIA's, so rounding agrees."""
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    return cutoffs, stopbands, sampling_rates, half_widths, sizes, channels


class SynthesisNetwork(torch.nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R]: Fourier input, num_layers + 1 layers."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, num_layers: int = 14, num_critical: int = 2, first_cutoff: float = 2,
                 first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3, margin_size: int = 10,
                 output_scale: float = 0.25, num_fp16_res: int = 4, **layer_kwargs):
        super().__init__()
        _check_kwargs(layer_kwargs, LAYER_KWARGS, "synthesis")
        self.w_dim = w_dim
        self.num_ws = num_layers + 2
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.num_layers = num_layers
        self.num_critical = num_critical
        self.margin_size = margin_size
        self.output_scale = output_scale
        self.num_fp16_res = num_fp16_res
        if num_layers <= num_critical:
            raise ValueError("StyleGAN3 synthesis: num_layers must exceed num_critical")

        cutoffs, _, rates, half_widths, sizes, channels = layer_schedule(
            img_resolution, img_channels, channel_base, channel_max, num_layers, num_critical, first_cutoff,
            first_stopband, last_stopband_rel, margin_size)
        self.input = SynthesisInput(w_dim=w_dim, channels=int(channels[0]), size=int(sizes[0]),
                                    sampling_rate=rates[0], bandwidth=cutoffs[0])
        self.layer_names: list[str] = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=w_dim, is_torgb=idx == num_layers, is_critically_sampled=idx >= num_layers - num_critical,
                use_fp16=bool(rates[idx] * (2 ** num_fp16_res) > img_resolution),
                in_channels=int(channels[prev]), out_channels=int(channels[idx]),
                in_size=int(sizes[prev]), out_size=int(sizes[idx]),
                in_sampling_rate=int(rates[prev]), out_sampling_rate=int(rates[idx]),
                in_cutoff=cutoffs[prev], out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev], out_half_width=half_widths[idx], **layer_kwargs)
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", noise_strength: float = 1.0,
                noise_generator: torch.Generator | None = None,
                input_transform: torch.Tensor | None = None) -> torch.Tensor:
        """Render. SG3 has no noise inputs: the noise arguments are accepted (the engine passes them to
        every generator) and ignored. ``input_transform`` (3x3, NVIDIA's inverse matrix) is used
        instead of the ``transform`` buffer, which is left untouched, so concurrent renders can differ."""
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"unknown noise_mode {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0], input_transform)
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32).contiguous()

    def nominal_flops(self) -> int:
        """FLOPs of one image's synthesis: the input's channel mix plus every layer's (see SynthesisLayer)."""
        mix = 2 * self.input.channels**2 * self.input.size**2
        return mix + sum(getattr(self, name).nominal_flops() for name in self.layer_names)

    def layer_infos(self) -> list[LayerInfo]:
        infos = [LayerInfo("input", 0, self.input.size, self.input.channels, int(self.input.sampling_rate))]
        for idx, name in enumerate(self.layer_names):
            layer = getattr(self, name)
            infos.append(LayerInfo(name, idx + 1, layer.out_size, layer.out_channels, layer.out_sampling_rate))
        return infos


# ----------------------------------------------------------------------------------------------------
# Generator.


class Generator(torch.nn.Module):
    """NVIDIA's StyleGAN3 ``Generator`` (T or R config) with our execution; see ``explorer.models``."""

    has_input_transform = True

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
                 mapping_kwargs: dict | None = None, synthesis_kwargs: dict | None = None, **extra):
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        synthesis_kwargs = {**(synthesis_kwargs or {}), **extra}  # NVIDIA's flattened layout works too
        _check_kwargs(mapping_kwargs, MAPPING_KWARGS, "mapping")
        _check_kwargs(synthesis_kwargs, SYNTHESIS_KWARGS + LAYER_KWARGS, "synthesis")
        self.z_dim, self.c_dim, self.w_dim = int(z_dim), int(c_dim), int(w_dim)
        self.img_resolution, self.img_channels = int(img_resolution), int(img_channels)
        self.synthesis = SynthesisNetwork(w_dim=self.w_dim, img_resolution=self.img_resolution,
                                          img_channels=self.img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim, num_ws=self.num_ws,
                                      **mapping_kwargs)

    def layer_infos(self) -> list[LayerInfo]:
        return self.synthesis.layer_infos()

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, **synthesis_kwargs) -> torch.Tensor:
        """Convenience: mapping, truncation toward w_avg (first ``truncation_cutoff`` rows), synthesis."""
        ws = self.mapping(z, c)
        if truncation_psi != 1:
            k = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws = torch.cat([self.mapping.w_avg.lerp(ws[:, :k], truncation_psi), ws[:, k:]], dim=1)
        return self.synthesis(ws, **synthesis_kwargs)
