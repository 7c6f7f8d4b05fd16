"""Our StyleGAN2 generator: names and shapes against NVIDIA's tables (docs: stylegan-reference §4.2),
the fast ops against literal slow forms, and the whole network against a slow reference forward written
straight from the specification (zero-stuffing, grouped fused convolution, explicit clamps)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from explorer.models import LayerInfo, build_generator
from explorer.models import ops
from explorer.models.stylegan2 import Generator


def _meta_generator(**kwargs) -> Generator:
    """Big generators on the meta device: names, shapes and counts without allocating weights."""
    with torch.device("meta"):
        return Generator(**kwargs)


def _count(module) -> tuple[int, int]:
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    return params, buffers


def _small(architecture="skip", c_dim=0, res=16, seed=0, **synthesis_kwargs) -> Generator:
    """A small generator with every tensor perturbed (so that a wrong bias or noise term shows)."""
    torch.manual_seed(seed)
    kwargs = dict(channel_base=256, channel_max=32, architecture=architecture, num_fp16_res=2, conv_clamp=256)
    kwargs.update(synthesis_kwargs)
    G = Generator(z_dim=24, c_dim=c_dim, w_dim=20, img_resolution=res, img_channels=3,
                  mapping_kwargs=dict(num_layers=3), synthesis_kwargs=kwargs)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3 + 0.1 * torch.rand([]).item())
            elif name.endswith("bias"):
                p.add_(0.2 * torch.randn_like(p))
        G.mapping.w_avg.normal_()
    return G.eval()


# ---------------------------------------------------------------------------------------------------
# Names, shapes, counts.


def test_config_f_1024_counts():
    G = _meta_generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
    assert _count(G) == (30_370_060, 2_797_104)
    assert _count(G.mapping)[0] == 2_101_248
    assert G.num_ws == G.synthesis.num_ws == G.mapping.num_ws == 18


def test_other_published_counts():
    assert _count(_meta_generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=512, img_channels=3))[0] == 30_276_583
    G = _meta_generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
                        synthesis_kwargs=dict(channel_base=16384))
    assert _count(G)[0] == 24_767_458


@pytest.mark.parametrize("res,num_ws", [(1024, 18), (512, 16), (256, 14), (128, 12), (32, 8), (4, 2)])
def test_num_ws(res, num_ws):
    for arch in ("skip", "resnet", "orig"):
        G = _meta_generator(z_dim=8, c_dim=0, w_dim=8, img_resolution=res, img_channels=3,
                            synthesis_kwargs=dict(channel_base=8192, channel_max=8, architecture=arch))
        assert G.num_ws == num_ws


def test_state_dict_names_and_shapes_skip():
    G = _meta_generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
    sd = {k: tuple(v.shape) for k, v in G.state_dict().items()}
    assert sd["mapping.fc0.weight"] == (512, 512)
    assert sd["mapping.fc7.bias"] == (512,)
    assert sd["mapping.w_avg"] == (512,)
    assert "mapping.embed.weight" not in sd
    assert sd["synthesis.b4.const"] == (512, 4, 4)
    assert sd["synthesis.b4.resample_filter"] == (4, 4)
    assert sd["synthesis.b4.conv1.weight"] == (512, 512, 3, 3)
    assert sd["synthesis.b4.conv1.noise_strength"] == ()
    assert sd["synthesis.b4.conv1.noise_const"] == (4, 4)
    assert sd["synthesis.b4.conv1.resample_filter"] == (4, 4)
    assert sd["synthesis.b4.torgb.weight"] == (3, 512, 1, 1)
    assert sd["synthesis.b8.conv0.affine.weight"] == (512, 512)
    assert sd["synthesis.b8.conv0.affine.bias"] == (512,)
    assert sd["synthesis.b8.torgb.weight"] == (3, 512, 1, 1)
    assert sd["synthesis.b128.conv0.weight"] == (256, 512, 3, 3)
    assert sd["synthesis.b128.conv0.affine.weight"] == (512, 512)
    assert sd["synthesis.b128.conv1.affine.weight"] == (256, 512)
    assert sd["synthesis.b1024.conv1.weight"] == (32, 32, 3, 3)
    assert sd["synthesis.b1024.conv1.noise_const"] == (1024, 1024)
    assert sd["synthesis.b1024.torgb.affine.weight"] == (32, 512)
    assert not any(".skip." in k for k in sd)
    assert not any("conv0" in k for k in sd if k.startswith("synthesis.b4."))


def test_resample_filter_values():
    G = _small()
    expected = torch.tensor([1.0, 3.0, 3.0, 1.0]).outer(torch.tensor([1.0, 3.0, 3.0, 1.0])) / 64
    torch.testing.assert_close(G.synthesis.b8.resample_filter, expected)
    torch.testing.assert_close(G.synthesis.b8.conv0.resample_filter, expected)


def test_resnet_and_orig_layouts():
    for arch in ("resnet", "orig"):
        G = _meta_generator(z_dim=8, c_dim=0, w_dim=16, img_resolution=64, img_channels=3,
                            synthesis_kwargs=dict(channel_base=512, channel_max=32, architecture=arch))
        sd = {k: tuple(v.shape) for k, v in G.state_dict().items()}
        torgbs = sorted(k for k in sd if ".torgb.weight" in k)
        assert torgbs == ["synthesis.b64.torgb.weight"]
        skips = sorted(k for k in sd if ".skip." in k)
        if arch == "resnet":
            assert sd["synthesis.b8.skip.weight"] == (32, 32, 1, 1)
            assert sd["synthesis.b64.skip.weight"] == (8, 16, 1, 1)
            assert "synthesis.b64.skip.resample_filter" in sd
            assert "synthesis.b64.skip.bias" not in sd
            assert len(skips) == 2 * 4
        else:
            assert skips == []


def test_conditional_mapping_layout():
    G = _meta_generator(z_dim=64, c_dim=10, w_dim=128, img_resolution=32, img_channels=3,
                        mapping_kwargs=dict(num_layers=3, embed_features=32, layer_features=96))
    sd = {k: tuple(v.shape) for k, v in G.state_dict().items()}
    assert sd["mapping.embed.weight"] == (32, 10)
    assert sd["mapping.embed.bias"] == (32,)
    assert sd["mapping.fc0.weight"] == (96, 64 + 32)
    assert sd["mapping.fc1.weight"] == (96, 96)
    assert sd["mapping.fc2.weight"] == (128, 96)
    assert "mapping.fc3.weight" not in sd


def test_no_noise_layout():
    G = _meta_generator(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3,
                        synthesis_kwargs=dict(channel_base=64, use_noise=False))
    assert not any("noise" in k for k in G.state_dict())


def test_layer_infos():
    G = _meta_generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
    infos = {i.name: i for i in G.layer_infos()}
    assert infos["b4.conv1"] == LayerInfo("b4.conv1", 0, 4, 512)
    assert infos["b4.torgb"] == LayerInfo("b4.torgb", 1, 4, 3)
    for k in range(3, 11):
        r = 2**k
        assert infos[f"b{r}.conv0"].w_index == 2 * k - 5
        assert infos[f"b{r}.conv1"].w_index == 2 * k - 4
        assert infos[f"b{r}.torgb"].w_index == 2 * k - 3
    assert infos["b1024.torgb"].w_index == 17 and infos["b1024.conv1"].channels == 32
    assert G.has_input_transform is False
    G = _meta_generator(z_dim=8, c_dim=0, w_dim=8, img_resolution=32, img_channels=3,
                        synthesis_kwargs=dict(channel_base=64, architecture="orig"))
    names = [(i.name, i.w_index) for i in G.layer_infos()]
    assert names == [("b4.conv1", 0), ("b8.conv0", 1), ("b8.conv1", 2), ("b16.conv0", 3), ("b16.conv1", 4),
                     ("b32.conv0", 5), ("b32.conv1", 6), ("b32.torgb", 7)]


# ---------------------------------------------------------------------------------------------------
# Init keywords.


def test_accepts_every_nvidia_layout():
    # sg3 repo: synthesis kwargs flattened.
    Generator(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3, mapping_kwargs={"num_layers": 2},
              channel_base=64, channel_max=8, num_fp16_res=4, conv_clamp=256, fused_modconv_default="inference_only")
    # ada repo: nested.
    Generator(z_dim=8, c_dim=2, w_dim=8, img_resolution=8, img_channels=3, mapping_kwargs={"num_layers": 2},
              synthesis_kwargs={"channel_base": 64, "channel_max": 8, "num_fp16_res": 0, "conv_clamp": None})
    # legacy TF conversion: the extra keys.
    config = dict(arch="stylegan2", z_dim=8, c_dim=3, w_dim=8, img_resolution=8, img_channels=1,
                  mapping_kwargs=dict(num_layers=4, embed_features=None, layer_features=None, activation="lrelu",
                                      lr_multiplier=0.01, w_avg_beta=0.995),
                  synthesis_kwargs=dict(channel_base=64, channel_max=8, num_fp16_res=0, conv_clamp=None,
                                        architecture="resnet", resample_filter=[1, 3, 3, 1], use_noise=True,
                                        activation="lrelu", fp16_channels_last=False))
    G = build_generator(config)
    assert G.img_channels == 1 and G.num_ws == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(synthesis_kwargs=dict(channel_bass=64)),
        dict(mapping_kwargs=dict(num_layer=2)),
        dict(magnitude_ema_beta=0.99),
        dict(synthesis_kwargs=dict(architecture="fancy")),
        dict(synthesis_kwargs=dict(activation="gelu2")),
        dict(img_resolution=48),
        dict(img_resolution=64, synthesis_kwargs=dict(channel_base=32)),
    ],
)
def test_rejects_unknown_configs(kwargs):
    base = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3)
    base.update(kwargs)
    with pytest.raises(ValueError) as info:
        Generator(**base)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------------
# Ops against literal slow forms.


def _close(a, b, tol=1e-5):
    scale = max(1.0, float(b.abs().max()))
    assert a.shape == b.shape, (a.shape, b.shape)
    assert float((a - b).abs().max()) <= tol * scale


@pytest.mark.parametrize("taps", [[1, 3, 3, 1], [1, 2, 1], [1, 4, 6, 4, 1], [2, 1, 0.5, 0.25]])
@pytest.mark.parametrize("channels_last", [False, True])
def test_upsample2d_matches_zero_stuffing(taps, channels_last):
    torch.manual_seed(1)
    f = ops.setup_filter(taps)
    x = torch.randn(2, 5, 7, 6)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    k = f.shape[0]
    pad = ((k + 1) // 2, (k - 2) // 2, (k + 1) // 2, (k - 2) // 2)
    _close(ops.upsample2d(x, f), ops.upfirdn2d_reference(x, f, up=2, padding=pad, gain=4))
    _close(ops.upsample2d(x, f, padding=(3, 0, 1, 2)),
           ops.upfirdn2d_reference(x, f, up=2, padding=(3, 0, 1, 2), gain=4))


def test_upsample2d_big_planes():
    f = ops.setup_filter([1, 3, 3, 1])
    x = torch.randn(1, 3, 256, 256)
    _close(ops.upsample2d(x, f), ops.upfirdn2d_reference(x, f, up=2, padding=(2, 1, 2, 1), gain=4))


def test_fir_filter_matches_reference():
    torch.manual_seed(2)
    f = ops.setup_filter([1, 2, 0.5, 0.25])
    x = torch.randn(1, 4, 9, 9)
    for pad in [(1, 1, 1, 1), (2, 0, 1, 3), (0, 0, 0, 0), (-1, 2, 0, 1)]:
        _close(ops.fir_filter2d(x, f, padding=pad, gain=3.0), ops.upfirdn2d_reference(x, f, padding=pad, gain=3.0))


def _reference_conv_up(x, w, f, padding):
    """NVIDIA's x2 up-sampling convolution written literally: zero insertion, true convolution with the
    un-flipped weight (= transposed convolution), FIR with gain 4 (for 1x1 weights: FIR up, then conv)."""
    k = w.shape[-1]
    if k == 1:
        fw = f.shape[-1]
        pad = (padding + (fw + 1) // 2, padding + (fw - 2) // 2) * 2
        y = ops.upfirdn2d_reference(x, f, up=2, padding=(pad[0], pad[1], pad[0], pad[1]), gain=4)
        return F.conv2d(y, w)
    xs = ops.upfirdn2d_reference(x, torch.ones(1, 1), up=2)[:, :, :-1, :-1]
    y = F.conv2d(F.pad(xs, [k - 1] * 4), w.flip([2, 3]))  # [2H + k - 2]
    fw = f.shape[-1]
    px0 = padding + (fw + 1) // 2 - (k - 1)
    px1 = padding + (fw - 2) // 2 - (k - 2)
    return ops.upfirdn2d_reference(y, f, padding=(px0, px1, px0, px1), gain=4)


@pytest.mark.parametrize("k,padding", [(3, 1), (1, 0)])
def test_conv_up2d_matches_reference(k, padding):
    torch.manual_seed(3)
    f = ops.setup_filter([1, 3, 3, 1])
    x = torch.randn(1, 6, 5, 5)
    w = torch.randn(4, 6, k, k)
    _close(ops.conv_up2d(x, w, f, padding=padding), _reference_conv_up(x, w, f, padding))
    # grouped form (one group per sample) equals the per-sample form
    x2 = torch.randn(2, 6, 5, 5)
    w2 = torch.randn(2 * 4, 6, k, k)
    grouped = ops.conv_up2d(x2.reshape(1, 12, 5, 5), w2, f, padding=padding, groups=2).reshape(2, 4, 10, 10)
    single = torch.cat([ops.conv_up2d(x2[i:i + 1], w2[4 * i:4 * i + 4], f, padding=padding) for i in range(2)])
    _close(grouped, single)


def test_conv_down2d_matches_reference():
    torch.manual_seed(4)
    f = ops.setup_filter([1, 3, 3, 1])
    x = torch.randn(1, 3, 8, 8)
    w = torch.randn(5, 3, 3, 3)
    ref = F.conv2d(ops.upfirdn2d_reference(x, f, padding=(2, 2, 2, 2)), w, stride=2)
    _close(ops.conv_down2d(x, w, f, padding=1), ref)
    w1 = torch.randn(5, 3, 1, 1)
    ref1 = F.conv2d(ops.upfirdn2d_reference(x, f, down=2, padding=(1, 1, 1, 1)), w1)
    _close(ops.conv_down2d(x, w1, f), ref1)


@pytest.mark.parametrize("up", [1, 2])
def test_modulated_conv_strategies_agree(up):
    torch.manual_seed(5)
    f = ops.setup_filter([1, 3, 3, 1])
    x = torch.randn(3, 8, 6, 6)
    weight = torch.randn(5, 8, 3, 3)
    styles = torch.randn(3, 8)
    noise = torch.randn(3, 1, 6 * up, 6 * up)
    a = ops.modulated_conv2d(x, weight, styles, noise=noise, up=up, padding=1, resample_filter=f, fused=True)
    b = ops.modulated_conv2d(x, weight, styles, noise=noise, up=up, padding=1, resample_filter=f, fused=False)
    _close(a, b)
    bias = torch.randn(5)
    ref = ops.bias_act(a, bias, act="lrelu", gain=math.sqrt(2) * 0.7, clamp=0.4)
    for n in (1, 3):  # the one-sample path modulates the weight, the batch path the activations
        for fmt in (torch.contiguous_format, torch.channels_last):
            with torch.inference_mode():
                got = ops.modulated_conv2d_inference(
                    x[:n].contiguous(memory_format=fmt), weight, styles[:n], bias, noise[:n], "lrelu",
                    math.sqrt(2) * 0.7, 0.4, up=up, padding=1, resample_filter=f)
            _close(got, ref[:n])


# ---------------------------------------------------------------------------------------------------
# The whole network against a slow reference forward.


def _ref_layer(layer, x, w, noise_mode, gain=1.0):
    styles = F.linear(w, layer.affine.weight * layer.affine.weight_gain, layer.affine.bias * layer.affine.bias_gain)
    N = x.shape[0]
    wt = layer.weight[None] * styles[:, None, :, None, None]
    wt = wt * (wt.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    outs = []
    for n in range(N):
        if layer.up == 1:
            outs.append(F.conv2d(x[n:n + 1], wt[n], padding=layer.padding))
        else:
            outs.append(_reference_conv_up(x[n:n + 1], wt[n], layer.resample_filter, layer.padding))
    y = torch.cat(outs)
    if layer.use_noise and noise_mode == "const":
        y = y + layer.noise_const * layer.noise_strength
    act = ops.ACTIVATIONS[layer.activation]
    y = act.func(y + layer.bias.reshape(1, -1, 1, 1)) * act.def_gain * gain
    if layer.conv_clamp is not None:
        y = y.clamp(-layer.conv_clamp * gain, layer.conv_clamp * gain)
    return y


def _ref_torgb(layer, x, w):
    styles = F.linear(w, layer.affine.weight * layer.affine.weight_gain, layer.affine.bias) * layer.weight_gain
    y = torch.cat([F.conv2d(x[n:n + 1], layer.weight * styles[n].reshape(1, -1, 1, 1)) for n in range(x.shape[0])])
    y = y + layer.bias.reshape(1, -1, 1, 1)
    return y.clamp(-layer.conv_clamp, layer.conv_clamp) if layer.conv_clamp is not None else y


def _ref_synthesis(G, ws, noise_mode):
    S = G.synthesis
    x = img = None
    w_idx = 0
    for res in S.block_resolutions:
        b = getattr(S, f"b{res}")
        bw = ws[:, w_idx:w_idx + b.num_conv + b.num_torgb]
        w_idx += b.num_conv
        if b.in_channels == 0:
            x = _ref_layer(b.conv1, b.const[None].repeat(ws.shape[0], 1, 1, 1), bw[:, 0], noise_mode)
            k = 1
        elif b.architecture == "resnet":
            fw = b.resample_filter.shape[-1]
            y = ops.upfirdn2d_reference(x, b.resample_filter, up=2, padding=((fw + 1) // 2, (fw - 2) // 2) * 2, gain=4)
            y = F.conv2d(y, b.skip.weight * b.skip.weight_gain) * math.sqrt(0.5)
            x = _ref_layer(b.conv0, x, bw[:, 0], noise_mode)
            x = _ref_layer(b.conv1, x, bw[:, 1], noise_mode, gain=math.sqrt(0.5))
            x = y + x
            k = 2
        else:
            x = _ref_layer(b.conv0, x, bw[:, 0], noise_mode)
            x = _ref_layer(b.conv1, x, bw[:, 1], noise_mode)
            k = 2
        if img is not None:
            img = ops.upfirdn2d_reference(img, b.resample_filter, up=2, padding=(2, 1, 2, 1), gain=4)
        if b.is_last or b.architecture == "skip":
            y = _ref_torgb(b.torgb, x, bw[:, k])
            img = y if img is None else img + y
    return img


@pytest.mark.parametrize(
    "arch,activation,clamp",
    [("skip", "lrelu", 256), ("resnet", "lrelu", 0.7), ("orig", "lrelu", None), ("skip", "tanh", 0.5),
     ("resnet", "relu", None)],
)
def test_synthesis_matches_reference(arch, activation, clamp):
    G = _small(arch, res=16, conv_clamp=clamp, activation=activation)
    torch.manual_seed(7)
    ws = torch.randn(2, G.num_ws, G.w_dim)
    with torch.no_grad():
        ref = _ref_synthesis(G, ws, "const")
        ref_none = _ref_synthesis(G, ws, "none")
    G.synthesis.channels_last_min_res = 8  # exercise both memory layouts
    with torch.inference_mode():
        one = torch.cat([G.synthesis(ws[i:i + 1]) for i in range(2)])
        batch = G.synthesis(ws)
        none = G.synthesis(ws[:1], noise_mode="none")
    _close(one, ref)
    _close(batch, ref)
    _close(none, ref_none[:1])
    G.synthesis.channels_last_min_res = None
    with torch.enable_grad():  # the differentiable path
        trained = G.synthesis(ws)
    _close(trained.detach(), ref)


def test_mapping_and_truncation():
    G = _small(c_dim=5)
    z = torch.randn(3, G.z_dim)
    c = F.one_hot(torch.tensor([0, 2, 4]), 5).float()
    with torch.no_grad():
        ws = G.mapping(z, c)
        x = ops.normalize_2nd_moment(z)
        y = ops.normalize_2nd_moment(F.linear(c, G.mapping.embed.weight * G.mapping.embed.weight_gain,
                                              G.mapping.embed.bias))
        h = torch.cat([x, y], dim=1)
        for i in range(3):
            fc = getattr(G.mapping, f"fc{i}")
            h = F.leaky_relu(F.linear(h, fc.weight * fc.weight_gain, fc.bias * fc.bias_gain), 0.2) * math.sqrt(2)
    assert ws.shape == (3, G.num_ws, G.w_dim)
    _close(ws, h[:, None].repeat(1, G.num_ws, 1))
    with torch.no_grad():
        t = G.mapping(z, c, truncation_psi=0.5, truncation_cutoff=2)
    _close(t[:, :2], G.mapping.w_avg.lerp(ws[:, :2], 0.5))
    _close(t[:, 2:], ws[:, 2:])


def test_noise_modes_and_generator():
    G = _small()
    ws = torch.randn(1, G.num_ws, G.w_dim)
    with torch.inference_mode():
        const = G.synthesis(ws)
        none = G.synthesis(ws, noise_mode="none")
        zero_strength = G.synthesis(ws, noise_strength=0.0)
        a = G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(3))
        b = G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(3))
        c = G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(4))
    assert not torch.allclose(const, none)
    _close(zero_strength, none)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    # 'random' draws layer by layer in block order: replaying the draws as const maps gives the same image
    gen = torch.Generator().manual_seed(3)
    layers = [l for blk in G.synthesis.blocks() for l in (getattr(blk, "conv0", None), blk.conv1) if l is not None]
    with torch.no_grad():
        for layer in layers:
            layer.noise_const.copy_(torch.randn([1, 1, layer.resolution, layer.resolution], generator=gen)[0, 0])
    with torch.inference_mode():
        _close(G.synthesis(ws), a)
    with pytest.raises(ValueError):
        G.synthesis(ws, noise_mode="loud")


def test_training_gradients_and_w_avg():
    G = _small("resnet").train()
    z = torch.randn(4, G.z_dim)
    before = G.mapping.w_avg.clone()
    ws = G.mapping(z, None, update_emas=True)
    assert not torch.equal(before, G.mapping.w_avg)
    expected = ws.detach()[:, 0].mean(0).lerp(before, G.mapping.w_avg_beta)
    _close(G.mapping.w_avg, expected)
    img = G.synthesis(ws, noise_mode="random")
    img.square().mean().backward()
    missing = [n for n, p in G.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []
    after = G.mapping.w_avg.clone()
    G.mapping(z, None)  # no update without update_emas
    assert torch.equal(after, G.mapping.w_avg)


def test_load_state_dict_invalidates_caches():
    G = _small()
    ws = torch.randn(1, G.num_ws, G.w_dim)
    with torch.inference_mode():
        first = G.synthesis(ws)
    other = _small(seed=1)
    G.load_state_dict(other.state_dict())
    with torch.inference_mode():
        _close(G.synthesis(ws), other.synthesis(ws))
        assert not torch.allclose(G.synthesis(ws), first)


def test_generator_forward_and_fp16_flag():
    G = _small(c_dim=3)
    with torch.inference_mode():
        img = G(torch.randn(2, G.z_dim), F.one_hot(torch.tensor([0, 1]), 3).float(), truncation_psi=0.7)
    assert img.shape == (2, 3, 16, 16) and img.dtype == torch.float32 and img.is_contiguous()
    assert G.synthesis.b16.use_fp16 and not G.synthesis.b4.use_fp16


def test_gradients_to_ws_with_frozen_weights_after_inference():
    """The projector's use: render under inference_mode (fills caches), then optimise ws."""
    G = _small("skip").requires_grad_(False)
    ws = torch.randn(1, G.num_ws, G.w_dim)
    with torch.inference_mode():
        G.synthesis(ws)
    ws = ws.clone().requires_grad_(True)
    G.synthesis(ws).square().mean().backward()
    assert ws.grad is not None and torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0


def test_deepcopy_and_pickle_after_inference():
    """Training keeps a deep copy (G_ema); caches must not leak between copies."""
    import copy
    import pickle

    G = _small()
    ws = torch.randn(1, G.num_ws, G.w_dim)
    with torch.inference_mode():
        G.synthesis(ws)
    twin = copy.deepcopy(G)
    with torch.no_grad():
        for p in twin.parameters():
            p.mul_(0.5)
    with torch.inference_mode():
        assert not torch.allclose(twin.synthesis(ws), G.synthesis(ws))
        _close(pickle.loads(pickle.dumps(G)).synthesis(ws), G.synthesis(ws))
