"""StyleGAN3-specific operations, written for speed on the CPU (plain PyTorch, any device).

NVIDIA's pure-PyTorch path for StyleGAN3 (what runs without their CUDA plugins) up-samples by
inserting zeros, filters the 2-4x larger zero-stuffed image (multiplying all the zeros), and filters
again at the full rate before throwing away every other sample, all on whole NCHW layers that stream
through memory. Here the same maths is computed without any of that:

- ``filtered_lrelu``: bias, FIR up-sampling, leaky ReLU (gain, clamp), FIR down-sampling. Up-sampling is
  a depthwise transposed convolution (the polyphase form: no zeros are multiplied), down-sampling a
  strided depthwise convolution (no discarded samples are computed), separable filters run as two 1-D
  passes, in channels-last blocks of channels small enough to stay in cache. The R config's radial
  down filters are not separable and run as one strided 2-D depthwise pass (exact, no approximation).
- ``conv3x3_winograd``: a 3x3 convolution as Winograd F(4x4, 3x3): 36 batched GEMMs with 4x fewer
  multiply-adds than a direct convolution, which is where most of SG3-T's time goes on a CPU.
- ``design_lowpass_filter``: the Kaiser-windowed ``firwin`` and the radial jinc filter in numpy only (so
  scipy is not a runtime dependency). Trained networks carry their filters as buffers; the designs
  are needed only to build untrained networks.

Semantics follow NVIDIA's ``filtered_lrelu``/``upfirdn2d`` (true convolution, flip_filter False).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import torch
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------------
# Filter design (numpy only).


def kaiser_atten(numtaps: int, width: float) -> float:
    """Attenuation (dB) of a Kaiser FIR filter with ``numtaps`` taps and transition ``width`` (relative
    to Nyquist): Kaiser's empirical formula, as scipy.signal.kaiser_atten."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def kaiser_beta(atten: float) -> float:
    """Kaiser window shape parameter for a given attenuation (scipy.signal.kaiser_beta)."""
    if atten > 50:
        return 0.1102 * (atten - 8.7)
    if atten > 21:
        return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    return 0.0


