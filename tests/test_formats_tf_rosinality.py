"""TF-era pickles and rosinality checkpoints: conversion, conformance and refusals.

Test files are made here, from a small random generator of ours:

- a TF pickle: ``(G, D, Gs)`` written as ``dnnlib.tflib.network.Network`` objects, whose variables are our
  tensors run backwards through the TF naming rules (stylegan-reference.md section 3.5), written out
  independently of the reader;
- rosinality checkpoints: our tensors renamed to rosinality's names.

Renaming round trips can hide a mistake made the same way in both directions (a missing flip, a missing
x4). So rosinality files are also checked against a small re-implementation of rosinality's forward pass,
written here from its formulas (EqualLinear, PixelNorm, ModulatedConv2d, Blur/Upsample via upfirdn2d,
NoiseInjection, FusedLeakyReLU, ToRGB), on a random rosinality-named state dict.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.errors import CorruptModel, ModelError, UnsafeModel, UnsupportedArchitecture
from explorer.formats import ModelData, build_model, read_model_data, rosinality
from explorer.models import build_generator

MAX_ABS, MAX_REL = 2e-3, 1e-3


# ---------------------------------------------------------------------------------------------------------
# Small random generators of ours
# ---------------------------------------------------------------------------------------------------------


def sg2_config(architecture="skip", c_dim=0, res=16, z_dim=24, w_dim=32, channel_base=256, channel_max=32,
               layers=2, lr=0.01):
    """A tiny StyleGAN2 config: 16x16, channels 32/32/16, two mapping layers."""
    return {
        "arch": "stylegan2",
        "z_dim": z_dim,
        "c_dim": c_dim,
        "w_dim": w_dim,
        "img_resolution": res,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": layers, "lr_multiplier": lr, "w_avg_beta": 0.995},
        "synthesis_kwargs": {
            "channel_base": channel_base,
            "channel_max": channel_max,
            "num_fp16_res": 0,
            "conv_clamp": None,
            "architecture": architecture,
            "resample_filter": [1, 3, 3, 1],
            "use_noise": True,
        },
    }


def random_generator(config, seed=0):
    """Our generator with every tensor randomised so that a wrong sign, scale or flip shows."""
    gen = torch.Generator().manual_seed(seed)
    G = build_generator(config).eval().requires_grad_(False)
    lr = config["mapping_kwargs"].get("lr_multiplier", 0.01)
    with torch.no_grad():
        for name, t in G.state_dict().items():
            noise = torch.randn(t.shape, generator=gen)
            if name.endswith("resample_filter"):
                continue
            if name.startswith("mapping.") and name.endswith(("weight", "bias")):
                value = noise / lr if name.endswith("weight") else noise * 0.2 / lr
            elif name.endswith("affine.bias"):
                value = 1 + 0.3 * noise
            elif name.endswith(".bias"):
                value = 0.3 * noise
            elif name.endswith("noise_strength"):
                value = 0.5 * noise
            elif name == "mapping.w_avg":
                value = 0.5 * noise
            else:
                value = noise
            t.copy_(value)
    return G


def render(G, z, c=None):
    if c is None:
        c = torch.zeros([z.shape[0], G.c_dim])
    with torch.no_grad():
        ws = G.mapping(z, c)
        img = G.synthesis(ws, noise_mode="const")
    return ws, img


def assert_close(ours, ref, what="image"):
    diff = (ours - ref).abs().max().item()
    rel = (torch.linalg.vector_norm(ours - ref) / torch.linalg.vector_norm(ref)).item()
    assert diff <= MAX_ABS and rel <= MAX_REL, f"{what}: max |diff| {diff:.2e}, rel {rel:.2e}"
    return diff, rel


def zs(z_dim, n=3, seed=5):
    return torch.from_numpy(np.random.RandomState(seed).randn(n, z_dim)).float()


def assert_one_line(exc: ModelError, *words):
    text = str(exc)
    assert "\n" not in text
    for word in words:
        assert word.lower() in text.lower(), text


# ---------------------------------------------------------------------------------------------------------
# TF pickles: our tensors backwards through the TF naming rules
# ---------------------------------------------------------------------------------------------------------


def tf_variables_from(G, config, orig_lod_names=False):
    """Gs's TF variables for our generator G: the inverse of section 3.5, written independently here.

    Dense weights [out, in] -> [in, out]; conv OIHW -> HWIO, with Conv0_up and Skip flipped back; affine
    bias -> mod_bias (minus the 1 that TF added at run time); noise maps -> global ``synthesis/noise{n}``.
    """
    sd = {k: v.numpy().astype(np.float32) for k, v in G.state_dict().items()}
    res = config["img_resolution"]
    arch = config["synthesis_kwargs"]["architecture"]
    top = [("lod", np.float32(0)), ("dlatent_avg", sd["mapping.w_avg"])]
    mapping = []
    if config["c_dim"]:
        mapping += [("LabelEmbed/weight", sd["mapping.embed.weight"].T), ("LabelEmbed/bias", sd["mapping.embed.bias"])]
    for i in range(config["mapping_kwargs"]["num_layers"]):
        mapping += [(f"Dense{i}/weight", sd[f"mapping.fc{i}.weight"].T), (f"Dense{i}/bias", sd[f"mapping.fc{i}.bias"])]

    def hwio(w, flip=False):
        w = w.transpose(2, 3, 1, 0)
        return np.ascontiguousarray(w[::-1, ::-1] if flip else w)

    def layer(scope, prefix, flip=False, noise=True):
        out = [
            (f"{scope}/weight", hwio(sd[f"{prefix}.weight"], flip)),
            (f"{scope}/bias", sd[f"{prefix}.bias"]),
            (f"{scope}/mod_weight", sd[f"{prefix}.affine.weight"].T.copy()),
            (f"{scope}/mod_bias", sd[f"{prefix}.affine.bias"] - 1),
        ]
        if noise:
            out.append((f"{scope}/noise_strength", np.float32(sd[f"{prefix}.noise_strength"])))
        return out

    synthesis = []
    noise_maps = {}
    for k in range(2, int(math.log2(res)) + 1):
        r = 2**k
        scope, block = f"{r}x{r}", f"synthesis.b{r}"
        if r == 4:
            synthesis.append((f"{scope}/Const/const", sd[f"{block}.const"][None]))
            synthesis += layer(f"{scope}/Conv", f"{block}.conv1")
            noise_maps[0] = sd[f"{block}.conv1.noise_const"]
        else:
            synthesis += layer(f"{scope}/Conv0_up", f"{block}.conv0", flip=True)
            synthesis += layer(f"{scope}/Conv1", f"{block}.conv1")
            noise_maps[2 * k - 5] = sd[f"{block}.conv0.noise_const"]
            noise_maps[2 * k - 4] = sd[f"{block}.conv1.noise_const"]
            if arch == "resnet":
                synthesis.append((f"{scope}/Skip/weight", hwio(sd[f"{block}.skip.weight"], flip=True)))
        if arch == "skip" or r == res:
            rgb_scope = f"ToRGB_lod{int(math.log2(res // r))}" if orig_lod_names else f"{scope}/ToRGB"
            synthesis += layer(rgb_scope, f"{block}.torgb", noise=False)
    synthesis += [(f"noise{n}", m[None, None]) for n, m in sorted(noise_maps.items())]
    return top, mapping, synthesis


def tf_static_kwargs(config, **extra):
    synth, mapping = config["synthesis_kwargs"], config["mapping_kwargs"]
    kwargs = {
        "latent_size": config["z_dim"],
        "dlatent_size": config["w_dim"],
        "label_size": config["c_dim"],
        "resolution": config["img_resolution"],
        "num_channels": config["img_channels"],
        "fmap_base": synth["channel_base"] // 2,
        "fmap_max": synth["channel_max"],
        "architecture": synth["architecture"],
        "mapping_layers": mapping["num_layers"],
        "mapping_lrmul": mapping["lr_multiplier"],
        "truncation_psi": 0.5,  # tolerated and ignored
    }
    kwargs.update(extra)
    return kwargs


@contextlib.contextmanager
def fake_dnnlib():
    """Make ``dnnlib.tflib.network.Network`` importable for the pickler, so it writes that global name."""
    names = ("dnnlib", "dnnlib.tflib", "dnnlib.tflib.network")
    saved = {n: sys.modules.get(n) for n in names}
    modules = {n: types.ModuleType(n) for n in names}
    Network = type("Network", (), {"__module__": "dnnlib.tflib.network"})
    modules["dnnlib.tflib.network"].Network = Network
    modules["dnnlib"].tflib = modules["dnnlib.tflib"]
    modules["dnnlib.tflib"].network = modules["dnnlib.tflib.network"]
    sys.modules.update(modules)
    try:
        yield Network
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def write_tf_pickle(path, static_kwargs, top, mapping, synthesis, gs_func="G_main", synth_func="G_synthesis_stylegan2",
                    version=4):
    """A (G, D, Gs) tuple of Network objects, each pickled as NEWOBJ + BUILD(state dict) like dnnlib's."""
    with fake_dnnlib() as Network:

        def net(name, func, variables, components=None, kwargs=None):
            n = Network()
            n.__dict__.update(
                version=version, name=name, static_kwargs=dict(kwargs or {}), components=dict(components or {}),
                build_module_src="raise RuntimeError('never run')\n", build_func_name=func, variables=list(variables),
            )
            return n

        def generator(name):
            comps = {
                "mapping": net("G_mapping", "G_mapping", mapping, kwargs=static_kwargs),
                "synthesis": net("G_synthesis", synth_func, synthesis, kwargs=static_kwargs),
            }
            return net(name, gs_func, top, comps, static_kwargs)

        D = net("D", "D_main", [("Output/weight", np.ones((4, 1), np.float32))])
        with open(path, "wb") as f:
            pickle.dump((generator("G"), D, generator("Gs")), f, protocol=4)
    return path


