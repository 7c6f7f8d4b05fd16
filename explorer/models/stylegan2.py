"""StyleGAN2 generator in plain PyTorch, with NVIDIA's module and tensor names.

Implements the maths of NVIDIA's ``networks_stylegan2.py`` (stylegan3 repo) and ``networks.py``
(stylegan2-ada-pytorch), so that their pickles (and TF pickles converted to the same names) load with
``load_state_dict`` and render the same images; see docs/reference §4.2. Differences that are ours:

- fp16 blocks run in fp32 unless ``synthesis.allow_fp16`` is set and the tensors are on CUDA;
- inference (no autograd) takes a fused fast path per layer (``ops.modulated_conv2d_inference``);
  training (autograd on) uses the plain two-step form, which keeps gradients simple and exact;
- noise for ``noise_mode='random'`` can come from a ``torch.Generator``, drawn layer by layer in block
  order (b4.conv1, b8.conv0, b8.conv1, ...), so a seed reproduces an image;
- on the CPU, blocks from 64x64 up run in channels_last (``synthesis.channels_last_min_res``);
- the engine, not the mapping network, normally applies truncation (the keywords are still accepted).
"""

from __future__ import annotations

import math

import torch

from explorer.models import LayerInfo
from explorer.models.ops import (
    Conv2dLayer,
    DerivedCache,
    FullyConnectedLayer,
    bias_act,
    check_activation,
    modulated_conv2d,
    modulated_conv2d_inference,
    normalize_2nd_moment,
    setup_filter,
    square_sum,
    transpose_weight,
    upsample2d,
)

ARCHITECTURES = ("orig", "skip", "resnet")
NOISE_MODES = ("const", "random", "none")

# Init keywords NVIDIA's code (both repos) and legacy TF conversion put into a generator's kwargs.
MAPPING_KWARGS = frozenset(
    {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier", "w_avg_beta",
     "freeze_layers", "freeze_embed"}
)
SYNTHESIS_KWARGS = frozenset(
    {"channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture", "resample_filter",
     "use_noise", "activation", "fused_modconv_default", "fp16_channels_last", "kernel_size"}
)


def _check_kwargs(kind: str, given: dict, allowed: frozenset) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"unsupported StyleGAN2 {kind} option(s): {', '.join(map(str, unknown))}")


# ----------------------------------------------------------------------------------------------------


class MappingNetwork(torch.nn.Module):
    """z (and the class label c) -> w, broadcast to [N, num_ws, w_dim].

    Both inputs are normalised to unit second moment (the label after its embedding), concatenated and
    sent through ``num_layers`` equalised-lr FC layers (lrelu, gain sqrt 2, lr_multiplier 0.01).
    ``w_avg`` tracks the mean w while training (``update_emas=True``: w_avg <- lerp(mean w, w_avg, beta)).
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        num_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        activation: str = "lrelu",
        lr_multiplier: float = 0.01,
        w_avg_beta: float | None = 0.998,
        freeze_layers: int = 0,  # NVIDIA's Freeze-M: a training option, accepted and ignored here
        freeze_embed: bool = False,  # NVIDIA's Freeze-E: ditto
    ):
        super().__init__()
        check_activation(activation)
        if int(num_layers) < 1:
            raise ValueError(f"mapping num_layers must be at least 1, got {num_layers}")
        self.z_dim = int(z_dim)
        self.c_dim = int(c_dim)
        self.w_dim = int(w_dim)
        self.num_ws = num_ws
        self.num_layers = int(num_layers)
        self.w_avg_beta = w_avg_beta
        embed_features = w_dim if embed_features is None else embed_features
        embed_features = 0 if c_dim == 0 else embed_features
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            layer = FullyConnectedLayer(features[idx], features[idx + 1], activation=activation,
                                        lr_multiplier=lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        # NVIDIA has no w_avg without a beta; keep a zero one (not saved) so truncation still works.
        self.register_buffer("w_avg", torch.zeros([w_dim]), persistent=w_avg_beta is not None)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is conditional: it needs a class label of {self.c_dim} values")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if update_emas and self.w_avg_beta is not None:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            if self.num_ws is None or truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}"


# ----------------------------------------------------------------------------------------------------


def _draw_noise(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=torch.float32)
    return torch.randn(shape, generator=generator, device=generator.device).to(like.device)


class SynthesisLayer(torch.nn.Module):
    """Modulated 3x3 convolution (optionally x2 up-sampling), per-pixel noise, bias, activation, clamp.

    The affine turns w into one style per input channel (bias init 1). The weight needs no equalised-lr
    gain: demodulation normalises each output channel anyway. Noise is added after demodulation and
    before the bias; the clamp (conv_clamp * gain) applies in every precision.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: str = "lrelu",
        resample_filter=(1, 3, 3, 1),
        conv_clamp: float | None = None,
        channels_last: bool = False,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.padding = kernel_size // 2
        self.act_gain = check_activation(activation).def_gain
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self._weight_sq = DerivedCache()
        self._weight_t = DerivedCache()

    def make_noise(self, x: torch.Tensor, noise_mode: str, noise_strength: float,
                   noise_generator: torch.Generator | None) -> torch.Tensor | None:
        """The noise map for this layer, already scaled ([N or 1, 1, r, r]); None for no noise."""
        if not self.use_noise or noise_mode == "none":
            return None
        strength = self.noise_strength * noise_strength
        if noise_mode == "random":
            noise = _draw_noise([x.shape[0], 1, self.resolution, self.resolution], x, noise_generator)
            return noise * strength
        return (self.noise_const * strength).reshape(1, 1, self.resolution, self.resolution)

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "const",
        fused_modconv: bool | None = None,
        gain: float = 1.0,
        noise_strength: float = 1.0,
        noise_generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        styles = self.affine(w)
        noise = self.make_noise(x, noise_mode, noise_strength, noise_generator)
        act_gain = self.act_gain * gain
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        if not torch.is_grad_enabled():
            return modulated_conv2d_inference(
                x, self.weight, styles, self.bias, noise, self.activation, act_gain, act_clamp, up=self.up,
                padding=self.padding, resample_filter=self.resample_filter,
                weight_sq=self._weight_sq.get(self.weight, square_sum),
                weight_t=self._weight_t.get(self.weight, transpose_weight) if self.up > 1 else None)
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, fused=fused_modconv)
        return bias_act(x, self.bias, act=self.activation, gain=act_gain, clamp=act_clamp)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, w_dim={self.w_dim}, "
                f"resolution={self.resolution}, up={self.up}, activation={self.activation}")


