"""Favourites files: round trip, favourites of another model, hostile files, and ``generate --state``."""

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.engine.favourites import (
    Favourite,
    favourites_to_json,
    fit_favourite,
    read_favourites,
    thumbnail_png,
    unique_name,
    write_favourites,
)
from explorer.engine.recipe import encode_png, read_recipe
from explorer.engine.render import Renderer
from explorer.engine.state import Edit, Latent, State
from explorer.errors import StateError
from explorer.formats import load_model

SG2 = Path(__file__).parent / "fixtures" / "nvidia" / "sg2-skip-32.pkl"  # num_ws 8, w_dim 64


def run_cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def sg2():
    return load_model(SG2)


def rich_state() -> State:
    """A whole state, not only a seed: mix, row psi, noise and an edit."""
    return State(a=Latent(seed=11), b=Latent(seed=4, offset=(0.25, 0.0)), mix=(0, 0, 1, 1, 0.5), psi=0.7,
                 layer_psi=(None, 0.4), noise_mode="random", noise_seed=9,
                 edits=(Edit(vector=tuple(np.linspace(-1, 1, 64)), sigma=2.0, amount=1.5, rows=(0, 3), name="pc0"),))


def test_round_trip_keeps_everything(tmp_path, sg2):
    thumb = thumbnail_png(Renderer(sg2).render(rich_state()))
    favourites = [
        Favourite("red hair", rich_state(), tags=("portrait", "warm"), note="try psi 0.6\nlater",
                  model_file=SG2.name, model_sha256=sg2.sha256, thumbnail=thumb),
        Favourite("plain", State(a=Latent(seed=5))),
    ]
    path = tmp_path / "fav.json"
    write_favourites(path, favourites)
    assert read_favourites(path) == tuple(favourites)
    with pytest.raises(FileExistsError):
        write_favourites(path, favourites[:1])
    assert len(read_favourites(path)) == 2  # nothing lost


def test_thumbnails_keep_small_models_whole_and_shrink_big_ones():
    small = np.random.RandomState(0).randint(0, 255, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(thumbnail_png(small)))), small)
    big = np.zeros((1024, 512, 3), np.uint8)
    assert Image.open(io.BytesIO(thumbnail_png(big))).size == (128, 256)


def test_unique_names():
    assert unique_name("seed 3", []) == "seed 3"
    assert unique_name("seed 3", ["seed 3", "seed 3 (2)"]) == "seed 3 (3)"
    assert unique_name("  \n ", []) == "favourite"


def test_favourite_of_another_model_keeps_its_seeds_and_says_what_needs_the_old_model(sg2):
    foreign_wplus = tuple(tuple([0.1] * 512) for _ in range(18))
    state = State(a=Latent(seed=3, w_plus=foreign_wplus), b=Latent(seed=8), psi=0.5)
    favourite = Favourite("ffhq face", state, model_file="ffhq.pkl", model_sha256="0" * 64)
    fitted = fit_favourite(favourite, sg2.generator, sg2.sha256)
    assert fitted.state.a == Latent(seed=3) and fitted.state.b == Latent(seed=8) and fitted.state.psi == 0.5
    assert len(fitted.notes) == 1
    assert "'ffhq face' was saved with ffhq.pkl" in fitted.notes[0] and "does not fit" in fitted.notes[0]

    seeds_only = fit_favourite(Favourite("s", State(a=Latent(seed=2)), model_file="ffhq.pkl",
                                         model_sha256="0" * 64), sg2.generator, sg2.sha256)
    assert seeds_only.state == State(a=Latent(seed=2)) and "its seeds render with this model" in seeds_only.notes[0]
    same = fit_favourite(Favourite("s", rich_state(), model_sha256=sg2.sha256), sg2.generator, sg2.sha256)
    assert same.state == rich_state() and same.notes == ()


def _document(**entry) -> dict:
    base = {"name": "x", "state": State().to_json()}
    return {"format": "stylegan-explorer-favourites", "version": 1, "favourites": [{**base, **entry}]}


def _png(width, height) -> str:
    return base64.b64encode(encode_png(np.zeros((height, width, 3), np.uint8))).decode()