TF_CASES = {
    "skip": dict(architecture="skip"),
    "resnet": dict(architecture="resnet"),
    "orig": dict(architecture="orig"),
    "conditional": dict(architecture="skip", c_dim=4),
}


@pytest.mark.parametrize("case", sorted(TF_CASES))
def test_tf_pickle_renders_like_the_generator(tmp_path, case):
    config = sg2_config(**TF_CASES[case])
    G = random_generator(config, seed=1)
    path = write_tf_pickle(tmp_path / "net.pkl", tf_static_kwargs(config), *tf_variables_from(G, config))
    data = read_model_data(path)
    assert data.source_format == "tf-pickle"
    assert data.config["synthesis_kwargs"]["architecture"] == config["synthesis_kwargs"]["architecture"]
    assert data.config["synthesis_kwargs"]["channel_base"] == config["synthesis_kwargs"]["channel_base"]
    ours = build_model(data, path)
    z = zs(config["z_dim"])
    c = F.one_hot(torch.tensor([0, 1, 3]), config["c_dim"]).float() if config["c_dim"] else None
    ws_ref, img_ref = render(G, z, c)
    ws, img = render(ours, z, c)
    assert_close(ws, ws_ref, "ws")
    assert_close(img, img_ref)
    assert torch.equal(ours.mapping.w_avg, G.mapping.w_avg)