class ToRGBLayer(torch.nn.Module):
    """Modulated 1x1 convolution to image channels, no demodulation; styles scaled by 1/sqrt(C * k * k)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1,
                 conv_clamp: float | None = None, channels_last: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.w_dim = w_dim
        self.conv_clamp = conv_clamp
        self.padding = kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool | None = None) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        if not torch.is_grad_enabled() and x.shape[0] == 1:
            weight = self.weight.to(x.dtype) * styles.to(x.dtype).reshape(1, -1, 1, 1)
            y = torch.nn.functional.conv2d(x, weight, self.bias.to(x.dtype), padding=self.padding)
            return y.clamp_(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else y
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, padding=self.padding, fused=fused_modconv)
        return bias_act(x, self.bias, clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, w_dim={self.w_dim}"


class SynthesisBlock(torch.nn.Module):
    """One resolution: (const | conv0 up x2) -> conv1 [-> torgb], with the 'orig', 'skip' or 'resnet'
    wiring. The image path (skip) is up-sampled with the FIR and accumulated in fp32."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
        resample_filter=(1, 3, 3, 1),
        conv_clamp: float | None = 256,
        use_fp16: bool = False,
        fp16_channels_last: bool = False,
        fused_modconv_default=True,
        **layer_kwargs,
    ):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown StyleGAN2 architecture {architecture!r} (supported: {', '.join(ARCHITECTURES)})")
        if fused_modconv_default not in (True, False, "inference_only"):
            raise ValueError(f"unsupported fused_modconv_default {fused_modconv_default!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.is_last = is_last
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.channels_last = use_fp16 and fp16_channels_last
        self.fused_modconv_default = fused_modconv_default
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim=w_dim, resolution=resolution, up=2,
                                        resample_filter=resample_filter, conv_clamp=conv_clamp, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim=w_dim, resolution=resolution,
                                    resample_filter=resample_filter, conv_clamp=conv_clamp, **layer_kwargs)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(in_channels, out_channels, kernel_size=1, bias=False, up=2,
                                    resample_filter=resample_filter)

    def forward(self, x, img, ws, noise_mode="const", noise_strength=1.0, noise_generator=None,
                fused_modconv=None, use_fp16=False, channels_last=False):
        """``ws`` is this block's window [N, num_conv + num_torgb, w_dim]; returns (x, img)."""
        dtype = torch.float16 if use_fp16 else torch.float32
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if fused_modconv is None:
            fused_modconv = self.fused_modconv_default
        if fused_modconv == "inference_only":
            fused_modconv = not self.training
        layer_args = dict(noise_mode=noise_mode, noise_strength=noise_strength, noise_generator=noise_generator,
                          fused_modconv=fused_modconv)
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x.contiguous(memory_format=memory_format), next(w_iter), **layer_args)
        elif self.architecture == "resnet":
            x = x.to(dtype=dtype, memory_format=memory_format)
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), **layer_args)
            x = self.conv1(x, next(w_iter), gain=math.sqrt(0.5), **layer_args)
            x = y.add_(x) if not torch.is_grad_enabled() else y + x
        else:
            x = x.to(dtype=dtype, memory_format=memory_format)
            x = self.conv0(x, next(w_iter), **layer_args)
            x = self.conv1(x, next(w_iter), **layer_args)

        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv).to(torch.float32)
            if img is None:
                img = y
            else:
                img = img.add_(y) if not torch.is_grad_enabled() else img + y
        return x, img

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, architecture={self.architecture}"


