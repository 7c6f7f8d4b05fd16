"""Blending two models layer by layer (explorer/engine/blend.py, `explorer blend`).

"Model B" is the bundled model with every tensor perturbed (buffers too, so that taking them from A is
checked), written natively into tmp_path; the expected tensors are computed here from the two parent
files with the formula of the issue, not through the engine.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.engine.blend import ModelBlend, identify_model_file, layer_weights
from explorer.engine.params import ParamRegistry
from explorer.engine.recipe import read_recipe
from explorer.engine.render import Renderer
from explorer.engine.state import Blend, Latent, State
from explorer.errors import ExplorerError
from explorer.formats import BUNDLED_MODEL, load_model, native
from explorer.models import build_generator
from explorer.video.interpolate import TimelineSampler
from explorer.video.render import FrameSource
from explorer.video.timeline import FramePos, Keyframe, Timeline

G = native.RENDER_NET
FIXED_BUFFERS = ("noise_const", "resample_filter")  # StyleGAN2's set-up buffers: always A's


def _write_model(path: Path, config: dict, tensors: dict) -> Path:
    native.write(path, {G: (config, tensors)}, {"source_file": "test", "sha256": "", "source_format": "native"})
    return path


def write_relative(path: Path) -> Path:
    """The bundled model with each tensor moved by a fifth of its spread (a close relative), written to ``path``."""
    _, networks = native.read_networks(BUNDLED_MODEL)
    config, tensors = networks[G]
    rng = torch.Generator().manual_seed(0)
    moved = {n: t + 0.2 * (t.std() if t.numel() > 1 else 1.0) * torch.randn(t.shape, generator=rng)
             for n, t in tensors.items()}
    return _write_model(path, config, moved)


@pytest.fixture(scope="module")
def parent_b(tmp_path_factory) -> Path:
    return write_relative(tmp_path_factory.mktemp("b") / "b.safetensors")


def _expected_weight(name: str, mode: str, mid: int, width: float) -> float:
    """B's share of a synthesis tensor, from its block's resolution in the name (synthesis.b16.conv0...)."""
    resolution = int(name.split(".")[1].removeprefix("b"))
    if mode == "step":
        return 1.0 if resolution >= mid else 0.0
    return 1.0 / (1.0 + math.exp(-(math.log2(resolution) - math.log2(mid)) / width))


@pytest.mark.parametrize("mode, mid, width, mapping", [("step", 16, 1.0, "a"), ("sigmoid", 32, 0.7, "b")])
def test_saved_tensors_follow_the_formula(tmp_path, parent_b, capsys, mode, mid, width, mapping):
    out = tmp_path / "c.safetensors"
    status = main(["blend", str(BUNDLED_MODEL), str(parent_b), "--mode", mode, "--mid", str(mid),
                   "--width", str(width), "--mapping", mapping, "--output", str(out)])
    assert status == 0, capsys.readouterr().err
    assert "warning" not in capsys.readouterr().out  # a perturbed copy is a relative
    a = native.read_networks(BUNDLED_MODEL)[1][G][1]
    b = native.read_networks(parent_b)[1][G][1]
    meta, networks = native.read_networks(out)
    c = networks[G][1]
    assert set(c) == set(a)
    blended = 0
    for name, tensor in c.items():
        if name.startswith("mapping."):
            expected = (a if mapping == "a" else b)[name]
        elif name.endswith(FIXED_BUFFERS):
            expected = a[name]
        else:
            w = _expected_weight(name, mode, mid, width)
            expected = (1 - w) * a[name] + w * b[name]
            blended += w > 0
        torch.testing.assert_close(tensor, expected, rtol=1e-5, atol=1e-6, msg=name)
    assert blended > 0
    provenance = json.loads(meta["provenance"])
    parents = {p["role"]: p for p in provenance["parents"]}
    assert parents["a"]["sha256"] == load_model(BUNDLED_MODEL).sha256
    assert parents["b"]["sha256"] == load_model(parent_b).sha256
    assert provenance["blend"]["mode"] == mode and provenance["blend"]["mid"] == mid
    assert provenance["blend"]["mapping"] == mapping
    load_model(out)  # and it opens as a model


@pytest.mark.parametrize("other", ["sg3t-32.pkl", "sg2-skip-32.pkl"])
def test_mismatched_models_are_refused_in_one_line(tmp_path, nvidia_dir, capsys, other):
    out = tmp_path / "c.safetensors"
    status = main(["blend", str(nvidia_dir / "sg2-cond-32.pkl"), str(nvidia_dir / other), "--mode", "step",
                   "--mid", "16", "--output", str(out)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and not out.exists()
    assert len(err.splitlines()) == 1 and other in err and "cannot blend" in err


def test_existing_output_needs_force(tmp_path, parent_b, capsys):
    out = tmp_path / "c.safetensors"
    out.write_bytes(b"keep me")
    args = ["blend", str(BUNDLED_MODEL), str(parent_b), "--mode", "step", "--mid", "8", "--output", str(out)]
    assert main(args) == 2 and out.read_bytes() == b"keep me"
    assert "--force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0
    load_model(out)


def write_stranger(path: Path) -> Path:
    """A model of the bundled model's architecture, freshly initialised: no relative of it."""
    config = load_model(BUNDLED_MODEL).config
    # Not seed 0: the bundled model was trained from that initialisation and still correlates 0.97 with it.
    torch.manual_seed(1)
    return _write_model(path, config, build_generator(config).state_dict())


