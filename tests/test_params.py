"""The parameter registry: addresses per model, ranges, pure setters, and the CLI's --set."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.engine.params import ParamRegistry
from explorer.engine.state import Edit, State
from explorer.errors import ParamError
from explorer.formats import load_model

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"
BUNDLED = Path(__file__).parent.parent / "checkpoints" / "default.safetensors"


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED).generator


def test_rows_come_from_the_model(bundled):
    registry = ParamRegistry.for_model(bundled)
    addresses = {p.address for p in registry}
    assert {f"mix/{r}" for r in range(bundled.num_ws)} <= addresses
    assert {f"psi/{r}" for r in range(bundled.num_ws)} <= addresses
    assert f"mix/{bundled.num_ws}" not in addresses
    assert {"seed_a", "seed_b", "psi", "trunc_cutoff", "noise/mode", "noise/seed", "noise/strength"} <= addresses
    assert "rotate" not in addresses and "class" not in addresses  # SG2, unconditional


def test_an_sg3_model_has_its_transform_and_a_conditional_one_its_class():
    sg3 = load_model(FIXTURES / "sg3t-32.pkl").generator
    assert {"translate/x", "translate/y", "rotate"} <= {p.address for p in ParamRegistry.for_model(sg3)}
    cond = load_model(FIXTURES / "sg2-cond-32.pkl").generator
    assert ParamRegistry.for_model(cond)["class"].high == cond.c_dim - 1


def test_setters_are_pure_and_checked(bundled):
    registry = ParamRegistry.for_model(bundled)
    state = State()
    moved = registry.set(state, "mix/3", "1")
    assert state.mix == () and moved.mix_weights(bundled.num_ws)[3] == 1.0
    assert registry.value(moved, "mix/3") == 1.0
    assert registry.set(state, "psi/2", 0.5).row_psis(bundled.num_ws)[2] == 0.5
    assert registry.set(registry.set(state, "psi/2", 0.5), "psi/2", "off").layer_psi[2] is None
    assert registry.set(state, "trunc_cutoff", bundled.num_ws).cutoff is None
    with pytest.raises(ParamError, match=r"^psi: must be within -1..2, got '3'$"):
        registry.set(state, "psi", "3")
    with pytest.raises(ParamError, match="mix/99: unknown parameter"):
        registry.set(state, "mix/99", 1)
    with pytest.raises(ParamError, match="seed_a: must be within"):
        registry.set(state, "seed_a", 2.5)


def test_edits_add_their_addresses(bundled):
    edit = Edit(vector=(1.0,) + (0.0,) * (bundled.w_dim - 1), sigma=2.0, name="smile")
    state = State(edits=(edit,))
    registry = ParamRegistry.for_model(bundled, state)
    state = registry.apply(state, ["edit/0/amount=1.5", "edit/0/layers=0-3"])
    assert state.edits[0].amount == 1.5 and state.edits[0].rows == (0, 3)
    with pytest.raises(ParamError, match="edit/0/amount: must be within -5..5"):
        registry.set(state, "edit/0/amount", 9)


def test_set_gives_the_image_of_the_dedicated_flags(tmp_path, capsys):
    mixed = State().with_mix(10, [3], 1.0)
    (tmp_path / "s.json").write_text(mixed.dumps())
    assert main(["generate", "--seeds", "5", "--trunc", "0.5", "--state", str(tmp_path / "s.json"),
                 "--outdir", str(tmp_path / "flags")]) == 0
    assert main(["generate", "--seeds", "5", "--set", "psi=0.5", "--set", "mix/3=1",
                 "--outdir", str(tmp_path / "set")]) == 0
    a = np.asarray(Image.open(tmp_path / "flags" / "seed0005.png"))
    b = np.asarray(Image.open(tmp_path / "set" / "seed0005.png"))
    assert np.array_equal(a, b)
    plain = np.asarray(Image.open(_generate(tmp_path / "plain", ["--seeds", "5"])))
    assert not np.array_equal(a, plain)


def _generate(outdir, args):
    assert main(["generate", *args, "--outdir", str(outdir)]) == 0
    return outdir / "seed0005.png"


@pytest.mark.parametrize("args, message", [
    (["--set", "psi=7"], "psi: must be within -1..2, got '7'"),
    (["--set", "nope=1"], "nope: unknown parameter"),
    (["--set", "psi"], "psi: expected ADDRESS=VALUE"),
    (["--trunc", "50"], "--trunc 50: must be within -1..2"),
    (["--trunc-cutoff", "99"], "--trunc-cutoff 99: must be within 0..10"),
    (["--class", "3"], "--class 3: this model is not conditional"),
])
def test_bad_values_are_one_line_exit_2(tmp_path, capsys, args, message):
    assert main(["generate", "--seeds", "1", *args, "--outdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_params_json_lists_every_address(capsys):
    assert main(["params", str(FIXTURES / "sg3t-32.pkl"), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    sg3 = load_model(FIXTURES / "sg3t-32.pkl").generator
    addresses = [p["address"] for p in listing["params"]]
    assert addresses.count("rotate") == 1
    assert sum(a.startswith("mix/") for a in addresses) == sg3.num_ws
    psi = next(p for p in listing["params"] if p["address"] == "psi")
    assert psi == {"address": "psi", "kind": "continuous", "label": "Truncation psi", "group": "truncation",
                   "default": 1.0, "low": -1.0, "high": 2.0}