def firwin_lowpass(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """Windowed-sinc low-pass filter, the same numbers as ``scipy.signal.firwin(numtaps, cutoff,
    width=width, fs=fs)`` (Kaiser window, unit gain at DC), which NVIDIA uses for the separable filters."""
    nyq = fs / 2
    c = cutoff / nyq
    beta = kaiser_beta(kaiser_atten(numtaps, width / nyq))
    m = np.arange(numtaps) - (numtaps - 1) / 2
    h = c * np.sinc(c * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel function J1 by its integral form J1(x) = 1/(2 pi) * int_0^2pi cos(t - x sin t) dt.

    The integrand is smooth and periodic, so the trapezoid rule converges exponentially once the point
    count exceeds |x|; the filters need |x| < ~100, and 256 points give float64 accuracy there."""
    x = np.asarray(x, dtype=np.float64)
    points = max(256, int(np.abs(x).max(initial=0.0) * 2 + 64))
    t = np.arange(points) * (2 * np.pi / points)
    return np.cos(t - x[..., None] * np.sin(t)).mean(axis=-1)


def radial_lowpass(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """Radially symmetric 2-D low-pass (jinc times a separable Kaiser window), sum 1: StyleGAN3-R's
    down-sampling filter for non-critically-sampled layers."""
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    with np.errstate(invalid="ignore", divide="ignore"):
        f = bessel_j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    f[r == 0] = cutoff  # the limit of J1(2 pi c r) / (pi r) at r = 0
    beta = kaiser_beta(kaiser_atten(numtaps, width / (fs / 2)))
    w = np.kaiser(numtaps, beta)
    f = f * np.outer(w, w)
    return f / f.sum()


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False):
    """The filter buffer NVIDIA's SynthesisLayer designs: None for one tap (identity), else float32."""
    if numtaps <= 1:
        return None
    f = radial_lowpass(numtaps, cutoff, width, fs) if radial else firwin_lowpass(numtaps, cutoff, width, fs)
    return torch.as_tensor(f, dtype=torch.float32)


def filtered_lrelu_padding(in_size: int, out_size: int, conv_kernel: int, up: int, down: int,
                           up_taps: int, down_taps: int) -> tuple[int, int]:
    """(low, high) padding around the zero-stuffed signal that makes a layer's output exactly
    ``out_size`` with sample positions centred as in the paper's symmetric interpretation (App. C.3)."""
    total = (out_size - 1) * down + 1
    total -= (in_size + conv_kernel - 1) * up
    total += up_taps + down_taps - 2
    low = (total + up) // 2
    return low, total - low


# ----------------------------------------------------------------------------------------------------
# Filtered leaky ReLU.

# ``filtered_lrelu`` runs in blocks of channels (filtering is depthwise, so blocks are independent):
# a block's up-sampled intermediate stays in the CPU caches, where a whole layer's (up to ~0.6 GB at
# 1024 px) would stream through memory several times. Blocks hold at least CHANNEL_BLOCK channels (one
# AVX-512 vector of float32) and grow while their intermediate fits in BLOCK_BYTES (fewer, larger ops
# for small layers, where per-op overheads dominate).
CHANNEL_BLOCK = 16
BLOCK_BYTES = 4 << 20


def _depthwise(f: torch.Tensor, channels: int, dim: int, dtype: torch.dtype) -> torch.Tensor:
    """A 1-D filter as a depthwise conv weight along ``dim`` (3 = width, 2 = height)."""
    shape = (1, 1, 1, -1) if dim == 3 else (1, 1, -1, 1)
    return f.to(dtype).reshape(shape).expand(channels, *f.reshape(shape).shape[1:]).contiguous()


def _up_geometry(n: int, taps: int, up: int, pad0: int, out_len: int) -> tuple[int, int, int]:
    """(front, back, crop) for one axis of the polyphase up-sampling.

    A transposed convolution with stride ``up`` and the unflipped filter scatters each input sample
    through the filter: that is zero insertion followed by true convolution, whose index is shifted by
    ``taps - 1 - pad0`` from the one we want. Adding ``front`` zero samples (negative: dropping samples
    that reach no wanted output) moves that shift into [0, taps), where the transposed convolution's own
    ``padding`` (``crop``, from both ends) absorbs it; ``back`` samples at the end make the output at
    least ``out_len`` long. Surplus at the end only produces surplus outputs, cut off at the very end."""
    start = taps - 1 - pad0
    if start < 0:
        front = -(start // up)  # ceil(-start / up) zeros in front
    elif start > taps - 1:
        front = -((start - taps) // up + 1)  # samples whose whole footprint lies before the window
    else:
        front = 0
    crop = start + front * up
    needed = -(-(out_len - taps + 2 * crop) // up) + 1  # input length for >= out_len outputs
    back = max(needed, 1) - n - front
    return front, back, crop


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None = None,
    fd: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
) -> torch.Tensor:
    """NVIDIA's ``filtered_lrelu`` for NCHW ``x``: add ``b``; zero-insert by ``up``; pad by ``padding``
    (x0, x1, y0, y1; negative crops); convolve with ``fu`` (gain up**2); leaky ReLU with ``slope``,
    times ``gain``, clamp to +-``clamp``; convolve with ``fd``; keep every ``down``-th sample.

    ``fu`` must be 1-D (separable) or None; ``fd`` 1-D, 2-D (non-separable, the radial filters) or None.
    Returns a channels-last tensor. Runs in channel blocks (see ``CHANNEL_BLOCK``); the gain is folded
    into the second up-sampling pass (leaky ReLU is positively homogeneous), saving a full pass.
    """
    if fu is not None and fu.ndim != 1:
        raise ValueError("filtered_lrelu: the up-sampling filter must be 1-D (separable)")
    N, C, H, W = x.shape
    px0, px1, py0, py1 = padding
    ku = 1 if fu is None else fu.shape[0]
    kdw = 1 if fd is None else fd.shape[-1]
    kdh = 1 if fd is None else fd.shape[0]
    out_w = (W * up + px0 + px1 - (ku - 1) - (kdw - 1) + (down - 1)) // down
    out_h = (H * up + py0 + py1 - (ku - 1) - (kdh - 1) + (down - 1)) // down
    if b is not None:
        x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    grad = torch.is_grad_enabled() and x.requires_grad
    fold_gain = gain > 0 and slope >= 0

    if fu is None and up == 1:  # ToRGB: padding (normally none), gain, activation and clamp only
        y = F.pad(x, (px0, px1, py0, py1)) if any(padding) else x
        y = y * gain if gain != 1 else y.clone()
        y = F.leaky_relu(y, slope) if slope != 1 else y
        y = y.clamp(-clamp, clamp) if clamp is not None and clamp >= 0 else y
        if fd is not None or down > 1:
            y = _downsample(y, fd, down, C)
        return y[:, :, :out_h, :out_w].contiguous(memory_format=torch.channels_last)

    # Geometry of the two up-sampling passes (same for every channel block).
    tmp_w = W * up + px0 + px1 - ku + 1
    tmp_h = H * up + py0 + py1 - ku + 1
    fw, bw, cw = _up_geometry(W, ku, up, px0, tmp_w)
    fh, bh, ch = _up_geometry(H, ku, up, py0, tmp_h)
    fu = fu.to(torch.float32)
    fu_w = fu * up
    fu_h = fu * (up * gain if fold_gain else up)

    out = torch.empty([N, C, out_h, out_w], dtype=x.dtype, device=x.device, memory_format=torch.channels_last)
    pieces = []
    per_channel = N * (tmp_h + up) * (tmp_w + up) * x.element_size()
    block = max(CHANNEL_BLOCK, BLOCK_BYTES // per_channel // CHANNEL_BLOCK * CHANNEL_BLOCK)
    for c0 in range(0, C, block):
        c = min(block, C - c0)
        xc = F.pad(x[:, c0:c0 + c], (fw, bw, fh, bh)).contiguous(memory_format=torch.channels_last)
        # Along H first, on the small input: oneDNN's strided transposed convolution along W is ~2.5x
        # faster per output in channels-last, so it gets the big one (the full intermediate).
        y = F.conv_transpose2d(xc, _depthwise(fu_h, c, 2, x.dtype), stride=(up, 1), padding=(ch, 0), groups=c)
        y = F.conv_transpose2d(y, _depthwise(fu_w, c, 3, x.dtype), stride=(1, up), padding=(0, cw), groups=c)
        if not fold_gain and gain != 1:
            y = y * gain
        if slope != 1:
            y = F.leaky_relu(y, slope) if grad else F.leaky_relu_(y, slope)
        if clamp is not None and clamp >= 0:
            y = y.clamp(-clamp, clamp) if grad else y.clamp_(-clamp, clamp)
        y = _downsample(y, fd, down, c)[:, :, :out_h, :out_w]
        if grad:
            pieces.append(y)
        else:
            out[:, c0:c0 + c].copy_(y)
    if grad:
        return torch.cat(pieces, dim=1).contiguous(memory_format=torch.channels_last)
    return out


def _downsample(y: torch.Tensor, fd: torch.Tensor | None, down: int, c: int) -> torch.Tensor:
    """True convolution with ``fd`` (valid part) keeping every ``down``-th sample: strided depthwise
    convolutions, so discarded samples are never computed. 1-D filters run as two passes."""
    if fd is None:
        return y[:, :, ::down, ::down] if down > 1 else y
    if fd.ndim == 1:
        y = F.conv2d(y, _depthwise(fd.flip(0), c, 3, y.dtype), stride=(1, down), groups=c)
        return F.conv2d(y, _depthwise(fd.flip(0), c, 2, y.dtype), stride=(down, 1), groups=c)
    k = fd.flip([0, 1]).to(y.dtype)
    return F.conv2d(y, k[None, None].expand(c, 1, *k.shape).contiguous(), stride=down, groups=c)


# ----------------------------------------------------------------------------------------------------
# Winograd F(4x4, 3x3) convolution.


class TensorCache:
    """Holds one value derived from a parameter (its Winograd form) until the parameter changes.

    ``load_state_dict`` and in-place edits bump the tensor's version counter, so that is part of the
    key together with the storage pointer; nothing stale survives loading other weights."""

    def __init__(self):
        self._entry = (None, None)  # (key, value), replaced as one object: safe for concurrent renders

    def get(self, t: torch.Tensor, make):
        key = (t.data_ptr(), t._version, t.device, t.dtype, tuple(t.shape))
        cached_key, value = self._entry
        if key != cached_key:
            value = make(t)
            self._entry = (key, value)
        return value

# Lavin & Gray's transforms for F(4, 3) (interpolation points 0, +-1, +-2, infinity).
_WINO_BT = np.array([
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
], dtype=np.float64)
_WINO_G = np.array([
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
], dtype=np.float64)
_WINO_AT = np.array([
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
], dtype=np.float64)


def winograd_weight(weight: torch.Tensor) -> torch.Tensor:
    """A [O, I, 3, 3] weight in the Winograd domain, [36, I, O] (computed in float64 for accuracy)."""
    g = torch.as_tensor(_WINO_G, dtype=torch.float64, device=weight.device)
    u = torch.einsum("ay,ocyx,bx->abco", g, weight.to(torch.float64), g)
    return u.reshape(36, weight.shape[1], weight.shape[0]).to(weight.dtype)


def _winograd_in_1d(d: list[torch.Tensor], out: torch.Tensor | list[torch.Tensor]) -> None:
    """B^T along one axis: the six input views d[0..5] -> out[0..5] (same shapes), in 14 element-wise
    ops with shared sums (each is a pass over cache-resident memory, cheaper than a tiny GEMM)."""
    torch.add(d[4], d[0], alpha=4, out=out[0]).add_(d[2], alpha=-5)
    torch.add(d[5], d[1], alpha=4, out=out[5]).add_(d[3], alpha=-5)
    s = d[3] + d[4]
    t = d[1] + d[2]
    torch.add(s, t, alpha=-4, out=out[1])
    torch.sub(d[4], d[3], out=s)
    torch.sub(d[1], d[2], out=t)
    torch.add(s, t, alpha=4, out=out[2])
    torch.sub(d[4], d[2], out=s)
    torch.sub(d[3], d[1], out=t)
    torch.add(s, t, alpha=2, out=out[3])
    torch.add(s, t, alpha=-2, out=out[4])


def _winograd_out_1d(m: torch.Tensor | list[torch.Tensor], out: torch.Tensor | list[torch.Tensor]) -> None:
    """A^T along one axis: six views m[0..5] -> four outputs out[0..3]."""
    s12 = m[1] + m[2]
    d12 = m[1] - m[2]
    s34 = m[3] + m[4]
    d34 = m[3] - m[4]
    torch.add(s12, s34, out=out[0]).add_(m[0])
    torch.add(d12, d34, alpha=2, out=out[1])
    torch.add(s12, s34, alpha=4, out=out[2])
    torch.add(d12, d34, alpha=8, out=out[3]).add_(m[5])


WINOGRAD_BAND_BYTES = 16 << 20  # working set of one band of tile rows (measured best: 4-64 MiB tried)

_workspace = threading.local()


def _scratch(slot: int, numel: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A per-thread scratch buffer of at least ``numel`` elements, kept between calls.

    Fresh multi-megabyte tensors come from mmap and are returned on free, so every render paid the page
    faults of the Winograd intermediates again (measured ~15% of a T-64 render). Per thread, so
    concurrent renders in different threads never share one."""
    buffers = getattr(_workspace, "buffers", None)
    if buffers is None:
        buffers = _workspace.buffers = {}
    key = (slot, dtype, device)
    buf = buffers.get(key)
    if buf is None or buf.numel() < numel:
        buf = buffers[key] = torch.empty(numel, dtype=dtype, device=device)
    return buf[:numel]


def conv3x3_winograd(x: torch.Tensor, u: torch.Tensor, padding: int, bias: torch.Tensor | None = None,
                     out_scale: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=padding) * out_scale + bias`` for a 3x3 ``weight`` given as
    ``u = winograd_weight(weight)`` ([36, I, O]); ``out_scale`` is per output channel, [N, O] or None.

    Each 4x4 output tile is A^T [(G g G^T) . (B^T d B)] A of a 6x6 input tile d: the products over
    all tiles and channels become 36 GEMMs [tiles, I] x [I, O], with 36 instead of 144 multiply-adds
    per 4x4 outputs and channel pair. Runs in the channels-last layout (the tile transforms are then
    element-wise ops over whole pixel rows) and in bands of tile rows so that the 2.25x larger
    transformed data stays in cache. Returns a channels-last NCHW tensor."""
    N, C, H, W = x.shape
    O = u.shape[2]
    Ho, Wo = H + 2 * padding - 2, W + 2 * padding - 2
    th, tw = -(-Ho // 4), -(-Wo // 4)
    Hp, Wp = 4 * th + 2, 4 * tw + 2
    dtype, device = x.dtype, x.device
    u = u.to(dtype)
    xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, padding, Wp - W - padding, padding, Hp - H - padding))  # NHWC
    out = torch.empty([N, th, 4, tw, 4, O], dtype=dtype, device=device)
    band = max(1, min(th, WINOGRAD_BAND_BYTES // (36 * N * tw * max(C, O) * x.element_size())))
    for t0 in range(0, th, band):
        b = min(band, th - t0)
        rows = xp[:, 4 * t0:4 * (t0 + b) + 2]
        a = _scratch(0, 6 * N * b * Wp * C, dtype, device).view(6, N, b, Wp, C)  # B^T along H
        _winograd_in_1d([rows[:, i:i + 4 * b - 3:4] for i in range(6)], a)
        v = _scratch(1, 36 * N * b * tw * C, dtype, device).view(6, 6, N, b, tw, C)  # then along W
        for r in range(6):
            _winograd_in_1d([a[r][:, :, j:j + 4 * tw - 3:4] for j in range(6)], v[r])
        m = _scratch(2, 36 * N * b * tw * O, dtype, device).view(6, 6, N, b, tw, O)
        torch.bmm(v.view(36, N * b * tw, C), u, out=m.view(36, N * b * tw, O))
        y = _scratch(3, 24 * N * b * tw * O, dtype, device).view(4, 6, N, b, tw, O)  # A^T along H
        _winograd_out_1d(m, y)
        ob = out[:, t0:t0 + b]
        for p in range(4):  # then along W, straight into the output tiles
            _winograd_out_1d(y[p], [ob[:, :, p, :, q] for q in range(4)])
    if out_scale is not None:
        out.mul_(out_scale.to(dtype).reshape(N, 1, 1, 1, 1, O))
    if bias is not None:
        out.add_(bias.to(dtype).reshape(1, 1, 1, 1, 1, O))
    return out.view(N, 4 * th, 4 * tw, O)[:, :Ho, :Wo].permute(0, 3, 1, 2)
