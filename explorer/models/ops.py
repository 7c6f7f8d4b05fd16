"""Low-level operations shared by our StyleGAN generators, in plain PyTorch (cpu, cuda, mps).

These reproduce the *maths* of NVIDIA's ``torch_utils`` ops and of the small layers in their network
files, written for speed on the CPU at batch size 1 rather than for training throughput on big GPUs:

- ``FullyConnectedLayer``: equalised learning rate (weights stored at unit variance and scaled at run
  time by ``lr_multiplier / sqrt(in_features)``, bias by ``lr_multiplier``), as in both StyleGAN2 and
  StyleGAN3, so that NVIDIA's stored tensors load unchanged.
- ``bias_act``: bias, activation, gain and clamp, NVIDIA's ``bias_act`` in one function.
- ``normalize_2nd_moment``: the pixel-norm applied to z and to class embeddings.
- ``setup_filter`` / ``fir_filter2d`` / ``upsample2d``: FIR filtering; up-sampling is done in the
  polyphase (transposed-convolution) form, so no zero-stuffed intermediate is ever materialised.
- ``conv_up2d`` / ``conv_down2d`` / ``Conv2dLayer``: NVIDIA's ``conv2d_resample`` (x2 up: stride-2
  transposed convolution then FIR with gain 4; x2 down: FIR then strided convolution).
- ``modulated_conv2d``: StyleGAN2's modulated convolution with demodulation and the x2 up-sampling
  variant (differentiable; NVIDIA's fused and non-fused strategies), and
  ``modulated_conv2d_inference``: a whole synthesis layer for inference, folding styles, demodulation,
  gain and bias into as few passes over the activations as the shapes allow.
- ``DerivedCache``: per-parameter cache of derived tensors (scaled / transposed weights) for inference.
- ``upfirdn2d_reference``: the literal slow form, for tests.

All functions take tensors of any float dtype on any device; nothing here reads files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------------
# Activations (NVIDIA's ``bias_act.activation_funcs``: the function and its default gain).


@dataclass(frozen=True)
class Activation:
    func: Callable[[torch.Tensor], torch.Tensor]
    def_gain: float
    positively_homogeneous: bool  # act(a*x) == a*act(x) for a > 0: lets us fold gains into weights


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda x: x, 1.0, True),
    "relu": Activation(F.relu, math.sqrt(2), True),
    "lrelu": Activation(_lrelu, math.sqrt(2), True),
    "tanh": Activation(torch.tanh, 1.0, False),
    "sigmoid": Activation(torch.sigmoid, 1.0, False),
    "elu": Activation(F.elu, 1.0, False),
    "selu": Activation(F.selu, 1.0, False),
    "softplus": Activation(F.softplus, 1.0, False),
    "swish": Activation(lambda x: x * torch.sigmoid(x), math.sqrt(2), False),
}


def check_activation(name: str) -> Activation:
    """The activation called ``name``; ``ValueError`` (one line) for names NVIDIA's code does not know."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r} (supported: {', '.join(ACTIVATIONS)})") from None


def _act_inplace(x: torch.Tensor, name: str) -> torch.Tensor:
    """Apply an activation in place where torch has an in-place kernel (saves a full-size pass)."""
    if name == "linear":
        return x
    if name == "lrelu":
        return F.leaky_relu_(x, 0.2)
    if name == "relu":
        return x.relu_()
    return ACTIVATIONS[name].func(x)


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    act: str = "linear",
    gain: float | None = None,
    clamp: float | None = None,
    dim: int = 1,
    inplace: bool = False,
) -> torch.Tensor:
    """``clamp(act(x + b) * gain, -clamp, clamp)`` with NVIDIA's defaults (gain None = the activation's
    default gain; clamp None = no clamping). ``b`` is broadcast along ``dim``.

    ``inplace=True`` may overwrite ``x`` (only for inference, where nobody needs the input again).
    """
    spec = check_activation(act)
    gain = spec.def_gain if gain is None else float(gain)
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        b = b.to(x.dtype).reshape(shape)
        x = x.add_(b) if inplace else x + b
    if inplace:
        x = _act_inplace(x, act)
        if gain != 1:
            x = x.mul_(gain)
        if clamp is not None and clamp >= 0:
            x = x.clamp_(-clamp, clamp)
        return x
    x = spec.func(x)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale each vector to unit root-mean-square (z and class embeddings, before the mapping MLP)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


