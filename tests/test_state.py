"""The state object: validation, per-row reading, JSON round trip."""

import json

import pytest

from explorer.engine.state import Latent, State
from explorer.errors import StateError


def test_defaults_round_trip():
    state = State()
    assert State.loads(state.dumps()) == state
    assert json.loads(state.dumps())["version"] == 2


def test_full_round_trip():
    state = State(
        a=Latent(seed=2**32 - 1, offset=(0.25, -0.5)),
        b=Latent(w_plus=((0.5, 1.0), (1.5, 2.0))),
        class_idx=3,
        mix=(0.0, 0.5, 1.0),
        psi=0.7,
        cutoff=4,
        layer_psi=(None, 0.3),
        noise_mode="random",
        noise_seed=12,
        noise_strength=0.5,
        translate=(0.2, -0.1),
        rotate=30.0,
    )
    again = State.loads(state.dumps())
    assert again == state
    assert hash(again) == hash(state)  # immutable and hashable: usable as a cache key


def test_row_psis_cutoff_and_overrides():
    state = State(psi=0.5, cutoff=2, layer_psi=(None, None, None, 0.9))
    assert state.row_psis(5) == (0.5, 0.5, 1.0, 0.9, 1.0)
    assert State(psi=0.7).row_psis(3) == (0.7, 0.7, 0.7)


def test_mix_weights_pad_and_cut():
    state = State(mix=(1.0, 0.5))
    assert state.mix_weights(4) == (1.0, 0.5, 0.0, 0.0)
    assert state.mix_weights(1) == (1.0,)
    assert State().with_mix(4, [0, 2], 1.0).mix == (1.0, 0.0, 1.0, 0.0)


def test_swap():
    state = State(a=Latent(seed=5), b=Latent(seed=9), mix=(1.0,))
    swapped = state.swapped()
    assert (swapped.a.seed, swapped.b.seed, swapped.mix) == (9, 5, (1.0,))


@pytest.mark.parametrize(
    "change",
    [
        {"psi": float("nan")},
        {"noise_mode": "loud"},
        {"mix": (1.5,)},
        {"cutoff": -1},
        {"class_idx": -2},
        {"noise_seed": 2**32},
    ],
)
def test_bad_values_raise(change):
    with pytest.raises(ValueError):
        State(**change)


def test_bad_seed_raises():
    with pytest.raises(ValueError):
        Latent(seed=-1)
    with pytest.raises(ValueError):
        Latent(seed=2**32)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not valid JSON"),
        ('{"version": 99}', "unsupported state version"),
        ('{"version": 1, "colour": 3}', "unknown state field"),
        ('{"version": 1, "psi": "high"}', "psi must be a finite number"),
        ('{"version": 1, "a": {"seed": -4}}', "seed must be an integer"),
    ],
)
def test_bad_json_is_one_line_error(text, message, tmp_path):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(StateError) as info:
        State.load(path)
    assert message in str(info.value)
    assert "state.json" in str(info.value)
    assert "\n" not in str(info.value)
