"""State version 2: edits, blend, final imported W+, and files written by the first release (version 1)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.engine.latents import edit_offset
from explorer.engine.recipe import read_recipe
from explorer.engine.render import Renderer
from explorer.engine.session import load_session
from explorer.engine.state import Blend, Edit, Latent, State
from explorer.errors import StateError
from explorer.formats import load_model
from explorer.video.timeline import Timeline

V1 = Path(__file__).parent / "fixtures" / "v1"
BUNDLED = Path(__file__).parent.parent / "checkpoints" / "default.safetensors"


@pytest.fixture(scope="module")
def renderer():
    return Renderer(load_model(BUNDLED))


def _edit(amount=2.0, rows=(1, 3), w_dim=256, seed=0):
    v = np.random.RandomState(seed).randn(w_dim)
    return Edit(vector=tuple(v / np.linalg.norm(v)), sigma=1.5, amount=amount, rows=rows, name="test")


def test_a_v2_state_with_edits_and_blend_round_trips():
    state = State(edits=(_edit(),), blend=Blend(model="b.pkl", sha256="ab", mode="step", mid=32))
    again = State.loads(state.dumps())
    assert again == state
    assert json.loads(state.dumps())["version"] == 2


@pytest.mark.parametrize("bad", [
    {"edits": [{"vector": [float("nan")]}]},
    {"edits": [{"vector": [1.0], "rows": [3, 1]}]},
    {"edits": "x"},
    {"blend": {"model": "b", "mode": "warp"}},
    {"blend": {"model": "b", "layers": [2.0]}},
    {"a": {"seed": 0, "follow_psi": "yes"}},
    {"a": {"seed": 0, "colour": 1}},
])
def test_bad_v2_fields_are_one_line_state_errors(bad):
    with pytest.raises(StateError) as info:
        State.from_json({"version": 2, **bad}, "s.json")
    assert "s.json" in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_version_names_the_versions_read():
    with pytest.raises(StateError, match="versions 1 to 2"):
        State.from_json({"version": 3})


def test_edits_move_exactly_their_rows_by_amount_sigma_vector(renderer):
    edit = _edit(amount=2.0, rows=(1, 3))
    base = renderer.wplus(State(psi=0.7))
    moved = renderer.wplus(State(psi=0.7, edits=(edit,)))
    delta = (moved - base).cpu()
    expected = 2.0 * 1.5 * torch.tensor(edit.vector, dtype=torch.float32)
    assert torch.allclose(delta[1:4], expected.expand(3, -1), atol=1e-5)
    assert torch.count_nonzero(delta[[0, 4, 5, 6, 7, 8, 9]]) == 0


def test_an_edit_of_another_w_dim_is_a_state_error(renderer):
    with pytest.raises(StateError, match="512-d vector"):
        renderer.wplus(State(edits=(_edit(w_dim=512),)))


def test_edit_rows_beyond_the_model_are_cut():
    offset = edit_offset((_edit(rows=(8, 40)),), 10, 256)
    assert torch.count_nonzero(offset[:8]) == 0 and torch.count_nonzero(offset[8:]) > 0


def test_imported_w_plus_is_final_whatever_the_psi(renderer):
    w = renderer.wplus(State(a=Latent(seed=4), psi=0.5))
    imported = Latent(w_plus=tuple(map(tuple, w.tolist())))
    assert torch.allclose(renderer.wplus(State(a=imported, psi=0.5)), w)
    follow = Latent(w_plus=imported.w_plus, follow_psi=True)
    assert not torch.allclose(renderer.wplus(State(a=follow, psi=0.5)), w)


def test_a_v1_session_opens_with_its_w_plus_following_psi():
    session = load_session(V1 / "session-v1.json")
    assert session.state.a.w_plus is not None and session.state.a.follow_psi
    assert session.state.psi == 0.6 and session.state.edits == () and session.state.blend is None


def test_a_v1_png_recipe_renders_the_image_the_first_release_wrote(renderer):
    from PIL import Image

    recipe = read_recipe(V1 / "recipe-v1.png")
    assert recipe.state.a.follow_psi
    written = np.asarray(Image.open(V1 / "recipe-v1.png").convert("RGB"))
    assert np.array_equal(renderer.render(recipe.state), written)


def test_a_v1_timeline_opens():
    timeline = Timeline.load(V1 / "timeline-v1.json")
    assert len(timeline.keyframes) == 2
    assert timeline.keyframes[0].state.psi == 0.7 and timeline.keyframes[1].state.a.follow_psi
