"""Direction sliders as state edits (engine/directions/edits.py), joining sets, and the grid's --class."""

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.engine.directions import DirectionSet, combined, load_directions, save_directions, sefa_directions
from explorer.engine.directions.edits import (edit_position, renamed, set_edits, with_direction, with_set_names,
                                              without_direction)
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.errors import StateError
from explorer.formats import BUNDLED_MODEL, load_model

SAMPLES = 1_000


@pytest.fixture(scope="module")
def model():
    return load_model(BUNDLED_MODEL)


@pytest.fixture(scope="module")
def sefa(model):
    return sefa_directions(model, (0, model.generator.num_ws - 1), components=6, sigma_samples=SAMPLES)


def test_a_slider_is_the_edit_generate_builds(model, sefa):
    base = State(a=Latent(seed=3))
    state = with_direction(base, sefa, 2, 1.5, (2, 5))
    assert state.edits == (sefa.edit(2, 1.5, (2, 5)),)  # what `generate --edit D.npz:2@2-5=1.5` puts in
    renderer = Renderer(model)
    assert not np.array_equal(renderer.render(state), renderer.render(base))


def test_moving_keeps_the_edit_in_place_and_reset_removes_it(sefa):
    state = with_direction(with_direction(State(), sefa, 4, 1.0), sefa, 1, -2.0)
    assert edit_position(state, sefa, 4) == 0 and edit_position(state, sefa, 1) == 1
    state = with_direction(state, sefa, 4, 0.0)  # through 0 during a drag: still there, still first
    assert edit_position(state, sefa, 4) == 0 and state.edits[0].amount == 0.0
    state = with_direction(state, sefa, 4, rows=(0, 2))  # the range alone keeps the amount
    assert state.edits[0].rows == (0, 2) and state.edits[0].amount == 0.0
    assert set(set_edits(state, sefa)) == {1, 4}
    state = without_direction(state, sefa, 4)
    assert edit_position(state, sefa, 4) is None and edit_position(state, sefa, 1) == 0
    assert edit_position(State(), sefa, 1) is None


def test_edits_of_another_set_or_another_vector_do_not_belong(model, sefa):
    other = sefa_directions(model, (0, 3), components=6, sigma_samples=SAMPLES)
    state = with_direction(State(), other, 0, 2.0)
    assert edit_position(state, sefa, 0) is None and set_edits(state, sefa) == {}
    state = with_direction(state, sefa, 0, 1.0)  # both sliders live side by side
    assert len(state.edits) == 2 and set_edits(state, other)[0].amount == 2.0


def test_an_edit_survives_json_and_a_rename(sefa):
    state = State.loads(with_direction(State(), sefa, 3, 2.5).dumps())
    assert edit_position(state, sefa, 3) == 0
    named = renamed(sefa, 3, "smile")
    assert named.names[3] == "smile" and named.content_hash != sefa.content_hash
    assert edit_position(state, named, 3) == 0  # the slider still finds its edit
    state = with_set_names(state, named)
    assert state.edits[0].name == "smile" and state.edits[0].set_hash == named.content_hash


def test_combined_sets_keep_order_rows_and_provenance(model, sefa):
    other = sefa_directions(model, (0, 3), components=2, sigma_samples=SAMPLES)
    joined = combined(combined(sefa, other, "examples"), other)
    assert len(joined) == 10 and joined.names[6:8] == other.names and joined.rows(6) == (0, 3)
    assert np.array_equal(joined.vectors[:6], sefa.vectors) and joined.method == "examples"
    assert [p["count"] for p in joined.parameters["parts"]] == [6, 2, 2]
    narrow = DirectionSet.build(np.ones((1, 8)), [1.0], ["x"], (0, 0), "examples", {}, "")
    with pytest.raises(StateError, match="cannot join 256-d and 8-d"):
        combined(sefa, narrow)


def test_grid_takes_a_class_on_conditional_models(tmp_path, capsys):
    path = "tests/fixtures/nvidia/sg2-cond-32.pkl"
    cond = load_model(path)
    directions = tmp_path / "d.npz"
    save_directions(directions, sefa_directions(cond, (0, 2), components=2, sigma_samples=SAMPLES))
    common = ["directions", "grid", "--network", path, "--directions", str(directions), "--amounts", "0,3"]
    assert main(common + ["--output", str(tmp_path / "none.png")]) == 2
    assert "give --class" in capsys.readouterr().err
    sheets = []
    for k in (0, 1):
        out = tmp_path / f"class{k}.png"
        assert main(common + ["--class", str(k), "--output", str(out)]) == 0
        with Image.open(out) as image:
            sheets.append(np.asarray(image.convert("RGB")))
    edit = load_directions(directions, cond.generator).edit(0, 3.0)
    expected = Renderer(cond).render(State(class_idx=1, edits=(edit,)))
    np.testing.assert_array_equal(sheets[1][:32, 32:64], expected)
    assert not np.array_equal(sheets[0], sheets[1])