@pytest.mark.parametrize("document, message", [
    ({"version": 2, "a": {}}, "not a favourites file"),
    ([1, 2], "not a favourites file"),
    ({**_document(), "version": 7}, "unsupported favourites version 7"),
    ({**_document(), "favourites": {"x": 1}}, "'favourites' must be a list"),
    (_document(name=""), "favourite 1: name must be"),
    (_document(name=["x"]), "favourite 1: name must be"),
    (_document(tags="warm"), "tags must be a list"),
    (_document(note=5), "note must be a string"),
    (_document(model="ffhq.pkl"), "model must be"),
    (_document(state={"version": 2, "psi": "high"}), "favourite 1: bad state: psi must be a finite number"),
    (_document(state={"version": 9}), "unsupported state version 9"),
    (_document(colour="red"), "unknown field 'colour'"),
    (_document(thumbnail="not base64!"), "thumbnail is not valid base64"),
    (_document(thumbnail=base64.b64encode(b"GIF89a....").decode()), "thumbnail is not a PNG"),
    (_document(thumbnail=base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 30).decode()), "damaged PNG"),
    (_document(thumbnail=_png(2000, 1)), "2000x1, larger than 1024"),
    (_document(thumbnail="A" * (2 << 20)), "at most 512 KB"),
])
def test_hostile_files_are_one_line_errors(tmp_path, document, message):
    path = tmp_path / "fav.json"
    path.write_text(json.dumps(document))
    with pytest.raises(StateError) as error:
        read_favourites(path)
    text = str(error.value)
    assert text.startswith("fav.json: ") and message in text and "\n" not in text


def test_duplicate_names_and_damaged_bytes(tmp_path):
    path = tmp_path / "fav.json"
    twice = favourites_to_json([Favourite("a", State()), Favourite("b", State())])
    twice["favourites"][1]["name"] = "a"
    path.write_text(json.dumps(twice))
    with pytest.raises(StateError, match="favourite 2: the name 'a' is used twice"):
        read_favourites(path)
    path.write_text(json.dumps(_document()), encoding="utf-16")
    with pytest.raises(StateError, match="not UTF-8"):
        read_favourites(path)
    path.write_text(json.dumps(_document()).replace('"psi": 1.0', '"psi": NaN'))
    with pytest.raises(StateError, match="not valid JSON"):
        read_favourites(path)


def test_generate_renders_every_favourite_or_one_by_name(tmp_path, capsys, sg2):
    path = tmp_path / "fav.json"
    wide = tuple(tuple([0.0] * 512) for _ in range(18))
    favourites = [
        Favourite("red hair / v2", rich_state(), model_file=SG2.name, model_sha256=sg2.sha256),
        Favourite("old model", State(a=Latent(seed=6, w_plus=wide)), model_file="ffhq.pkl", model_sha256="1" * 64),
    ]
    write_favourites(path, favourites)
    out = tmp_path / "out"
    assert run_cli("generate", "--network", SG2, "--state", path, "--outdir", out) == 0
    printed = capsys.readouterr().out
    assert "note: favourite 'old model' was saved with ffhq.pkl" in printed
    renderer = Renderer(sg2)
    first, second = out / "fav000-red-hair-v2.png", out / "fav001-old-model.png"
    assert np.array_equal(np.asarray(Image.open(first).convert("RGB")), renderer.render(rich_state()))
    assert read_recipe(first).state == rich_state()
    assert read_recipe(second).state == State(a=Latent(seed=6))  # the seed still works

    assert run_cli("generate", "--network", SG2, "--state", f"{path}#old model", "--trunc", "0.5",
                   "--outdir", tmp_path / "one") == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["fav000-old-model.png"]
    assert read_recipe(tmp_path / "one" / "fav000-old-model.png").state == State(a=Latent(seed=6), psi=0.5)

    assert run_cli("generate", "--network", SG2, "--state", f"{path}#nobody", "--outdir", tmp_path / "x") == 2
    err = capsys.readouterr().err
    assert "fav.json: no favourite named 'nobody' (it has 'red hair / v2', 'old model')" in err
    assert run_cli("generate", "--network", SG2, "--state", path, "--seeds", "1", "--outdir", tmp_path / "x") == 2
    assert "leave out --seeds" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