def test_tf_orig_with_lod_named_torgb(tmp_path):
    """'orig' ToRGB named by level of detail (ToRGB_lod0 = full resolution), which NVIDIA's converter misses."""
    config = sg2_config(architecture="orig")
    G = random_generator(config, seed=2)
    kwargs = tf_static_kwargs(config)
    del kwargs["architecture"]  # the lod naming alone says 'orig'
    top, mapping, synthesis = tf_variables_from(G, config, orig_lod_names=True)
    synthesis.append(("ToRGB_lod1/weight", np.ones((1, 1, 32, 3), np.float32)))  # a lower level, unused
    path = write_tf_pickle(tmp_path / "orig.pkl", kwargs, top, mapping, synthesis)
    data = read_model_data(path)
    assert data.config["synthesis_kwargs"]["architecture"] == "orig"
    z = zs(config["z_dim"])
    assert_close(render(build_model(data, path), z)[1], render(G, z)[1])


def _tf_refusal(tmp_path, **changes):
    config = sg2_config()
    G = random_generator(config)
    top, mapping, synthesis = tf_variables_from(G, config)
    kwargs = tf_static_kwargs(config, **changes.pop("extra_kwargs", {}))
    synthesis += changes.pop("extra_synthesis", [])
    path = write_tf_pickle(tmp_path / "bad.pkl", kwargs, top, mapping, synthesis, **changes)
    with pytest.raises(UnsupportedArchitecture) as info:
        read_model_data(path)
    return info.value