def test_unrelated_models_are_warned_about(tmp_path, capsys):
    stranger = write_stranger(tmp_path / "stranger.safetensors")
    status = main(["blend", str(BUNDLED_MODEL), str(stranger), "--mode", "sigmoid", "--mid", "16",
                   "--output", str(tmp_path / "c.safetensors")])
    assert status == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "ancestor" in out


def test_curves_rise_with_resolution():
    infos = load_model(BUNDLED_MODEL).generator.layer_infos()
    sigmoid = layer_weights(infos, "sigmoid", mid=16, width=1.0)
    assert sigmoid == sorted(sigmoid) and sigmoid[0] < 0.5 < sigmoid[-1]
    assert all(w == pytest.approx(0.5) for w, info in zip(sigmoid, infos) if info.resolution == 16)
    step = layer_weights(infos, "step", mid=16)
    assert step == [float(info.resolution >= 16) for info in infos]
    assert layer_weights(infos, "layers", layers=[1.0, 0.5]) == [1.0, 0.5] + [0.0] * (len(infos) - 2)


def test_curve_changes_are_lerped_in_place(parent_b):
    a, b = load_model(BUNDLED_MODEL).generator, load_model(parent_b).generator
    blend = ModelBlend(a, b)
    storage = [p.data_ptr() for p in blend.generator.parameters()]
    n = len(blend.layer_infos)
    blend.set_curve([1.0] * n, "b")
    blend.set_curve([0.0] * n, "a")  # back to A: every tensor rewritten, none reallocated
    assert [p.data_ptr() for p in blend.generator.parameters()] == storage
    for name, tensor in blend.generator.state_dict().items():
        assert torch.equal(tensor, a.state_dict()[name]), name
    ws = a.mapping(torch.randn([1, a.z_dim], generator=torch.Generator().manual_seed(1)), None)
    torch.testing.assert_close(blend.generator.synthesis(ws, noise_mode="const"), a.synthesis(ws, noise_mode="const"))


# ---- a state's blend, rendered (explorer/engine/render.py) and set by address --------------------------

def _blend_file(tmp_path: Path, parent_b: Path, *curve: str) -> Path:
    out = tmp_path / f"blend-{'-'.join(curve)}.safetensors"
    assert main(["blend", str(BUNDLED_MODEL), str(parent_b), *curve, "--output", str(out)]) == 0
    return out


def test_a_state_blend_renders_as_the_written_blend(tmp_path, parent_b):
    renderer = Renderer(load_model(BUNDLED_MODEL))
    model_b = load_model(parent_b)
    blend = Blend(model=str(parent_b), sha256=model_b.sha256, mode="sigmoid", mid=32, width=0.7, mapping="b")
    for curve in (blend, dataclasses.replace(blend, mode="step", mid=16, mapping="a")):  # moved in place
        args = ["--mode", curve.mode, "--mid", str(curve.mid), "--width", str(curve.width), "--mapping", curve.mapping]
        written = Renderer(load_model(_blend_file(tmp_path, parent_b, *args)))
        state = State(a=Latent(seed=3), psi=0.7, blend=curve)
        torch.testing.assert_close(renderer.render_float(state), written.render_float(state.replace(blend=None)))
    unblended = renderer.render_float(State(a=Latent(seed=3), psi=0.7))
    torch.testing.assert_close(unblended, Renderer(load_model(BUNDLED_MODEL)).render_float(State(a=Latent(seed=3), psi=0.7)))


