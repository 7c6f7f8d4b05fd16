"""Our renders against NVIDIA's own, for every case recorded with the fixture pickles.

The references were rendered by NVIDIA's code on the CPU in fp32 (tests/fixtures/nvidia/README.md).
Tolerances are the README's: ws max |diff| <= 1e-4; images max |diff| <= 2e-3 and ||diff||/||ref|| <= 1e-3.
The path under test is the engine's (State -> Renderer), which the CLI and the window share.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.formats import load_model

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"
NAMES = ("sg2-skip-32", "sg2-cond-32", "sg3t-32")


@pytest.fixture(scope="module", params=NAMES)
def fixture(request):
    name = request.param
    model = load_model(FIXTURES / f"{name}.pkl")
    meta = json.loads((FIXTURES / f"{name}.ref.json").read_text())
    refs = np.load(FIXTURES / f"{name}.ref.npz")
    return name, Renderer(model), meta, refs


def assert_ws_close(ours: torch.Tensor, ref: np.ndarray):
    diff = np.abs(ours.cpu().numpy() - ref[0]).max()
    assert diff <= 1e-4, f"ws max |diff| {diff:.2e}"


def assert_image_close(ours: torch.Tensor, ref: np.ndarray):
    ours = ours.cpu().numpy()
    diff = ours - ref
    max_diff = np.abs(diff).max()
    rel = np.linalg.norm(diff) / np.linalg.norm(ref)
    assert max_diff <= 2e-3 and rel <= 1e-3, f"image max |diff| {max_diff:.2e}, rel {rel:.2e}"


def case_state(case: dict) -> State:
    return State(
        a=Latent(seed=case["seed"]),
        psi=case["psi"],
        cutoff=case["cutoff"],
        noise_mode=case["noise_mode"],
        class_idx=case["class_idx"],
    )


def test_recorded_cases(fixture):
    name, renderer, meta, refs = fixture
    for i, case in enumerate(meta["cases"]):
        state = case_state(case)
        assert_ws_close(renderer.wplus(state), refs[f"case{i}_ws"])
        assert_image_close(renderer.render_float(state), refs[f"case{i}_img"])


def test_style_mix_case(fixture):
    name, renderer, meta, refs = fixture
    num_ws = meta["num_ws"]
    state = State(a=Latent(seed=10), b=Latent(seed=11), psi=0.8).with_mix(num_ws, range(num_ws // 2, num_ws), 1.0)
    assert_ws_close(renderer.wplus(state), refs["mix_ws"])
    assert_image_close(renderer.render_float(state), refs["mix_img"])


def test_translate_rotate_case(fixture):
    name, renderer, meta, refs = fixture
    if "transform_img" not in refs.files:
        pytest.skip(f"{name} has no transform case")
    state = State(
        a=Latent(seed=7),
        translate=tuple(float(v) for v in refs["transform_translate"]),
        rotate=float(refs["transform_rotate_deg"]),
    )
    assert_ws_close(renderer.wplus(state), refs["transform_ws"])
    assert_image_close(renderer.render_float(state), refs["transform_img"])