def test_tf_refuses_stylegan1(tmp_path):
    err = _tf_refusal(tmp_path, gs_func="G_style", synth_func="G_synthesis")
    assert_one_line(err, "StyleGAN1", "supported")


def test_tf_refuses_progressive_configs(tmp_path):
    err = _tf_refusal(tmp_path, synth_func="G_synthesis_stylegan_revised", extra_synthesis=[("lod", np.float32(0))])
    assert_one_line(err, "config A-D", "supported")


def test_tf_refuses_lod_variable_in_synthesis(tmp_path):
    err = _tf_refusal(tmp_path, extra_synthesis=[("lod", np.float32(0))])
    assert_one_line(err, "lod", "supported")


def test_tf_refuses_unknown_kwarg(tmp_path):
    err = _tf_refusal(tmp_path, extra_kwargs={"fmap_decay": 1.0})
    assert_one_line(err, "fmap_decay", "supported")


def test_tf_refuses_unknown_variable(tmp_path):
    err = _tf_refusal(tmp_path, extra_synthesis=[("8x8/Conv1/extra", np.ones(3, np.float32))])
    assert_one_line(err, "8x8/Conv1/extra")


def test_tf_refuses_old_version(tmp_path):
    err = _tf_refusal(tmp_path, version=3)
    assert_one_line(err, "version")


# ---------------------------------------------------------------------------------------------------------
# rosinality: renaming from our generator
# ---------------------------------------------------------------------------------------------------------


def rosinality_state_from(G, config):
    """Our tensors under rosinality's names and layouts, written here independently of the reader."""
    sd = {k: v.clone() for k, v in G.state_dict().items()}
    res = config["img_resolution"]
    out = {}
    for i in range(config["mapping_kwargs"]["num_layers"]):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]

    def styled(ros, ours, noise_index, up=False):
        out[f"{ros}.conv.weight"] = sd[f"{ours}.weight"][None]
        out[f"{ros}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        out[f"{ros}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        out[f"{ros}.noise.weight"] = sd[f"{ours}.noise_strength"].reshape(1)
        out[f"{ros}.activate.bias"] = sd[f"{ours}.bias"]
        out[f"noises.noise_{noise_index}"] = sd[f"{ours}.noise_const"][None, None]
        if up:
            out[f"{ros}.conv.blur.kernel"] = sd[f"{ours}.resample_filter"] * 4

    def to_rgb(ros, ours, up):
        out[f"{ros}.conv.weight"] = sd[f"{ours}.weight"][None]
        out[f"{ros}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        out[f"{ros}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        out[f"{ros}.bias"] = sd[f"{ours}.bias"].reshape(1, -1, 1, 1)
        if up:
            out[f"{ros}.upsample.kernel"] = sd["synthesis.b4.resample_filter"] * 4

    styled("conv1", "synthesis.b4.conv1", 0)
    to_rgb("to_rgb1", "synthesis.b4.torgb", False)
    for k in range(int(math.log2(res)) - 2):
        block = f"synthesis.b{2 ** (k + 3)}"
        styled(f"convs.{2 * k}", f"{block}.conv0", 2 * k + 1, up=True)
        styled(f"convs.{2 * k + 1}", f"{block}.conv1", 2 * k + 2)
        to_rgb(f"to_rgbs.{k}", f"{block}.torgb", True)
    return out


def test_rosinality_convert_layout_renders_like_the_generator(tmp_path):
    config = sg2_config(z_dim=32, w_dim=32)
    G = random_generator(config, seed=3)
    path = tmp_path / "ffhq.pt"
    torch.save({"g_ema": rosinality_state_from(G, config), "latent_avg": G.mapping.w_avg.clone()}, path)
    data = read_model_data(path)
    assert data.source_format == "rosinality"
    assert data.config["img_resolution"] == 16 and data.config["mapping_kwargs"]["num_layers"] == 2
    ours = build_model(data, path)
    z = zs(32)
    ws_ref, img_ref = render(G, z)
    ws, img = render(ours, z)
    assert_close(ws, ws_ref, "ws")
    assert_close(img, img_ref)
    assert torch.equal(ours.mapping.w_avg, G.mapping.w_avg)


def training_checkpoint(G, config, **args):
    sd = rosinality_state_from(G, config)
    # What Adam.state_dict() holds (built by hand: creating a torch optimiser imports torch's compiler, slowly).
    opt = {
        "state": {0: {"step": torch.tensor(1.0), "exp_avg": torch.ones(3), "exp_avg_sq": torch.ones(3) * 0.01}},
        "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "eps": 1e-08, "weight_decay": 0, "amsgrad": False,
                          "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
                          "fused": None, "params": [0]}],
    }
    namespace = argparse.Namespace(
        path="lmdb", arch="stylegan2", iter=800000, batch=16, size=config["img_resolution"], channel_multiplier=2,
        n_mlp=config["mapping_kwargs"]["num_layers"], latent=config["w_dim"], r1=10.0, augment=True, augment_p=0.0,
    )
    vars(namespace).update(args)
    return {
        "g": sd, "d": {"convs.0.0.weight": torch.ones(1)}, "g_ema": sd, "g_optim": opt,
        "d_optim": opt, "args": namespace, "ada_aug_p": 0.25,
    }