def test_a_blend_of_a_changed_file_is_refused_in_one_line(parent_b):
    renderer = Renderer(load_model(BUNDLED_MODEL))
    state = State(blend=Blend(model=str(parent_b), sha256="0" * 64))
    with pytest.raises(ExplorerError, match="sha256 differs") as caught:
        renderer.render(state)
    assert "\n" not in str(caught.value) and parent_b.name in str(caught.value)


def test_blend_parameters_set_the_curve(parent_b):
    generator = load_model(BUNDLED_MODEL).generator
    state = State(blend=Blend(model=str(parent_b), mode="sigmoid", mid=16))
    registry = ParamRegistry.for_model(generator, state)
    state = registry.apply(state, ["blend/width=2", "blend/mapping=b"])
    assert (state.blend.width, state.blend.mapping) == (2.0, "b")
    curve = layer_weights(generator.layer_infos(), "sigmoid", mid=16, width=2.0)
    moved = registry.set(state, "blend/layer/3", 1.0)  # one layer moved, the others stay on the curve
    assert moved.blend.mode == "layers"
    assert list(moved.blend.layers) == pytest.approx(curve[:3] + [1.0] + curve[4:])
    with pytest.raises(ExplorerError, match="blend/mid"):
        registry.apply(state, ["blend/mid=0"])
    with pytest.raises(ExplorerError, match="no blend"):  # a curve needs a model B first
        ParamRegistry.for_model(generator, State()).set(State(), "blend/mid", 32)


def test_blend_model_names_the_file_by_path_and_hash(tmp_path, parent_b):
    generator = load_model(BUNDLED_MODEL).generator
    registry = ParamRegistry.for_model(generator, State())
    # one command line starts a blend and sets its curve (the registry was built for a state without one)
    state = registry.apply(State(), [f"blend/model={parent_b}", "blend/mode=step", "blend/mid=32"])
    assert state.blend.model == str(parent_b.resolve())
    assert state.blend.sha256 == load_model(parent_b).sha256
    assert (state.blend.mode, state.blend.mid) == ("step", 32)
    other = tmp_path / "other.safetensors"
    other.write_bytes(parent_b.read_bytes())
    switched = registry.set(state, "blend/model", str(other))  # another B keeps the curve
    assert (switched.blend.model, switched.blend.mode, switched.blend.mid) == (str(other.resolve()), "step", 32)
    assert registry.set(state, "blend/model", "off").blend is None
    assert registry.set(state, "blend/model", "").blend is None
    with pytest.raises(ExplorerError, match="missing.pkl") as caught:
        registry.set(state, "blend/model", str(tmp_path / "missing.pkl"))
    assert str(caught.value).startswith("blend/model:") and "\n" not in str(caught.value)
    assert registry.value(State(), "blend/layer/0") == 0.0  # no blend: all A


def test_a_changed_file_is_hashed_again(tmp_path, parent_b):
    copy_b = tmp_path / "b.safetensors"
    copy_b.write_bytes(parent_b.read_bytes())
    first = identify_model_file(copy_b)
    assert identify_model_file(copy_b) == first == (str(copy_b.resolve()), load_model(parent_b).sha256)
    copy_b.write_bytes(parent_b.read_bytes() + b" ")  # another size: not the cached digest
    assert identify_model_file(copy_b)[1] != first[1]


def test_generate_sets_a_blend_from_the_command_line(tmp_path, parent_b):
    assert main(["generate", "--seeds", "5", "--set", f"blend/model={parent_b}", "--set", "blend/mode=sigmoid",
                 "--set", "blend/mid=16", "--outdir", str(tmp_path / "blended")]) == 0
    written = _blend_file(tmp_path, parent_b, "--mode", "sigmoid", "--mid", "16")
    assert main(["generate", "--network", str(written), "--seeds", "5", "--outdir", str(tmp_path / "written")]) == 0
    blended_png = tmp_path / "blended" / "seed0005.png"
    blended = np.asarray(Image.open(blended_png))
    assert np.array_equal(blended, np.asarray(Image.open(tmp_path / "written" / "seed0005.png")))
    recipe = read_recipe(blended_png)  # the recipe names both models by hash
    assert recipe.model_sha256 == load_model(BUNDLED_MODEL).sha256
    assert recipe.state.blend.sha256 == load_model(parent_b).sha256


