"""Hostile and damaged state, session, timeline and recipe files: one StateError naming the file, always.

Seeded mutants of real files (byte flips, truncations, splices, re-typed fields) and crafted cases
(deep nesting, NaN, huge numbers, UTF-16, wrong types at every field); bounded to a few seconds.
"""

import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.engine.latents import load_wplus_file
from explorer.engine.recipe import encode_png, read_recipe
from explorer.engine.session import load_session
from explorer.engine.state import Edit, Latent, State
from explorer.errors import ExplorerError, StateError
from explorer.video.timeline import Keyframe, Timeline

V1 = Path(__file__).parent / "fixtures" / "v1"
RICH = State(a=Latent(seed=3, offset=(0.2, 0.0)), mix=(0.0, 1.0, 0.5), psi=0.7, cutoff=4, layer_psi=(None, 0.3),
             edits=(Edit(vector=(0.6, 0.8), sigma=2.0, amount=1.0, rows=(0, 1), name="x"),))
LOADERS = {
    "state": (lambda p: State.load(p), RICH.dumps()),
    "session": (load_session, json.dumps({"version": 1, "model": "m.pkl", "state": RICH.to_json(), "timeline": None})),
    "timeline": (Timeline.load, Timeline((Keyframe(RICH), Keyframe(State()))).dumps()),
}


def _refused_cleanly(load, path):
    try:
        load(path)
    except ExplorerError as exc:
        assert "\n" not in str(exc) and path.name in str(exc)


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # deep nesting
    '{"version": 2, "psi": NaN}',
    '{"version": 2, "psi": 1e999}',
    '{"version": 2, "a": {"seed": ' + "9" * 5000 + "}}",
    '{"version": 2, "mix": [' + ",".join(["1"] * 100_000) + "]}",
    '{"version": 2, "edits": [{"vector": [1e308, 1e308]}]}',
    "",
    "null",
])
def test_crafted_files_are_one_line_errors(tmp_path, kind, text):
    load, _ = LOADERS[kind]
    path = tmp_path / f"{kind}.json"
    path.write_text(text)
    _refused_cleanly(load, path)


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_utf16_files_say_so(tmp_path, kind):
    load, good = LOADERS[kind]
    path = tmp_path / f"{kind}.json"
    path.write_bytes(good.encode("utf-16"))
    with pytest.raises(StateError, match="not UTF-8"):
        load(path)


def _retyped(value, rng):
    """``value`` with one field somewhere replaced by a value of another type."""
    replacements = [None, True, -1, 2**70, 1.5, "x", [], {}, [None], {"seed": "1"}]
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        return {**value, key: _retyped(value[key], rng) if rng.random() < 0.6 else rng.choice(replacements)}
    if isinstance(value, list) and value:
        i = rng.randrange(len(value))
        return value[:i] + [_retyped(value[i], rng) if rng.random() < 0.6 else rng.choice(replacements)] + value[i + 1:]
    return rng.choice(replacements)


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_retyped_fields_are_one_line_errors(tmp_path, kind):
    load, good = LOADERS[kind]
    rng = random.Random(kind)
    path = tmp_path / f"{kind}.json"
    for _ in range(300):
        path.write_text(json.dumps(_retyped(json.loads(good), rng)))
        _refused_cleanly(load, path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(LOADERS)), cut=st.integers(0, 10_000), flips=st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8))
def test_mutated_bytes_are_one_line_errors(tmp_path, kind, cut, flips):
    load, good = LOADERS[kind]
    data = bytearray(good.encode())
    for where, byte in flips:
        data[where % len(data)] = byte
    path = tmp_path / f"{kind}.json"
    path.write_bytes(bytes(data[: max(1, cut % (len(data) + 1))]))
    _refused_cleanly(load, path)


def test_v1_fixtures_mutated_still_refuse_cleanly(tmp_path):
    rng = random.Random(1)
    good = (V1 / "session-v1.json").read_bytes()
    path = tmp_path / "session.json"
    for _ in range(100):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        _refused_cleanly(load_session, path)


def test_damaged_recipe_chunks_are_one_line_errors(tmp_path):
    image = np.zeros((4, 4, 3), np.uint8)
    path = tmp_path / "r.png"
    for text in ["{", "[" * 50_000, '{"model": 1, "state": {}}', '{"model": {}, "state": {"version": 2, "psi": NaN}}',
                 json.dumps({"model": {}, "state": "x"})]:
        from PIL import PngImagePlugin, Image
        info = PngImagePlugin.PngInfo()
        info.add_itxt("stylegan-explorer", text)
        Image.fromarray(image).save(path, pnginfo=info)
        _refused_cleanly(read_recipe, path)
    good = encode_png(image)
    rng = random.Random(2)
    for _ in range(100):
        data = bytearray(good)
        data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data[: rng.randrange(1, len(data) + 1)]))
        _refused_cleanly(read_recipe, path)


def test_damaged_w_plus_files_are_one_line_errors(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, w=np.zeros((1, 4, 8), np.float32))
    good = path.read_bytes()
    rng = random.Random(3)
    for _ in range(150):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data[: rng.randrange(1, len(data) + 1)]))
        _refused_cleanly(load_wplus_file, path)
    huge = tmp_path / "huge.npy"
    huge.write_bytes(b"\x93NUMPY\x01\x00" + (118).to_bytes(2, "little")
                     + b"{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 18, 512), }".ljust(117) + b"\n")
    _refused_cleanly(load_wplus_file, huge)