def test_rosinality_training_layout_computes_w_avg(tmp_path):
    config = sg2_config(z_dim=32, w_dim=32)
    G = random_generator(config, seed=4)
    path = tmp_path / "checkpoint" / "012000.pt"
    path.parent.mkdir()
    torch.save(training_checkpoint(G, config), path)
    data = read_model_data(tmp_path)  # a run directory resolves to its latest checkpoint
    assert rosinality.W_AVG_NOTE in data.notes
    z = torch.from_numpy(np.random.RandomState(123).randn(10000, 32)).float()
    with torch.no_grad():
        expected = ros_mapping(rosinality_state_from(G, config), z, 2).mean(0)
    assert torch.allclose(data.tensors["mapping.w_avg"], expected, atol=1e-4)
    z = zs(32)
    assert_close(render(build_model(data, path), z)[1], render(G, z)[1])


def test_rosinality_args_must_agree(tmp_path):
    config = sg2_config(z_dim=32, w_dim=32)
    G = random_generator(config)
    path = tmp_path / "000100.pt"
    torch.save(training_checkpoint(G, config, size=256), path)
    with pytest.raises(CorruptModel) as info:
        read_model_data(path)
    assert_one_line(info.value, "size")


def test_rosinality_legacy_container(tmp_path):
    """Checkpoints saved by torch < 1.6 (non-zip container) read the same way."""
    config = sg2_config(z_dim=32, w_dim=32)
    G = random_generator(config, seed=6)
    path = tmp_path / "old.pt"
    sd = rosinality_state_from(G, config)
    torch.save({"g_ema": sd, "latent_avg": G.mapping.w_avg.clone()}, path, _use_new_zipfile_serialization=False)
    data = rosinality.read(path)
    z = zs(32)
    assert_close(render(build_model(data, path), z)[1], render(G, z)[1])


