"""Point dragging (explorer/engine/drag.py) and ``explorer drag`` on the bundled model and the fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.engine.drag import (
    DragSpec,
    decode_mask,
    drag,
    dragged_state,
    encode_mask,
    feature_layer,
    sample,
)
from explorer.engine.jobs import JobContext
from explorer.engine.latents import load_wplus_file
from explorer.engine.recipe import read_recipe
from explorer.engine.render import Renderer
from explorer.engine.state import DragRecord, Edit, Latent, State
from explorer.errors import StateError, UsageError
from explorer.formats import BUNDLED_MODEL, load_model

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"
# Seed 3 at psi 0.7 of the bundled model: a face whose left eye (25, 32) is dragged 10 px (16% of the
# width) to the right.
SEED_STATE = State(a=Latent(seed=3), psi=0.7)
HANDLE, TARGET = (25.0, 32.0), (35.0, 32.0)


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL, torch.device("cpu"))


@pytest.fixture(scope="module")
def renderer(bundled):
    return Renderer(bundled)


def png_pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def run_drag(renderer, state, spec):
    steps = []
    result = drag(JobContext(on_preview=steps.append), renderer, state, spec)
    return result, steps


def test_dragging_moves_the_content_to_the_target(renderer):
    before = renderer.render(SEED_STATE).astype(float)
    result, steps = run_drag(renderer, SEED_STATE, DragSpec(handles=(HANDLE,), targets=(TARGET,), steps=80))
    end = np.array(result.handles[0])
    assert result.reached and np.linalg.norm(end - TARGET) <= 2
    assert np.linalg.norm(end - HANDLE) >= 8  # the tracked point went most of the way
    assert steps[0].step == 0 and steps[-1].step == result.steps and len(steps) == result.steps + 1
    after = renderer.render(dragged_state(SEED_STATE, result, DragSpec(handles=(HANDLE,), targets=(TARGET,))))
    change = np.abs(after.astype(float) - before).mean(-1)
    near = change[26:38, 20:40].mean()
    assert near > 20 and near > 2 * change.mean()  # the image changed, most of all where the eye was going


def test_with_a_mask_the_outside_stays(renderer):
    free = np.zeros((64, 64), bool)
    free[8:56, 12:52] = True
    target = (31.0, 32.0)  # a shorter drag than above, to keep the test quick
    spec = DragSpec(handles=(HANDLE,), targets=(target,), mask=free, steps=80)
    result, _ = run_drag(renderer, SEED_STATE, spec)
    assert np.linalg.norm(np.array(result.handles[0]) - target) <= 2
    before = renderer.render(SEED_STATE).astype(float)
    change = np.abs(renderer.render(dragged_state(SEED_STATE, result, spec)).astype(float) - before).mean(-1)
    assert change[~free].mean() < 3 and change[free].mean() > 4 * change[~free].mean()


def test_only_the_first_rows_move_and_no_weights_change(renderer, bundled):
    weights = {k: v.clone() for k, v in bundled.generator.state_dict().items()}
    start = renderer.wplus(SEED_STATE).numpy()
    result, _ = run_drag(renderer, SEED_STATE, DragSpec(handles=(HANDLE,), targets=(TARGET,), steps=5, rows=4))
    assert result.rows == 4 and result.steps == 5
    assert not np.allclose(result.wplus[:4], start[:4]) and np.array_equal(result.wplus[4:], start[4:])
    assert all(torch.equal(v, weights[k]) for k, v in bundled.generator.state_dict().items())


def test_stop_keeps_what_the_drag_has(renderer):
    seen = []
    result = drag(JobContext(on_preview=seen.append), renderer, SEED_STATE,
                  DragSpec(handles=(HANDLE,), targets=(TARGET,), steps=100), should_stop=lambda: len(seen) >= 3)
    assert result.steps == 2 and not result.reached


def test_a_dragged_state_reopens_exactly_from_its_png(renderer, bundled, tmp_path):
    """Edited and mixed states alike: the rows already hold the edits and B's mix, which the new state
    drops (amounts 0, no mix) so that nothing is applied twice; zero steps give the start image back."""
    edit = Edit(vector=tuple(np.random.RandomState(1).randn(bundled.generator.w_dim)), amount=1.5, name="e")
    state = SEED_STATE.replace(mix=(0, 0, 0, 0, 0, 0, 1, 1, 1, 1), edits=(edit,))
    mask = np.zeros((64, 64), bool)
    mask[10:40, 5:60] = True
    spec = DragSpec(handles=(HANDLE, (40.0, 20.0)), targets=(TARGET, (40.0, 14.0)), mask=mask, steps=0)
    result, _ = run_drag(renderer, state, spec)
    new = dragged_state(state, result, spec)
    assert new.mix == () and new.edits[0].amount == 0 and new.a.follow_psi is False
    assert np.array_equal(renderer.render(new), renderer.render(state))
    record = new.a.drags[-1]
    assert record.handles == spec.handles and record.targets == spec.targets and record.steps == 0
    assert np.array_equal(decode_mask(record.mask), mask)
    assert State.loads(new.dumps()) == new
    # a second round keeps the first round's record
    again = dragged_state(new, result, spec)
    assert len(again.a.drags) == 2


def test_stylegan3_drags_too():
    model = load_model(FIXTURES / "sg3t-32.pkl", torch.device("cpu"))
    layer = feature_layer(model.generator)
    assert layer.resolution == 32 and layer.margin == 10  # its 52 px layer, the margin cut
    spec = DragSpec(handles=((12.0, 16.0),), targets=((18.0, 16.0),), steps=20)
    result, steps = run_drag(Renderer(model), State(a=Latent(seed=0)), spec)
    assert result.reached and np.linalg.norm(np.array(result.handles[0]) - (18, 16)) <= 2
    assert steps[-1].distance < steps[0].distance
    assert result.wplus.shape == (model.generator.num_ws, model.generator.w_dim)


def test_feature_layers_follow_the_documented_rule(bundled):
    from explorer.engine.bench import synthetic_generator

    assert feature_layer(bundled.generator).name == "b32"  # 64 px: 32 px features, not 16
    assert feature_layer(synthetic_generator("sg2-256")).name == "b64"  # a quarter of 256


def test_features_are_sampled_at_pixel_centres():
    features = torch.arange(16.0).reshape(1, 1, 4, 4)
    # an 8 px image over 4 feature pixels: image pixel (2.5, 0.5)'s centre is the centre of feature (1, 0)
    assert sample(features, torch.tensor([[2.5, 0.5]]), (8, 8)).item() == pytest.approx(1.0)
    assert sample(features, torch.tensor([[3.5, 0.5]]), (8, 8)).item() == pytest.approx(1.5)


def test_bad_drags_are_one_line():
    with pytest.raises(UsageError, match="one target per handle"):
        DragSpec(handles=((1, 1),), targets=())
    with pytest.raises(UsageError, match="outside the 64x64 image"):
        DragSpec(handles=((70, 1),), targets=((1, 1),)).check((64, 64))
    with pytest.raises(UsageError, match="mask is empty"):
        DragSpec(handles=((1, 1),), targets=((2, 2),), mask=np.zeros((64, 64), bool)).check((64, 64))
    with pytest.raises(StateError, match="damaged drag mask"):
        decode_mask("64x64:not base64!")
    assert np.array_equal(decode_mask(encode_mask(np.eye(5, 7, dtype=bool))), np.eye(5, 7, dtype=bool))


@pytest.mark.parametrize("record, message", [
    ({"handles": [[1, 2]], "targets": [[1, 2], [3, 4]], "reached": [[1, 2]]}, "as many targets"),
    ({"handles": [[1, "x"]], "targets": [[1, 2]], "reached": [[1, 2]]}, "finite number"),
    ({"handles": [[1, 2]], "targets": [[1, 2]], "reached": [[1, 2]], "steps": -1}, "non-negative"),
    ({"handles": [[1, 2]], "targets": [[1, 2]], "reached": [[1, 2]], "mask": 5}, "encoded mask"),
    ({"handles": [[1, 2]] * 65, "targets": [[1, 2]] * 65, "reached": [[1, 2]] * 65}, "1 to 64"),
])
def test_damaged_drag_records_are_one_state_error(record, message):
    data = SEED_STATE.to_json()
    data["a"]["drags"] = [record]
    with pytest.raises(StateError, match=message):
        State.from_json(data, "x.json")


def test_latents_without_drags_keep_their_json():
    assert "drags" not in Latent(seed=4).to_json()
    record = DragRecord(handles=((1, 2),), targets=((3, 4),), reached=((3, 4),), steps=9, rows=6)
    assert Latent.from_json(Latent(w_plus=((0.5,),), drags=(record,)).to_json()).drags == (record,)


# ---- the command line ------------------------------------------------------------------------------------

def test_cli_writes_image_with_recipe_latent_and_video(tmp_path, renderer, capsys):
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(tmp_path / "mask.png")
    assert main(["drag", "--seed", "3", "--trunc", "0.7", "--handle", "25,32", "--target", "35,32",
                 "--mask", str(tmp_path / "mask.png"), "--steps", "3", "--outdir", str(tmp_path / "out"),
                 "--video", "steps.gif"]) == 0
    out = tmp_path / "out"
    recipe = read_recipe(out / "drag.png")
    assert recipe.state.a.drags[0].steps == 3 and recipe.state.a.drags[0].mask is not None
    assert np.array_equal(png_pixels(out / "drag.png"), renderer.render(recipe.state))
    assert np.allclose(load_wplus_file(out / "projected_w.npz")[0], np.array(recipe.state.a.w_plus))
    with Image.open(out / "steps.gif") as video:
        assert video.n_frames == 4 and video.size == (256, 256)  # steps 0..3, enlarged 4x
    assert "after 3 steps" in capsys.readouterr().out
    # a projected W+ file starts a drag as a seed does: zero steps give its image back
    assert main(["drag", "--projected-w", str(out / "projected_w.npz"), "--handle", "1,1", "--target", "9,9",
                 "--steps", "0", "--no-video", "--outdir", str(tmp_path / "again")]) == 0
    assert np.array_equal(png_pixels(tmp_path / "again" / "drag.png"), png_pixels(out / "drag.png"))
    assert not (tmp_path / "again" / "drag.mp4").exists()
    # a second run refuses to overwrite
    assert main(["drag", "--handle", "1,1", "--target", "2,2", "--steps", "0", "--outdir", str(out)]) == 2


@pytest.mark.parametrize("extra, message", [
    (["--handle", "1,1", "--target", "2,2", "--handle", "3,3"], "one --target per --handle"),
    (["--handle", "1,1", "--target", "64,2"], "outside the 64x64 image"),
    (["--handle", "1,x", "--target", "2,2"], "two numbers"),
    (["--handle", "1,1", "--target", "2,2", "--mask", "missing.png"], "mask file not found"),
])
def test_cli_mistakes_are_one_line(extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["drag", *extra, "--outdir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
