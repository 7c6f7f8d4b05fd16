"""``explorer grid`` contact sheets and the batched seed render behind them."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.engine.contact_sheet import contact_sheet, sheet_layout
from explorer.engine.favourites import Favourite, write_favourites
from explorer.engine.recipe import read_recipe
from explorer.engine.render import Renderer
from explorer.engine.state import MAX_SEED, Latent, State
from explorer.formats import BUNDLED_MODEL, load_model

SG2 = Path(__file__).parent / "fixtures" / "nvidia" / "sg2-skip-32.pkl"


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL)


def test_sheet_tiles_are_the_images_generate_writes(tmp_path, bundled):
    directions = tmp_path / "d.npz"
    assert run_cli("directions", "examples", "--positive", "1,2", "--negative", "3", "--output", directions) == 0
    flags = ["--trunc", "0.6", "--noise-mode", "random", "--noise-seed", "5", "--set", "mix/2=1",
             "--edit", f"{directions}:0=1.5"]
    seeds = [7, 8, 9, 10, 4294967295]
    sheet = tmp_path / "sheet.png"
    assert run_cli("grid", "--seeds", "7-10,4294967295", "--cols", "3", *flags, "--output", sheet) == 0
    assert run_cli("generate", "--seeds", "7-10,4294967295", *flags, "--outdir", tmp_path / "gen") == 0

    image = pixels(sheet)
    size = bundled.generator.img_resolution
    layout = sheet_layout(len(seeds), 3, size, size)
    assert image.shape[:2] == (layout.size[1], layout.size[0]) and layout.rows == 2
    for index, seed in enumerate(seeds):
        left, top, right, bottom = layout.tile_box(index)
        assert np.array_equal(image[top:bottom, left:right], pixels(tmp_path / "gen" / f"seed{seed:04d}.png")), seed
        label = image[bottom:bottom + layout.label_height, left:right]
        assert label.max() > 200  # the seed number is drawn under its tile
    # the sheet carries the settings, with seed A at the first seed
    recipe = read_recipe(sheet)
    tile_recipe = read_recipe(tmp_path / "gen" / "seed0007.png")
    assert recipe.state == tile_recipe.state and recipe.model_sha256 == bundled.sha256
    assert recipe.state.psi == 0.6 and recipe.state.mix[2] == 1.0 and len(recipe.state.edits) == 1


def test_batches_use_the_mapping_cache_and_stay_within_one_level(bundled):
    state = State(psi=0.7)
    single = Renderer(bundled)
    batched = Renderer(bundled)
    expected = {seed: single.render(state.replace(a=Latent(seed=seed))) for seed in range(6)}
    got = dict(batched.render_seeds(state, range(6), batch=4))
    assert list(got) == list(range(6))
    assert set(batched.mapping_cache._cache) == {(seed, 0) for seed in range(6)}
    for seed, image in got.items():
        assert np.abs(image.astype(int) - expected[seed]).max() <= 1  # torch sums a batch in another order
    assert all(np.array_equal(image, expected[seed]) for seed, image in single.render_seeds(state, range(6)))


def test_random_noise_renders_each_tile_as_its_own_render(bundled):
    state = State(noise_mode="random", noise_seed=3)
    renderer = Renderer(bundled)
    for seed, image in renderer.render_seeds(state, [1, 2, 3], batch=3):
        assert np.array_equal(image, renderer.render(state.replace(a=Latent(seed=seed))))


def test_sheet_with_fewer_tiles_than_columns():
    renderer = Renderer(load_model(SG2))
    sheet = contact_sheet(renderer, State(), [4, 5], cols=10)
    layout = sheet_layout(2, 10, 32, 32)
    assert layout.cols == 2 and sheet.shape == (layout.size[1], 64, 3)


def test_grid_from_one_favourite(tmp_path, bundled):
    favourites = tmp_path / "fav.json"
    liked = State(a=Latent(seed=3), psi=0.5, noise_mode="none")
    write_favourites(favourites, [Favourite("calm", liked, model_file="default.safetensors",
                                            model_sha256=bundled.sha256)])
    sheet = tmp_path / "sheet.png"
    assert run_cli("grid", "--state", f"{favourites}#calm", "--seeds", "1-2", "--output", sheet) == 0
    assert read_recipe(sheet).state == liked.replace(a=Latent(seed=1))


@pytest.mark.parametrize("seeds, message", [
    ("4294967290-4294967296", f"seed 4294967296 is out of range 0..{MAX_SEED}"),
    ("99999999999", "out of range"),
    ("", "empty seed list"),
    (" , ", "empty seed list"),
    ("9-3", "runs backwards"),
    ("0-200000", "too long"),
    ("a-b", "is not a number"),
])
def test_bad_seed_ranges_are_one_line_errors(tmp_path, capsys, seeds, message):
    sheet = tmp_path / "sheet.png"
    assert run_cli("grid", "--network", SG2, "--seeds", seeds, "--output", sheet) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not sheet.exists()


def test_grid_never_overwrites_silently(tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(b"keep")
    assert run_cli("grid", "--network", SG2, "--seeds", "0-1", "--output", sheet) == 2
    assert "already exists" in capsys.readouterr().err and sheet.read_bytes() == b"keep"
    assert run_cli("grid", "--network", SG2, "--seeds", "0-1", "--output", sheet, "--force") == 0
    assert read_recipe(sheet).state == State(a=Latent(seed=0))