class _Boom:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_rosinality_unsafe_checkpoint_refused(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    torch.save({"g_ema": {"input.input": torch.zeros(1)}, "payload": _Boom(marker)}, path)
    with pytest.raises(UnsafeModel) as info:
        read_model_data(path)
    assert_one_line(info.value, "system")
    assert not marker.exists()


def test_rosinality_other_architectures_refused(tmp_path):
    config = sg2_config(z_dim=32, w_dim=32)
    sd = rosinality_state_from(random_generator(config), config)
    swagan = dict(sd, **{"to_rgbs.0.iwt.ll": torch.ones(1, 1, 2, 2)})
    others = {
        "lucidrains": {"GAN": {"G.mapping.net.0.weight": torch.ones(2, 2)}, "version": "1.8.0"},
        "generic": {"fc.weight": torch.ones(2, 2), "fc.bias": torch.ones(2)},
        "swagan": {"g_ema": swagan, "latent_avg": torch.zeros(32)},
        "extra": {"g_ema": dict(sd, **{"convs.0.conv.extra": torch.ones(1)})},
    }
    for name, checkpoint in others.items():
        path = tmp_path / f"{name}.pt"
        torch.save(checkpoint, path)
        with pytest.raises(UnsupportedArchitecture) as info:
            read_model_data(path)
        assert_one_line(info.value, "supported")


# ---------------------------------------------------------------------------------------------------------
# rosinality conformance: an independent re-implementation of its forward maths
# ---------------------------------------------------------------------------------------------------------


def ros_upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """rosinality's upfirdn2d: zero-insert by ``up``, pad (pad0 before, pad1 after), convolve, decimate."""
    n, c, h, w = x.shape
    if up > 1:
        z = x.new_zeros(n, c, h * up, w * up)
        z[:, :, ::up, ::up] = x
        x = z
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = torch.flip(kernel, [0, 1])[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, k, groups=c)[:, :, ::down, ::down]


def ros_mapping(sd, z, n_mlp, lr_mul=0.01):
    """PixelNorm, then n_mlp EqualLinear(lr_mul) + FusedLeakyReLU."""
    x = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
    for i in range(1, n_mlp + 1):
        weight, bias = sd[f"style.{i}.weight"], sd[f"style.{i}.bias"]
        x = F.linear(x, weight * (lr_mul / math.sqrt(weight.shape[1])))
        x = F.leaky_relu(x + bias * lr_mul, 0.2) * math.sqrt(2)
    return x


def ros_modconv(sd, prefix, x, style, demodulate, upsample):
    """ModulatedConv2d: weight [1,O,I,k,k] * 1/sqrt(I k k) * style; optional demod; up = conv_transpose + blur."""
    weight = sd[f"{prefix}.conv.weight"]
    _, out_c, in_c, k, _ = weight.shape
    s = F.linear(style, sd[f"{prefix}.conv.modulation.weight"] / math.sqrt(style.shape[1]))
    s = s + sd[f"{prefix}.conv.modulation.bias"]
    batch, _, h, w = x.shape
    wt = weight / math.sqrt(in_c * k * k) * s.view(batch, 1, in_c, 1, 1)
    if demodulate:
        wt = wt * torch.rsqrt(wt.pow(2).sum([2, 3, 4]) + 1e-8).view(batch, out_c, 1, 1, 1)
    if upsample:
        wt = wt.transpose(1, 2).reshape(batch * in_c, out_c, k, k)
        out = F.conv_transpose2d(x.reshape(1, batch * in_c, h, w), wt, stride=2, padding=0, groups=batch)
        out = out.view(batch, out_c, out.shape[-2], out.shape[-1])
        kernel = sd[f"{prefix}.conv.blur.kernel"]
        p = (kernel.shape[0] - 2) - (k - 1)
        return ros_upfirdn2d(out, kernel, pad=((p + 1) // 2 + 1, p // 2 + 1))
    out = F.conv2d(x.reshape(1, batch * in_c, h, w), wt.reshape(batch * out_c, in_c, k, k), padding=k // 2, groups=batch)
    return out.view(batch, out_c, h, w)


def ros_styled_conv(sd, prefix, x, style, noise, upsample=False):
    """StyledConv: modulated conv, NoiseInjection (weight * noise), FusedLeakyReLU (bias, slope 0.2, x sqrt 2)."""
    out = ros_modconv(sd, prefix, x, style, True, upsample)
    out = out + sd[f"{prefix}.noise.weight"] * noise
    return F.leaky_relu(out + sd[f"{prefix}.activate.bias"].view(1, -1, 1, 1), 0.2) * math.sqrt(2)


def ros_to_rgb(sd, prefix, x, style, skip):
    out = ros_modconv(sd, prefix, x, style, False, False) + sd[f"{prefix}.bias"]
    if skip is not None:
        kernel = sd[f"{prefix}.upsample.kernel"]
        p = kernel.shape[0] - 2
        out = out + ros_upfirdn2d(skip, kernel, up=2, pad=((p + 1) // 2 + 1, p // 2))
    return out


def ros_synthesis(sd, latent, size):
    """Generator.forward from a [B, n_latent, D] latent with the stored noises."""
    noise = [sd[f"noises.noise_{i}"] for i in range((int(math.log2(size)) - 2) * 2 + 1)]
    out = sd["input.input"].repeat(latent.shape[0], 1, 1, 1)
    out = ros_styled_conv(sd, "conv1", out, latent[:, 0], noise[0])
    skip = ros_to_rgb(sd, "to_rgb1", out, latent[:, 1], None)
    i = 1
    for k in range(int(math.log2(size)) - 2):
        out = ros_styled_conv(sd, f"convs.{2 * k}", out, latent[:, i], noise[i], upsample=True)
        out = ros_styled_conv(sd, f"convs.{2 * k + 1}", out, latent[:, i + 1], noise[i + 1])
        skip = ros_to_rgb(sd, f"to_rgbs.{k}", out, latent[:, i + 2], skip)
        i += 2
    return skip


def random_rosinality_state(size=16, dim=32, n_mlp=3, channels=None, seed=11):
    """A random rosinality G state dict (rosinality's shapes and init scales, biases and noise made non-zero)."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    channels = channels or {4: 32, 8: 32, 16: 16, 32: 8}
    sd = {}
    for i in range(1, n_mlp + 1):
        sd[f"style.{i}.weight"] = rnd(dim, dim) / 0.01
        sd[f"style.{i}.bias"] = rnd(dim) * 0.1 / 0.01
    blur = torch.tensor([1.0, 3.0, 3.0, 1.0])
    blur = (blur[:, None] * blur[None, :]) / 64 * 4

    def styled(prefix, cin, cout, noise_name, res, up=False):
        sd[f"{prefix}.conv.weight"] = rnd(1, cout, cin, 3, 3)
        sd[f"{prefix}.conv.modulation.weight"] = rnd(cin, dim)
        sd[f"{prefix}.conv.modulation.bias"] = 1 + 0.3 * rnd(cin)
        sd[f"{prefix}.noise.weight"] = 0.5 * rnd(1)
        sd[f"{prefix}.activate.bias"] = 0.3 * rnd(cout)
        sd[noise_name] = rnd(1, 1, res, res)
        if up:
            sd[f"{prefix}.conv.blur.kernel"] = blur.clone()

    def to_rgb(prefix, cin, up):
        sd[f"{prefix}.conv.weight"] = rnd(1, 3, cin, 1, 1)
        sd[f"{prefix}.conv.modulation.weight"] = rnd(cin, dim)
        sd[f"{prefix}.conv.modulation.bias"] = 1 + 0.3 * rnd(cin)
        sd[f"{prefix}.bias"] = 0.3 * rnd(1, 3, 1, 1)
        if up:
            sd[f"{prefix}.upsample.kernel"] = blur.clone()

    sd["input.input"] = rnd(1, channels[4], 4, 4)
    styled("conv1", channels[4], channels[4], "noises.noise_0", 4)
    to_rgb("to_rgb1", channels[4], False)
    for k in range(int(math.log2(size)) - 2):
        r = 2 ** (k + 3)
        styled(f"convs.{2 * k}", channels[r // 2], channels[r], f"noises.noise_{2 * k + 1}", r, up=True)
        styled(f"convs.{2 * k + 1}", channels[r], channels[r], f"noises.noise_{2 * k + 2}", r)
        to_rgb(f"to_rgbs.{k}", channels[r], True)
    return sd


def test_rosinality_conformance_with_independent_forward(tmp_path):
    """Our renderer on a converted file == rosinality's maths on the original tensors (catches scale/flip bugs)."""
    size, dim, n_mlp = 32, 32, 3
    sd = random_rosinality_state(size, dim, n_mlp)
    latent_avg = 0.3 * torch.randn(dim, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "ros.pt"
    torch.save({"g_ema": sd, "latent_avg": latent_avg}, path)
    ours = build_model(read_model_data(path), path)
    z = zs(dim, n=4)
    with torch.no_grad():
        w_ref = ros_mapping(sd, z, n_mlp)
        ws, img = render(ours, z)
        assert_close(ws[:, 0], w_ref, "w")
        img_ref = ros_synthesis(sd, ws, size)  # same W+ into both synthesis networks
        # W+ with different rows per layer, so a wrong layer-to-w assignment shows too.
        mixed = ws.clone()
        mixed[:, 3:] = ws.flip(0)[:, 3:]
        img_mixed = ours.synthesis(mixed, noise_mode="const")
        img_mixed_ref = ros_synthesis(sd, mixed, size)
    diff, rel = assert_close(img, img_ref)
    assert_close(img_mixed, img_mixed_ref, "mixed image")
    assert torch.equal(ours.mapping.w_avg, latent_avg)
    print(f"rosinality conformance: max |diff| {diff:.2e}, rel {rel:.2e}")


# ---------------------------------------------------------------------------------------------------------
# Writing rosinality files
# ---------------------------------------------------------------------------------------------------------


def test_rosinality_round_trip_through_native(tmp_path):
    """rosinality -> native -> rosinality reproduces the tensors and the images (rosinality-legal widths)."""
    from explorer.formats import native

    sd = random_rosinality_state(size=8, dim=16, n_mlp=2, channels={4: 512, 8: 512}, seed=21)
    latent_avg = torch.randn(16)
    src = tmp_path / "src.pt"
    torch.save({"g_ema": sd, "latent_avg": latent_avg}, src)
    data = rosinality.read(src)
    nat = tmp_path / "model.safetensors"
    native.write(nat, {"G_ema": (data.config, data.tensors)}, {"source_file": "src.pt", "sha256": "0", "source_format": "rosinality"})
    back = read_model_data(nat)
    out = tmp_path / "out.pt"
    rosinality.write(out, back)
    written = torch.load(out, map_location="cpu", weights_only=True)
    assert set(written) == {"g_ema", "latent_avg"}
    assert set(written["g_ema"]) == set(sd)
    for name, tensor in sd.items():
        assert written["g_ema"][name].shape == tensor.shape, name
        assert torch.equal(written["g_ema"][name], tensor), name
    assert torch.equal(written["latent_avg"], latent_avg)
    z = zs(16, n=2)
    again = rosinality.read(out)
    assert_close(render(build_model(again, out), z)[1], render(build_model(data, src), z)[1])


def test_rosinality_write_rescales_mapping_lr(tmp_path):
    """A mapping with lr_multiplier != 0.01 is written so that rosinality's fixed 0.01 gives the same W."""
    sd = random_rosinality_state(size=8, dim=16, n_mlp=2, channels={4: 512, 8: 512}, seed=22)
    torch.save({"g_ema": sd, "latent_avg": torch.zeros(16)}, tmp_path / "a.pt")
    data = rosinality.read(tmp_path / "a.pt")
    data.config["mapping_kwargs"]["lr_multiplier"] = 0.1
    G = build_model(data, tmp_path / "a.pt")
    rosinality.write(tmp_path / "b.pt", data)
    written = torch.load(tmp_path / "b.pt", weights_only=True)["g_ema"]
    z = zs(16)
    with torch.no_grad():
        assert_close(ros_mapping(written, z, 2), G.mapping(z, torch.zeros(3, 0))[:, 0], "w")


def test_rosinality_write_refuses_what_it_cannot_express(tmp_path):
    config = sg2_config(architecture="resnet")
    data = ModelData(config=config, tensors=random_generator(config).state_dict(), source_format="native")
    with pytest.raises(UnsupportedArchitecture) as info:
        rosinality.write(tmp_path / "x.pt", data)
    assert_one_line(info.value, "resnet")
    config = sg2_config(c_dim=3)
    data = ModelData(config=config, tensors=random_generator(config).state_dict(), source_format="native")
    with pytest.raises(UnsupportedArchitecture):
        rosinality.write(tmp_path / "x.pt", data)
    assert not (tmp_path / "x.pt").exists()