class DerivedCache:
    """Remembers one tensor derived from a parameter (a scaled or transposed weight, its squared norms)
    until that parameter changes; saves a pass over big weights on every inference call.

    ``load_state_dict`` and optimisers update in place, so the key holds the version counter and the
    data pointer (and device and dtype, for ``.to()``). Under autograd, for a tensor that requires grad,
    the value is derived afresh every time so that gradients flow. Holds no function (pickles and
    deep-copies cleanly): the derivation is passed to ``get``."""

    def __init__(self):
        self._key = None
        self._value = None

    def get(self, t: torch.Tensor, make: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        if (torch.is_grad_enabled() and t.requires_grad) or t.is_inference():
            return make(t)  # inference tensors have no version counter to key on
        key = (t.data_ptr(), t._version, t.device, t.dtype, tuple(t.shape), make)
        if key != self._key:
            # A normal (not inference-mode) constant, so that it can also serve autograd graphs that
            # differentiate with respect to the inputs only (projection onto frozen weights).
            with torch.inference_mode(False), torch.no_grad():
                self._value = make(t)
            self._key = key
        return self._value

    def __getstate__(self):
        return {"_key": None, "_value": None}


def square_sum(w: torch.Tensor) -> torch.Tensor:
    """``w.square().sum([2, 3])``: per (out, in) channel energy of a conv weight, for demodulation."""
    return w.square().sum(dim=[2, 3])


# ----------------------------------------------------------------------------------------------------
# Fully connected layer with equalised learning rate.


class FullyConnectedLayer(torch.nn.Module):
    """``act(x @ (W * lr_multiplier / sqrt(in)).T + b * lr_multiplier)``.

    The weight is initialised as N(0, 1) / lr_multiplier and the bias as ``bias_init``, which is what
    StyleGAN2 stores. (StyleGAN3 stores ``bias_init / lr_multiplier``; a StyleGAN3 layer that wants its
    init to match can pass that value as ``bias_init``. Loaded weights are used as stored either way.)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ):
        super().__init__()
        check_activation(activation)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = activation
        self.weight_gain = float(lr_multiplier) / math.sqrt(in_features)
        self.bias_gain = float(lr_multiplier)
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self._scaled_weight = DerivedCache()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self._scaled_weight.get(self.weight, self._scale_weight).to(x.dtype)  # cached for inference
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear":
            return F.linear(x, w, b)
        return bias_act(F.linear(x, w), b, act=self.activation)

    def _scale_weight(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.weight_gain

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


# ----------------------------------------------------------------------------------------------------
# FIR filters.


def setup_filter(
    f, normalize: bool = True, separable: bool = False, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """NVIDIA's ``upfirdn2d.setup_filter``: a 1-D tap list becomes its outer product (unless
    ``separable``), normalised to sum 1. StyleGAN2 stores the result ([4, 4] for [1, 3, 3, 1]) as the
    ``resample_filter`` buffers."""
    f = torch.as_tensor([1] if f is None else f, dtype=torch.float32, device=device)
    if f.ndim == 0:
        f = f[None]
    if f.ndim == 1 and not separable:
        f = f.outer(f)
    if normalize:
        f = f / f.sum()
    return f


def _depthwise(k: torch.Tensor, C: int, dtype: torch.dtype) -> torch.Tensor:
    return k.to(dtype)[None, None].expand(C, 1, *k.shape).contiguous()


def fir_filter2d(
    x: torch.Tensor,
    f: torch.Tensor,
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = 1.0,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Depthwise FIR filtering of NCHW ``x`` with the 2-D filter ``f`` as a true convolution (NVIDIA's
    ``upfirdn2d`` with up = down = 1, flip_filter False). ``padding`` is (left, right, top, bottom);
    negative values crop. ``bias`` (per channel, optional) is added in the same pass.

    One 2-D depthwise convolution: on the CPU in channels_last it beats a separable pair of 1-D passes
    (and NCHW 1-D column passes are very slow in oneDNN)."""
    C = x.shape[1]
    px0, px1, py0, py1 = padding
    pad = 0
    if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        pad = (py0, px0)
    elif any(padding):
        x = F.pad(x, [px0, px1, py0, py1])
    k = _depthwise(f.flip([0, 1]) * gain, C, x.dtype)
    return F.conv2d(x, k, None if bias is None else bias.to(x.dtype), padding=pad, groups=C)