class SynthesisNetwork(torch.nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R] (float32) through blocks b4 ... bR."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 4,
        **block_kwargs,
    ):
        super().__init__()
        if img_resolution < 4 or img_resolution & (img_resolution - 1):
            raise ValueError(f"StyleGAN2 resolution must be a power of two >= 4, got {img_resolution}")
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_resolution_log2 = int(math.log2(img_resolution))
        self.img_channels = img_channels
        self.num_fp16_res = num_fp16_res
        self.block_resolutions = [2**i for i in range(2, self.img_resolution_log2 + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        if channels[img_resolution] < 1:
            raise ValueError(f"channel_base {channel_base} leaves no channels at {img_resolution}x{img_resolution}")
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - num_fp16_res), 8)
        # Run the fp16 blocks in fp16 (CUDA only); off by default so every device renders alike.
        self.allow_fp16 = False
        # On the CPU, blocks from this resolution up run in channels_last: oneDNN's convolutions with
        # few channels at high resolution, and its depthwise FIR, are much faster in that layout
        # (low resolutions are faster in NCHW). None = always NCHW.
        self.channels_last_min_res: int | None = 64
        self.num_ws = 0
        for res in self.block_resolutions:
            is_last = res == img_resolution
            block = SynthesisBlock(channels[res // 2] if res > 4 else 0, channels[res], w_dim=w_dim,
                                   resolution=res, img_channels=img_channels, is_last=is_last,
                                   use_fp16=res >= fp16_resolution, **block_kwargs)
            self.num_ws += block.num_conv + (block.num_torgb if is_last else 0)
            setattr(self, f"b{res}", block)

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: str = "const",
        noise_strength: float = 1.0,
        noise_generator: torch.Generator | None = None,
        input_transform=None,  # StyleGAN3 only; StyleGAN2 has no input layer to transform
        fused_modconv=None,
        **_ignored,
    ) -> torch.Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"unknown noise_mode {noise_mode!r} (expected one of {', '.join(NOISE_MODES)})")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for block in self.blocks():
            block_ws = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            fp16 = block.use_fp16 and self.allow_fp16 and ws.device.type == "cuda"
            cl = (ws.device.type == "cpu" and self.channels_last_min_res is not None
                  and block.resolution >= self.channels_last_min_res)
            x, img = block(x, img, block_ws, noise_mode=noise_mode, noise_strength=noise_strength,
                           noise_generator=noise_generator, fused_modconv=fused_modconv, use_fp16=fp16,
                           channels_last=cl)
        return img.contiguous()

    def layer_infos(self) -> list[LayerInfo]:
        infos = []
        w_idx = 0
        for block in self.blocks():
            name = f"b{block.resolution}"
            idx = w_idx
            if block.in_channels != 0:
                infos.append(LayerInfo(f"{name}.conv0", idx, block.resolution, block.out_channels))
                idx += 1
            infos.append(LayerInfo(f"{name}.conv1", idx, block.resolution, block.out_channels))
            idx += 1
            if block.num_torgb:
                infos.append(LayerInfo(f"{name}.torgb", idx, block.resolution, block.img_channels))
            w_idx += block.num_conv
        return infos

    def extra_repr(self) -> str:
        return (f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}, "
                f"img_channels={self.img_channels}, num_fp16_res={self.num_fp16_res}")


class Generator(torch.nn.Module):
    """The StyleGAN2 generator: ``mapping`` (z, c -> ws) and ``synthesis`` (ws -> image).

    Takes NVIDIA's init kwargs in either layout: ada's nested ``synthesis_kwargs={...}`` or sg3's
    flattened keywords; unknown options raise ``ValueError`` with a one-line message.
    """

    has_input_transform = False

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        mapping_kwargs: dict | None = None,
        synthesis_kwargs: dict | None = None,
        **flat_synthesis_kwargs,
    ):
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        synthesis_kwargs = {**dict(synthesis_kwargs or {}), **flat_synthesis_kwargs}
        _check_kwargs("mapping", mapping_kwargs, MAPPING_KWARGS)
        _check_kwargs("synthesis", synthesis_kwargs, SYNTHESIS_KWARGS)
        if "activation" in synthesis_kwargs:
            check_activation(synthesis_kwargs["activation"])
        if "resample_filter" in synthesis_kwargs and synthesis_kwargs["resample_filter"] is not None:
            synthesis_kwargs["resample_filter"] = [float(v) for v in synthesis_kwargs["resample_filter"]]
        self.z_dim = int(z_dim)
        self.c_dim = int(c_dim)
        self.w_dim = int(w_dim)
        self.img_resolution = int(img_resolution)
        self.img_channels = int(img_channels)
        self.synthesis = SynthesisNetwork(w_dim=self.w_dim, img_resolution=self.img_resolution,
                                          img_channels=self.img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim, num_ws=self.num_ws,
                                      **mapping_kwargs)

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, update_emas=False, **synthesis_kwargs):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                          update_emas=update_emas)
        return self.synthesis(ws, **synthesis_kwargs)

    def layer_infos(self) -> list[LayerInfo]:
        return self.synthesis.layer_infos()


__all__ = ["Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer", "ToRGBLayer"]
