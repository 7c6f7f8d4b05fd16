"""Our StyleGAN3 generator: geometry against the reference tables (notes §4.3), the fast ops against
straightforward implementations of NVIDIA's semantics, and the NVIDIA fixture render by render."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.models import build_generator
from explorer.models.sg3_ops import (
    CHANNEL_BLOCK,
    conv3x3_winograd,
    design_lowpass_filter,
    filtered_lrelu,
    filtered_lrelu_padding,
    firwin_lowpass,
    radial_lowpass,
    winograd_weight,
)
from explorer.models.sg3_reference import filtered_lrelu_reference, reference_synthesis
from explorer.models.stylegan3 import Generator

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"
R_CONFIG = dict(conv_kernel=1, channel_base=65536, channel_max=1024, use_radial_filters=True)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small renders are dominated by per-op overheads, and on a busy machine OpenMP's spinning
    threads make them far slower: run this module single-threaded (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(res, cfg="t", **kwargs):
    synthesis = dict(R_CONFIG) if cfg == "r" else {}
    synthesis.update(kwargs)
    torch.manual_seed(0)
    return Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3, synthesis_kwargs=synthesis)


def names(G):
    return list(G.synthesis.layer_names)


# ----------------------------------------------------------------------------------------------------
# Geometry (notes §4.3 tables).


def test_t1024_layers_and_geometry():
    G = make(1024)
    assert names(G) == ["L0_36_512", "L1_36_512", "L2_52_512", "L3_52_512", "L4_84_512", "L5_148_512",
                        "L6_148_512", "L7_276_323", "L8_276_203", "L9_532_128", "L10_1044_81", "L11_1044_51",
                        "L12_1044_32", "L13_1024_32", "L14_1024_3"]
    assert G.num_ws == 16 and G.synthesis.input.channels == 512 and G.synthesis.input.size == 36
    s = G.synthesis
    rows = [(s.L0_36_512, 16, 16, 2, 2, 12, 12), (s.L2_52_512, 16, 32, 4, 2, 24, 12),
            (s.L10_1044_81, 512, 1024, 4, 2, 24, 12), (s.L13_1024_32, 1024, 1024, 2, 2, 12, 12)]
    for layer, s_in, s_out, up, down, up_taps, down_taps in rows:
        assert (layer.in_sampling_rate, layer.out_sampling_rate) == (s_in, s_out)
        assert (layer.up_factor, layer.down_factor, layer.up_taps, layer.down_taps) == (up, down, up_taps, down_taps)
        assert tuple(layer.up_filter.shape) == (up_taps,) and tuple(layer.down_filter.shape) == (down_taps,)
    assert s.L0_36_512.padding == (9, 8, 9, 8)
    assert s.L1_36_512.out_cutoff == pytest.approx(3.17, abs=0.01)
    assert s.L7_276_323.out_cutoff == pytest.approx(50.80, abs=0.01)
    torgb = s.L14_1024_3
    assert torgb.up_filter is None and torgb.down_filter is None and torgb.weight.shape[2:] == (1, 1)
    assert [layer.use_fp16 for layer in (getattr(s, n) for n in names(G))] == [False] * 5 + [True] * 10
    assert sum(p.numel() for p in G.parameters()) / 1e6 == pytest.approx(22.31, abs=0.01)


def test_t512_and_t256_names():
    assert names(make(512)) == ["L0_36_512", "L1_36_512", "L2_52_512", "L3_52_512", "L4_84_512", "L5_84_512",
                                "L6_148_512", "L7_148_483", "L8_276_323", "L9_276_215", "L10_532_144",
                                "L11_532_96", "L12_532_64", "L13_512_64", "L14_512_3"]
    G256 = make(256)
    assert names(G256) == ["L0_36_512", "L1_36_512", "L2_36_512", "L3_52_512", "L4_52_512", "L5_84_512",
                           "L6_84_512", "L7_148_512", "L8_148_512", "L9_148_362", "L10_276_256", "L11_276_181",
                           "L12_276_128", "L13_256_128", "L14_256_3"]
    assert sum(p.numel() for p in G256.parameters()) / 1e6 == pytest.approx(28.47, abs=0.01)
    assert names(make(256, channel_base=16384))[7:14] == ["L7_148_362", "L8_148_256", "L9_148_181", "L10_276_128",
                                                         "L11_276_91", "L12_276_64", "L13_256_64"]


def test_r1024_and_r512():
    G = make(1024, "r")
    assert names(G) == ["L0_36_1024", "L1_36_1024", "L2_52_1024", "L3_52_1024", "L4_84_1024", "L5_148_1024",
                        "L6_148_1024", "L7_276_645", "L8_276_406", "L9_532_256", "L10_1044_161", "L11_1044_102",
                        "L12_1044_64", "L13_1024_64", "L14_1024_3"]
    assert G.synthesis.input.channels == 1024
    for i, name in enumerate(names(G)):
        layer = getattr(G.synthesis, name)
        assert layer.weight.shape[2:] == (1, 1)
        if i <= 11:
            assert tuple(layer.down_filter.shape) == (12, 12)
        elif i <= 13:
            assert tuple(layer.down_filter.shape) == (12,)
    assert sum(p.numel() for p in G.parameters()) / 1e6 == pytest.approx(15.09, abs=0.01)
    R512 = make(512, "r")
    channels = [getattr(R512.synthesis, n).out_channels for n in names(R512)]
    assert channels == [1024] * 7 + [967, 645, 431, 287, 192, 128, 128, 3]


def test_layer_infos_and_config_errors():
    G = make(64, channel_base=4096, channel_max=128)
    infos = G.layer_infos()
    assert infos[0].name == "input" and infos[0].w_index == 0 and infos[0].resolution == 36
    assert [i.w_index for i in infos] == list(range(16))
    assert infos[-1].name == "L14_64_3" and infos[-1].channels == 3 and infos[-1].sampling_rate == 64
    assert G.has_input_transform
    with pytest.raises(ValueError, match="unsupported argument"):
        Generator(8, 0, 8, 32, 3, synthesis_kwargs={"channel_bass": 1})
    with pytest.raises(ValueError, match="unsupported argument"):
        Generator(8, 0, 8, 32, 3, mapping_kwargs={"layers": 2})
    G = build_generator({"arch": "stylegan3", "z_dim": 8, "c_dim": 3, "w_dim": 16, "img_resolution": 16,
                         "img_channels": 3, "mapping_kwargs": {"num_layers": 2},
                         "synthesis_kwargs": {"channel_base": 512, "channel_max": 16}})
    assert tuple(G.mapping.fc0.weight.shape) == (16, 24) and tuple(G.mapping.embed.weight.shape) == (16, 3)
    ws = G.mapping(torch.randn(2, 8), torch.eye(3)[:2])
    assert tuple(ws.shape) == (2, 16, 16)


# ----------------------------------------------------------------------------------------------------
# Filter design: our numpy firwin/jinc against scipy (a test-only dependency here).


def test_filter_design_matches_scipy():
    signal = pytest.importorskip("scipy.signal")
    special = pytest.importorskip("scipy.special")
    for taps, cutoff, width, fs in [(12, 2, 8.6, 32), (24, 5.04, 12.3, 128), (12, 512, 181, 2048), (6, 3, 2, 16)]:
        np.testing.assert_allclose(firwin_lowpass(taps, cutoff, width, fs),
                                   signal.firwin(taps, cutoff, width=width, fs=fs), atol=1e-12)
    taps, cutoff, width, fs = 12, 12.7, 7.3, 128
    x = (np.arange(taps) - (taps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    w = np.kaiser(taps, signal.kaiser_beta(signal.kaiser_atten(taps, width / (fs / 2))))
    f = f * np.outer(w, w)
    np.testing.assert_allclose(radial_lowpass(taps, cutoff, width, fs), f / f.sum(), atol=1e-12)
    assert design_lowpass_filter(1, 2, 2, 16) is None


# ----------------------------------------------------------------------------------------------------
# Fast ops against literal implementations of NVIDIA's semantics.


@pytest.mark.parametrize("channels,in_size,out_size,up,radial", [
    (3, 36, 36, 2, False), (CHANNEL_BLOCK + 4, 36, 52, 4, False), (5, 52, 52, 2, False),
    (7, 84, 64, 2, False), (4, 36, 36, 2, True), (2, 9, 5, 2, False), (3, 36, 52, 4, True),
])
def test_filtered_lrelu_matches_zero_stuffing(channels, in_size, out_size, up, radial):
    torch.manual_seed(1)
    down = 2
    lo, hi = filtered_lrelu_padding(in_size, out_size, 3, up, down, 6 * up, 6 * down)
    x = torch.randn(2, channels, in_size + 2, in_size + 2) * 3
    fu = design_lowpass_filter(6 * up, 5.0, 6.0, 32.0 * up)
    fd = design_lowpass_filter(12, 5.0, 6.0, 64.0, radial=radial)
    b = torch.randn(channels)
    ref = filtered_lrelu_reference(x, fu, fd, b, up, down, (lo, hi, lo, hi), math.sqrt(2), 0.2, 4.0)
    got = filtered_lrelu(x, fu, fd, b, up, down, (lo, hi, lo, hi), math.sqrt(2), 0.2, 4.0)
    assert got.shape == ref.shape == (2, channels, out_size, out_size)
    assert (got - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_winograd_matches_direct_convolution():
    torch.manual_seed(2)
    for n, c, o, size in [(1, 16, 8, 13), (2, 32, 24, 38)]:
        x = torch.randn(n, c, size, size)
        w = torch.randn(o, c, 3, 3)
        b = torch.randn(o)
        scale = torch.rand(n, o)
        ref = F.conv2d(x.double(), w.double(), padding=2) * scale.double()[:, :, None, None] + b.double()[:, None, None]
        got = conv3x3_winograd(x.contiguous(memory_format=torch.channels_last), winograd_weight(w), 2, b, scale)
        assert (got.double() - ref).abs().max() <= 2e-5 * ref.abs().max()


@pytest.mark.parametrize("cfg,res,cbase,cmax", [("t", 32, 2048, 64), ("r", 32, 2048, 64), ("t", 16, 1024, 256)])
def test_fast_synthesis_matches_plain_reference(cfg, res, cbase, cmax):
    G = make(res, cfg, channel_base=cbase, channel_max=cmax).eval()
    with torch.no_grad():  # give the untrained net some non-trivial magnitudes and biases
        for name in G.synthesis.layer_names:
            layer = getattr(G.synthesis, name)
            layer.bias.normal_(0, 0.3)
            layer.magnitude_ema.fill_(float(torch.rand([]) + 0.5))
        G.synthesis.input.affine.weight.normal_(0, 0.3)
    torch.manual_seed(3)
    with torch.inference_mode():
        ws = G.mapping(torch.randn(2, 512), None)
        ws = ws + torch.randn_like(ws) * 0.3
        ref = reference_synthesis(G, ws)
        got = G.synthesis(ws)
        single = G.synthesis(ws[1:])
    assert got.shape == (2, 3, res, res)
    assert ((got - ref).norm() / ref.norm()) < 1e-5
    assert (single[0] - got[1]).abs().max() <= 1e-5 * got.abs().max()


# ----------------------------------------------------------------------------------------------------
# NVIDIA fixture (sg3t-32): every recorded case, style mixing, translate/rotate.


@pytest.fixture(scope="module")
def sg3t():
    from explorer.formats import load_model

    model = load_model(FIXTURES / "sg3t-32.pkl")
    ref = json.loads((FIXTURES / "sg3t-32.ref.json").read_text())
    return model.generator, ref, np.load(FIXTURES / "sg3t-32.ref.npz")


def mapped(G, seed, psi, cutoff):
    z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim)).float()
    ws = G.mapping(z, None)
    k = G.num_ws if cutoff is None else cutoff
    return torch.cat([G.mapping.w_avg.lerp(ws[:, :k], psi), ws[:, k:]], dim=1)


def assert_close(ws, img, ref_ws, ref_img):
    ref_ws, ref_img = torch.from_numpy(ref_ws), torch.from_numpy(ref_img)
    assert (ws - ref_ws).abs().max() <= 1e-4
    diff = img - ref_img
    assert diff.abs().max() <= 2e-3
    assert diff.norm() / ref_img.norm() <= 1e-3


def test_fixture_cases(sg3t):
    G, ref, npz = sg3t
    assert isinstance(G, Generator) and G.num_ws == ref["num_ws"] == 16
    with torch.inference_mode():
        for i, case in enumerate(ref["cases"]):
            ws = mapped(G, case["seed"], case["psi"], case["cutoff"])
            img = G.synthesis(ws, noise_mode=case["noise_mode"])
            assert_close(ws, img, npz[f"case{i}_ws"], npz[f"case{i}_img"])
        half = G.num_ws // 2
        ws = torch.cat([mapped(G, 10, 0.8, None)[:, :half], mapped(G, 11, 0.8, None)[:, half:]], dim=1)
        assert_close(ws, G.synthesis(ws), npz["mix_ws"], npz["mix_img"])


def test_fixture_translate_rotate(sg3t):
    G, _, npz = sg3t
    tx, ty = (float(v) for v in npz["transform_translate"])
    a = math.radians(float(npz["transform_rotate_deg"]))
    user = np.array([[math.cos(a), math.sin(a), tx], [-math.sin(a), math.cos(a), ty], [0, 0, 1]])
    inverse = torch.from_numpy(np.linalg.inv(user)).float()
    stored = G.synthesis.input.transform.clone()
    with torch.inference_mode():
        ws = mapped(G, 7, 1.0, None)
        img = G.synthesis(ws, input_transform=inverse)
        assert_close(ws, img, npz["transform_ws"], npz["transform_img"])
        assert torch.equal(G.synthesis.input.transform, stored)  # the buffer is never written
        plain = G.synthesis(ws)
    assert (plain - img).abs().max() > 1e-3


def test_modulated_conv_strategies_agree():
    """Winograd with the modulation folded into its weights, Winograd with scaled activations (batch),
    and the direct convolution give the same layer output."""
    from explorer.models.stylegan3 import SynthesisLayer

    torch.manual_seed(4)
    layer = SynthesisLayer(w_dim=8, is_torgb=False, is_critically_sampled=False, use_fp16=False,
                           in_channels=64, out_channels=64, in_size=50, out_size=50, in_sampling_rate=64,
                           out_sampling_rate=64, in_cutoff=10, out_cutoff=10, in_half_width=5, out_half_width=5)
    with torch.no_grad():
        layer.bias.normal_()
        layer.magnitude_ema.fill_(0.7)
    x = torch.randn(2, 64, 50, 50)  # more activations than Winograd weights: the folding pays
    w = torch.randn(2, 8)
    with torch.inference_mode():
        layer._use_winograd = lambda x: True
        folded = layer.modulated_conv(x[:1], w[:1])
        batched = layer.modulated_conv(x, w)
        layer._use_winograd = lambda x: False
        direct = layer.modulated_conv(x, w)
    scale = direct.abs().max()
    assert (folded - direct[:1]).abs().max() <= 2e-5 * scale
    assert (batched - direct).abs().max() <= 2e-5 * scale