def upsample2d(
    x: torch.Tensor,
    f: torch.Tensor,
    up: int = 2,
    padding: tuple[int, int, int, int] | None = None,
    gain: float | None = None,
) -> torch.Tensor:
    """Zero-insertion up-sampling by ``up`` followed by FIR filtering, computed without the zero-stuffed
    intermediate: a depthwise transposed convolution with stride ``up`` (the polyphase form).

    Defaults follow NVIDIA's ``upfirdn2d.upsample2d``: gain ``up**2`` (keeps the mean) and padding that
    maps [H] to [H * up]. ``padding`` is (left, right, top, bottom) around the zero-stuffed signal.
    """
    N, C, H, W = x.shape
    f2 = f if f.ndim == 2 else f.outer(f)
    kh, kw = f2.shape
    if padding is None:
        padding = ((kw + up - 1) // 2, (kw - up) // 2, (kh + up - 1) // 2, (kh - up) // 2)
    gain = float(up * up) if gain is None else gain
    # conv_transpose2d scatters every input pixel through the (unflipped) kernel, which equals zero
    # insertion followed by true convolution with the kernel. Its full output has length up*(H-1)+K
    # and starts K-1 samples before the zero-stuffed signal; shift that to the requested padding
    # (with the transposed convolution's own padding where the crop is symmetric).
    px0, px1, py0, py1 = padding
    out_w = W * up + px0 + px1 - kw + 1
    out_h = H * up + py0 + py1 - kh + 1
    left, top = px0 - (kw - 1), py0 - (kh - 1)
    right, bottom = out_w - (up * (W - 1) + kw) - left, out_h - (up * (H - 1) + kh) - top
    tpad = (0, 0)
    if left == right and top == bottom and left <= 0 and top <= 0:
        tpad, left, right, top, bottom = (-top, -left), 0, 0, 0, 0
    if C <= 4 and H * W >= 256 * 256:
        # Few big planes (images): oneDNN has no fast grouped transposed convolution, torch's fallback
        # is about 4x slower than one single-channel transposed convolution over planes-as-batch.
        y = F.conv_transpose2d(x.reshape(N * C, 1, H, W), (f2 * gain).to(x.dtype)[None, None], stride=up, padding=tpad)
        y = y.reshape(N, C, *y.shape[2:])
    else:
        y = F.conv_transpose2d(x, _depthwise(f2 * gain, C, x.dtype), stride=up, padding=tpad, groups=C)
    if left or right or top or bottom:
        y = F.pad(y, [left, right, top, bottom])
    return y


# ----------------------------------------------------------------------------------------------------
# Modulated convolution.


def transpose_weight(w: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """[O, I/g, k, k] conv weight -> the [I, O/g, k, k] layout ``conv_transpose2d`` wants (contiguous)."""
    O, Ig, kh, kw = w.shape
    if groups == 1:
        return w.transpose(0, 1).contiguous()
    return w.reshape(groups, O // groups, Ig, kh, kw).transpose(1, 2).reshape(groups * Ig, O // groups, kh, kw)


def conv_up2d(
    x: torch.Tensor,
    w: torch.Tensor | None,
    f: torch.Tensor,
    up: int = 2,
    padding: int = 0,
    groups: int = 1,
    bias: torch.Tensor | None = None,
    w_transposed: torch.Tensor | None = None,
) -> torch.Tensor:
    """NVIDIA's ``conv2d_resample`` with up > 1, down = 1 for a [O, I/groups, k, k] weight ``w``
    (flip_weight False, as StyleGAN2 calls it): an un-flipped stride-``up`` transposed convolution,
    then the FIR ``f`` with gain up**2. The transposed convolution never materialises zeros.
    ``w_transposed`` (optional) is ``transpose_weight(w, groups)``, given instead of ``w``.

    1x1 weights take NVIDIA's other branch, FIR up-sampling then the 1x1 convolution; we run the 1x1
    convolution first (it commutes and touches fewer pixels). ``bias`` (optional) is added at the end.
    """
    if w_transposed is None:
        w_transposed = transpose_weight(w, groups)
    kh, kw = w_transposed.shape[-2:]
    fh, fw = f.shape[-2:]
    # Padding bookkeeping as conv2d_resample does it (``padding`` is relative to the output).
    px0 = padding + (fw + up - 1) // 2
    px1 = padding + (fw - up) // 2
    py0 = padding + (fh + up - 1) // 2
    py1 = padding + (fh - up) // 2
    if kh == 1 and kw == 1:
        w = w if w is not None else transpose_weight(w_transposed, groups)
        y = upsample2d(F.conv2d(x, w, groups=groups), f, up=up, padding=(px0, px1, py0, py1), gain=float(up * up))
        return y if bias is None else y + bias.to(y.dtype).reshape(1, -1, 1, 1)
    px0 -= kw - 1
    px1 -= kw - up
    py0 -= kh - 1
    py1 -= kh - up
    pxt = max(min(-px0, -px1), 0)
    pyt = max(min(-py0, -py1), 0)
    y = F.conv_transpose2d(x, w_transposed.to(x.dtype), stride=up, padding=[pyt, pxt], groups=groups)
    return fir_filter2d(y, f, padding=(px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt), gain=float(up * up), bias=bias)


def _conv(x, w, up, padding, f, groups=1, bias=None, w_transposed=None) -> torch.Tensor:
    """Plain convolution (``up=1``, correlation with padding) or NVIDIA's x2 up-sampling convolution."""
    if up == 1:
        return F.conv2d(x, w, None if bias is None else bias.to(x.dtype), padding=padding, groups=groups)
    return conv_up2d(x, w, f, up=up, padding=padding, groups=groups, bias=bias, w_transposed=w_transposed)


def demod_coefficients(styles: torch.Tensor, weight_sq: torch.Tensor) -> torch.Tensor:
    """d[n, o] = rsqrt(sum_i,k (w[o, i, k] * s[n, i])**2 + 1e-8), from ``weight_sq[o, i] = sum_k w**2``."""
    return (styles.square() @ weight_sq.to(styles.dtype).t() + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    fused: bool | None = None,
) -> torch.Tensor:
    """StyleGAN2's modulated convolution (NVIDIA's ``modulated_conv2d`` with flip_weight as they use it).

    x [N, I, H, W], weight [O, I, k, k], styles [N, I]. Per sample the weight is ``weight * s`` over the
    input channels; with ``demodulate`` each output channel is then scaled by
    ``d = rsqrt(sum((weight * s)**2) + 1e-8)``. ``noise`` (broadcastable to the output) is added after
    demodulation. ``up=2`` is NVIDIA's up-sampling convolution: a stride-2 transposed convolution of the
    per-sample weight, then the FIR ``resample_filter`` with gain 4 and padding 1 (output [2H, 2W]).

    ``fused`` picks NVIDIA's execution strategy; both give the same result up to rounding:
    - True: modulate (and demodulate) the weight per sample, one grouped convolution over the batch;
    - False: scale the activations by ``s``, one convolution with the shared weight, scale the output
      by ``d``, add the noise. None: False (the cheap choice for batches and for training).
    Differentiable throughout; ``modulated_conv2d_inference`` is the fast no-autograd form.
    """
    N, I, H, W = x.shape
    O, _, kh, kw = weight.shape
    dtype = x.dtype
    weight = weight.to(dtype)
    styles = styles.to(dtype)
    if dtype == torch.float16 and demodulate:
        # NVIDIA's guard against fp16 overflow; demodulation cancels both scales.
        weight = weight * (1 / math.sqrt(I * kh * kw) / weight.abs().amax(dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.abs().amax(dim=1, keepdim=True)
    dcoefs = demod_coefficients(styles, weight.square().sum(dim=[2, 3])) if demodulate else None

    if fused:
        w = weight.unsqueeze(0) * styles.reshape(N, 1, I, 1, 1)
        if demodulate:
            w = w * dcoefs.reshape(N, O, 1, 1, 1)
        y = _conv(x.reshape(1, N * I, H, W), w.reshape(N * O, I, kh, kw), up, padding, resample_filter, groups=N)
        y = y.reshape(N, O, *y.shape[2:])
        return y if noise is None else y + noise.to(dtype)

    y = _conv(x * styles.reshape(N, I, 1, 1), weight, up, padding, resample_filter)
    if demodulate and noise is not None:
        return torch.addcmul(noise.to(dtype), y, dcoefs.reshape(N, O, 1, 1))
    if demodulate:
        return y * dcoefs.reshape(N, O, 1, 1)
    if noise is not None:
        return y + noise.to(dtype)
    return y


def modulated_conv2d_inference(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    bias: torch.Tensor,
    noise: torch.Tensor | None,
    act: str,
    gain: float,
    clamp: float | None,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    weight_sq: torch.Tensor | None = None,
    weight_t: torch.Tensor | None = None,
) -> torch.Tensor:
    """A whole StyleGAN2 synthesis layer after the affine, for inference only (overwrites its own
    intermediates): ``bias_act(modulated_conv2d(x, weight, styles, noise, up) , bias, act, gain, clamp)``.

    Same maths as the two-step form with fewer full-size passes over the activations:
    - for positively homogeneous activations (linear/relu/lrelu) the gain is folded into the
      demodulation coefficients, the bias and the noise;
    - for one sample, when the weight is smaller than the activations (high resolutions), the styles
      and demodulation are folded into the weight (NVIDIA's fused path without the grouped conv) and
      the bias rides in the convolution (or the up-sampling FIR); otherwise the activations are scaled
      (NVIDIA's non-fused path), which is cheaper at low resolution and for batches.
    ``weight_sq`` = ``weight.square().sum([2, 3])`` and ``weight_t`` = ``transpose_weight(weight)`` can
    be passed in from a cache to skip a pass over the weight.
    """
    N, I, H, W = x.shape
    O = weight.shape[0]
    dtype = x.dtype
    if dtype == torch.float16:
        y = modulated_conv2d(x, weight, styles, noise=noise, up=up, padding=padding, resample_filter=resample_filter)
        return bias_act(y, bias, act=act, gain=gain, clamp=clamp, inplace=True)
    styles = styles.to(dtype)
    if weight_sq is None:
        weight_sq = weight.square().sum(dim=[2, 3])
    fold = ACTIVATIONS[act].positively_homogeneous and gain > 0
    out_gain = gain if fold else 1.0
    scale = demod_coefficients(styles, weight_sq)  # [N, O]
    if out_gain != 1:
        scale = scale * out_gain
    b = bias.to(dtype) * out_gain if out_gain != 1 else bias.to(dtype)
    if noise is not None:
        noise = noise.to(dtype) * out_gain if out_gain != 1 else noise.to(dtype)

    if N == 1 and weight.numel() < I * H * W + O * H * W * up * up:
        if up == 1:
            w = weight * (styles.reshape(1, I, 1, 1) * scale.reshape(O, 1, 1, 1))
            y = F.conv2d(x, w, b, padding=padding)
        else:
            wt = weight_t if weight_t is not None else transpose_weight(weight)
            wt = wt * (styles.reshape(I, 1, 1, 1) * scale.reshape(1, O, 1, 1))
            y = conv_up2d(x, None, resample_filter, up=up, padding=padding, bias=b, w_transposed=wt)
        if noise is not None:
            y = y.add_(noise)
    else:
        y = _conv(x * styles.reshape(N, I, 1, 1), weight.to(dtype), up, padding, resample_filter,
                  w_transposed=weight_t)
        if noise is not None:
            y = torch.addcmul(noise, y, scale.reshape(N, O, 1, 1))
        else:
            y = y.mul_(scale.reshape(N, O, 1, 1))
        y = y.add_(b.reshape(1, O, 1, 1))
    y = _act_inplace(y, act)
    if not fold and gain != 1:
        y = y.mul_(gain)
    if clamp is not None and clamp >= 0:
        y = y.clamp_(-clamp, clamp)
    return y


def conv_down2d(
    x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, down: int = 2, padding: int = 0, groups: int = 1
) -> torch.Tensor:
    """NVIDIA's ``conv2d_resample`` with up = 1, down > 1 (the discriminator's layers): FIR with padding,
    then a strided convolution (1x1 weights: FIR, decimation, then the 1x1 convolution)."""
    kh, kw = w.shape[-2:]
    fh, fw = f.shape[-2:]
    px0 = padding + (fw - down + 1) // 2
    px1 = padding + (fw - down) // 2
    py0 = padding + (fh - down + 1) // 2
    py1 = padding + (fh - down) // 2
    y = fir_filter2d(x, f, padding=(px0, px1, py0, py1))
    if kh == 1 and kw == 1:
        return F.conv2d(y[:, :, ::down, ::down], w, groups=groups)
    return F.conv2d(y, w, stride=down, groups=groups)


class Conv2dLayer(torch.nn.Module):
    """NVIDIA's ``Conv2dLayer``: equalised-lr convolution (weight * 1/sqrt(in * k * k)) with optional x2
    up- or down-sampling through ``resample_filter``, then ``bias_act``. StyleGAN2's generator uses it
    for the 'resnet' skip connections; discriminators use it throughout."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        up: int = 1,
        down: int = 1,
        resample_filter=(1, 3, 3, 1),
        conv_clamp: float | None = None,
        channels_last: bool = False,
    ):
        super().__init__()
        check_activation(activation)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.activation = activation
        self.up = up
        self.down = down
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(list(resample_filter)))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.act_gain = ACTIVATIONS[activation].def_gain
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        f = self.resample_filter
        if self.up > 1:
            x = conv_up2d(x, w, f, up=self.up, padding=self.padding)
        elif self.down > 1:
            x = conv_down2d(x, w, f, down=self.down, padding=self.padding)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"activation={self.activation}, up={self.up}, down={self.down}")


# ----------------------------------------------------------------------------------------------------
# Reference (slow, obviously-correct) forms, used by the tests to check the fast paths above.


def upfirdn2d_reference(
    x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1, padding=(0, 0, 0, 0), gain: float = 1.0
) -> torch.Tensor:
    """Literal zero-insertion, pad (negative values crop), true convolution with ``f * gain`` at the full
    rate (a 1-D ``f`` as two separable passes, as NVIDIA's reference op does), decimation. Slow: it is
    the yardstick for tests and benchmarks. ``f=None`` means no filter."""
    N, C, H, W = x.shape
    if up > 1:
        x = x.reshape(N, C, H, 1, W, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(N, C, H * up, W * up)
    x = F.pad(x, list(padding))
    if f is not None and f.ndim == 1:
        k = (f * gain**0.5).flip(0).to(x.dtype)
        x = F.conv2d(x, k.reshape(1, 1, 1, -1).repeat(C, 1, 1, 1), groups=C)
        x = F.conv2d(x, k.reshape(1, 1, -1, 1).repeat(C, 1, 1, 1), groups=C)
    elif f is not None:
        k = (f * gain).flip([0, 1]).to(x.dtype)
        x = F.conv2d(x, k[None, None].repeat(C, 1, 1, 1), groups=C)
    return x[:, :, ::down, ::down]