def test_generate_renders_a_state_blend(tmp_path, parent_b):
    state_file = tmp_path / "s.json"
    state_file.write_text(State(a=Latent(seed=5), blend=Blend(model=str(parent_b))).dumps())
    assert main(["generate", "--state", str(state_file), "--set", "blend/mode=step", "--set", "blend/mid=16",
                 "--outdir", str(tmp_path / "blended")]) == 0
    written = _blend_file(tmp_path, parent_b, "--mode", "step", "--mid", "16")
    assert main(["generate", "--network", str(written), "--seeds", "5", "--outdir", str(tmp_path / "written")]) == 0
    blended = np.asarray(Image.open(tmp_path / "blended" / "seed0005.png"))
    assert np.array_equal(blended, np.asarray(Image.open(tmp_path / "written" / "seed0005.png")))


# ---- video keyframes (explorer/video/interpolate.py) ----------------------------------------------------

def _halfway(renderer: Renderer, first: State, second: State, kind: str = "linear"):
    timeline = Timeline(keyframes=(Keyframe(first, duration=1.0), Keyframe(second)), kind=kind)
    return TimelineSampler(renderer, timeline), FramePos(0, 0.5)


def test_keyframes_move_the_middle_of_a_sigmoid_blend(parent_b):
    renderer = Renderer(load_model(BUNDLED_MODEL))
    infos = renderer.generator.layer_infos()
    blend = Blend(model=str(parent_b), sha256=load_model(parent_b).sha256, mode="sigmoid", mid=8, width=0.5)
    first = State(a=Latent(seed=2), blend=blend)
    second = first.replace(blend=dataclasses.replace(blend, mid=32, width=1.5))
    sampler, halfway = _halfway(renderer, first, second)
    between = sampler.state_at(halfway).blend
    assert between.mode == "layers"  # the sigmoid of the middle mid (log2: 3 -> 5 gives 16) and width
    assert list(between.layers) == pytest.approx(layer_weights(infos, "sigmoid", mid=16, width=1.0))
    # the frame the video renders is the state the window's scrubber shows
    frame = FrameSource(renderer, [sampler.timeline], fps=2.0).render_range(1, 2)[0]
    assert np.abs(frame.astype(int) - renderer.render(sampler.state_at(halfway)).astype(int)).max() <= 1


@pytest.mark.parametrize("kind", ["linear", "cubic"])
def test_keyframes_move_each_layer_of_a_blend(parent_b, kind):
    renderer = Renderer(load_model(BUNDLED_MODEL))
    n = len(renderer.generator.layer_infos())
    step = Blend(model=str(parent_b), mode="step", mid=16)
    layers = [float(i % 2) for i in range(n)]
    first = State(a=Latent(seed=2))  # no blend: B's share 0, so the blend fades in
    second = first.replace(blend=dataclasses.replace(step, mode="layers", layers=tuple(layers)))
    between = _halfway(renderer, first, second, kind)[0].state_at(FramePos(0, 0.5)).blend
    assert list(between.layers) == pytest.approx([w / 2 for w in layers])  # two keyframes: cubic is symmetric
    third = first.replace(blend=step)
    between = _halfway(renderer, third, second, kind)[0].state_at(FramePos(0, 0.5)).blend
    expected = [(a + b) / 2 for a, b in zip(layer_weights(renderer.generator.layer_infos(), "step", 16), layers)]
    assert list(between.layers) == pytest.approx(expected)


def test_slerp_between_keyframes_mapped_by_model_b_stays_on_their_w(parent_b):
    renderer = Renderer(load_model(BUNDLED_MODEL))
    blend = Blend(model=str(parent_b), mode="step", mid=16, mapping="b")
    first, second = State(a=Latent(seed=2), blend=blend), State(a=Latent(seed=9), blend=blend)
    sampler, halfway = _halfway(renderer, first, second, "slerp")
    ends = [renderer.wplus(first), renderer.wplus(second)]  # W of model B's mapping network
    torch.testing.assert_close(sampler.sample([halfway])[0].wplus, (ends[0] + ends[1]) / 2)


def test_generate_with_an_unrelated_blend_partner_says_so_once(tmp_path, capsys):
    stranger = write_stranger(tmp_path / "stranger.safetensors")
    relative = write_relative(tmp_path / "relative.safetensors")
    assert main(["generate", "--seeds", "0-1", "--set", f"blend/model={stranger}", "--outdir", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert out.count("do not seem to share an ancestor") == 1
    assert main(["generate", "--seeds", "0", "--set", f"blend/model={relative}", "--outdir", str(tmp_path / "b")]) == 0
    assert "share an ancestor" not in capsys.readouterr().out
