"""Latent directions: SeFa, PCA, example seeds, sigmas, the direction file, imports, bad input, the CLI."""

import numpy as np
import pytest
import torch

from explorer.cli import main
from explorer.engine.directions import (DirectionSet, example_direction, import_directions, load_directions,
                                        orthogonalize, pca_directions, save_directions, sefa_directions, w_moments)
from explorer.engine.jobs import JobCancelled, JobContext
from explorer.engine.latents import map_z, seed_to_z
from explorer.engine.recipe import read_recipe
from explorer.errors import StateError, UsageError
from explorer.formats import BUNDLED_MODEL, load_model

SG3 = "tests/fixtures/nvidia/sg3t-32.pkl"
SAMPLES = 2_000


@pytest.fixture(scope="module")
def model():
    return load_model(BUNDLED_MODEL)


@pytest.fixture(scope="module")
def sefa(model):
    return sefa_directions(model, (0, 3), components=8, sigma_samples=SAMPLES)


def mapped_w(generator, n, seed=0):
    z = np.random.RandomState(seed).randn(n, generator.z_dim)
    with torch.no_grad():
        return generator.mapping(torch.from_numpy(z).float(), None)[:, 0].double().numpy()


def test_sefa_matches_numpy_svd_of_the_styled_affines(model, sefa):
    # Rows 0-3 of the bundled 64 px model style these layers (b4 has no conv0; toRGB shares the next row).
    names = ["b4.conv1", "b4.torgb", "b8.conv0", "b8.conv1", "b8.torgb", "b16.conv0"]
    a = np.concatenate([model.generator.synthesis.get_submodule(n).affine.weight.detach().double().numpy()
                        for n in names])
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    _, singular, vt = np.linalg.svd(a)
    for k in range(3):
        assert abs(float(vt[k] @ sefa.vectors[k])) >= 0.99
    assert np.allclose(sefa.parameters["eigenvalues"][:3], singular[:3] ** 2, rtol=1e-6)
    assert sefa.rows(0) == (0, 3) and sefa.method == "sefa" and sefa.model_sha256 == model.sha256


def test_sefa_on_stylegan3_leaves_the_input_transform_out():
    sg3 = load_model(SG3)
    dset = sefa_directions(sg3, (0, sg3.generator.num_ws - 1), components=4, sigma_samples=SAMPLES)
    assert dset.vectors.shape == (4, sg3.generator.w_dim)
    assert np.allclose(np.linalg.norm(dset.vectors, axis=1), 1, atol=1e-5)


def test_sigmas_are_the_std_of_projected_mapped_samples(model, sefa):
    w = mapped_w(model.generator, SAMPLES)
    expected = (w @ sefa.vectors.astype(np.float64).T).std(axis=0)
    assert np.allclose(sefa.sigmas, expected, rtol=1e-4)


def test_pca_components_decrease_in_variance_and_report_progress(model):
    seen = []
    dset = pca_directions(model, samples=SAMPLES, components=5, ctx=JobContext(lambda f, m: seen.append(f)))
    assert np.allclose(dset.vectors @ dset.vectors.T, np.eye(5), atol=1e-5)
    assert all(a >= b for a, b in zip(dset.sigmas, dset.sigmas[1:]))
    w = mapped_w(model.generator, SAMPLES)
    assert np.allclose(dset.sigmas, (w @ dset.vectors.astype(np.float64).T).std(axis=0), rtol=1e-4)
    top = np.linalg.eigh(np.cov(w.T, bias=True))[1][:, -1]
    assert abs(float(top @ dset.vectors[0])) >= 0.99
    assert seen[-1] == 1.0


def test_pca_stops_when_cancelled(model):
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(JobCancelled):
        pca_directions(model, samples=SAMPLES, ctx=ctx)


def test_w_moments_are_chunk_independent(model):
    mean_a, cov_a = w_moments(model.generator, 1_000, chunk=1_000)
    mean_b, cov_b = w_moments(model.generator, 1_000, chunk=300)
    assert np.allclose(mean_a, mean_b) and np.allclose(cov_a, cov_b, atol=1e-9)


def test_example_direction_is_the_normalised_difference_of_means(model):
    g = model.generator
    dset = example_direction(model, [1, 5, 9], [2, 4, 8], name="smile", sigma_samples=SAMPLES)
    mean = lambda seeds: map_z(g, np.concatenate([seed_to_z(s, g.z_dim) for s in seeds]), 0)[:, 0].double().mean(0)
    expected = (mean([1, 5, 9]) - mean([2, 4, 8])).numpy()
    assert np.allclose(dset.vectors[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert dset.names == ("smile",) and dset.rows(0) == (0, g.num_ws - 1)


def test_gram_schmidt_removes_the_other_directions():
    others = np.array([[1.0, 0, 0, 0], [1.0, 1, 0, 0], [2.0, 2, 0, 0]])
    v = orthogonalize(np.array([1.0, 1, 1, 0]), others)
    assert np.allclose(v, [0, 0, 1, 0])
    with pytest.raises(UsageError):
        orthogonalize(np.array([3.0, 1, 0, 0]), others)


def test_direction_file_round_trip(tmp_path, sefa, model):
    path = tmp_path / "d.npz"
    save_directions(path, sefa)
    with np.load(path, allow_pickle=False) as data:
        assert data["names"].dtype.kind == "U" and data["vectors"].dtype == np.float32
    back = load_directions(path, model.generator)
    assert np.array_equal(back.vectors, sefa.vectors) and np.array_equal(back.sigmas, sefa.sigmas)
    assert back.names == sefa.names and back.rows(2) == sefa.rows(2)
    assert back.parameters == sefa.parameters and back.model_sha256 == model.sha256
    assert back.content_hash == sefa.content_hash
    with pytest.raises(FileExistsError):
        save_directions(path, sefa)


def test_import_ganspace_npz(tmp_path, model):
    comp = np.linalg.qr(np.random.RandomState(0).randn(256, 3))[0].T.reshape(3, 1, 256)
    path = tmp_path / "ganspace.npz"
    np.savez(path, lat_comp=comp.astype(np.float32), lat_stdev=np.array([3.0, 2.0, 1.0]), lat_mean=np.zeros(256))
    dset = import_directions(path, model, sigma_samples=SAMPLES)
    assert np.allclose(dset.vectors, comp[:, 0], atol=1e-6) and np.allclose(dset.sigmas, [3, 2, 1])


@pytest.mark.parametrize("shape", [(1, 256), (4, 256)])
def test_import_npy_measures_sigma(tmp_path, model, shape):
    vectors = np.random.RandomState(1).randn(*shape) * 5
    path = tmp_path / "boundary.npy"
    np.save(path, vectors)
    dset = import_directions(path, model, rows=(2, 5), sigma_samples=SAMPLES)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert np.allclose(dset.vectors, unit, atol=1e-6) and dset.rows(0) == (2, 5)
    w = mapped_w(model.generator, SAMPLES)
    assert np.allclose(dset.sigmas, (w @ unit.T).std(axis=0), rtol=1e-4)


def test_import_rosinality_factor_takes_columns(tmp_path, model):
    eigvec = torch.linalg.qr(torch.randn(256, 256, generator=torch.Generator().manual_seed(0)))[0][:, :5]
    path = tmp_path / "factor.pt"
    torch.save({"ckpt": "x.pt", "eigvec": eigvec}, path)
    dset = import_directions(path, model, sigma_samples=SAMPLES)
    assert np.allclose(dset.vectors, eigvec.T.numpy(), atol=1e-6)


def one_line(exc_info, name):
    text = str(exc_info.value)
    assert "\n" not in text and name in text
    return text


def test_bad_inputs_are_one_line_errors(tmp_path, model, sefa):
    g = model.generator
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.ones((2, 512)))
    with pytest.raises(StateError) as e:
        import_directions(wrong, model)
    assert "256" in one_line(e, "wrong.npy")

    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((1, 256), np.nan))
    with pytest.raises(StateError) as e:
        import_directions(nan, model)
    assert "NaN" in one_line(e, "nan.npy")

    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(StateError) as e:
        import_directions(objects, model)
    assert "object" in one_line(e, "objects.npy")

    rows = tmp_path / "rows.npz"
    save_directions(rows, DirectionSet.build(np.ones((1, 256)), [1.0], ["x"], (0, 20), "examples", {}, ""))
    with pytest.raises(StateError) as e:
        load_directions(rows, g)
    assert "0-9" in one_line(e, "rows.npz")

    corrupt = tmp_path / "corrupt.npz"
    save_directions(corrupt, sefa)
    corrupt.write_bytes(corrupt.read_bytes()[:200])
    with pytest.raises(StateError) as e:
        load_directions(corrupt, g)
    one_line(e, "corrupt.npz")

    pickled = tmp_path / "factor.pt"
    torch.save({"eigvec": torch.eye(256), "evil": object()}, pickled)
    with pytest.raises(StateError) as e:
        import_directions(pickled, model)
    one_line(e, "factor.pt")


def test_cli_sefa_refuses_overwrite_and_bad_rows(tmp_path, capsys):
    out = tmp_path / "d.npz"
    assert main(["directions", "sefa", "--layers", "0-3", "--components", "3", "--output", str(out)]) == 0
    assert len(load_directions(out)) == 3
    assert main(["directions", "sefa", "--output", str(out)]) == 2
    assert main(["directions", "sefa", "--layers", "0-12", "--output", str(tmp_path / "x.npz")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 2 and "already exists" in errors[0] and "0-9" in errors[1]


def test_generate_edit_moves_exactly_the_named_rows(tmp_path, sefa):
    path = tmp_path / "d.npz"
    save_directions(path, sefa)
    common = ["generate", "--seeds", "3", "--save-ws", "--trunc", "0.7"]
    assert main(common + ["--outdir", str(tmp_path / "plain")]) == 0
    assert main(common + ["--edit", f"{path}:1@2-5=-2.5", "--outdir", str(tmp_path / "edited")]) == 0
    difference = np.load(tmp_path / "edited/seed0003.npy") - np.load(tmp_path / "plain/seed0003.npy")
    expected = np.zeros_like(difference)
    expected[2:6] = -2.5 * sefa.sigmas[1] * sefa.vectors[1]
    assert np.allclose(difference, expected, atol=1e-5) and np.abs(difference[2:6]).max() > 0
    edit = read_recipe(tmp_path / "edited/seed0003.png").state.edits[0]
    assert (edit.index, edit.rows, edit.amount, edit.set_hash) == (1, (2, 5), -2.5, sefa.content_hash)
    assert np.allclose(edit.vector, sefa.vectors[1]) and edit.sigma == pytest.approx(float(sefa.sigmas[1]))


def test_generate_edit_bad_index_is_one_line(tmp_path, sefa, capsys):
    path = tmp_path / "d.npz"
    save_directions(path, sefa)
    assert main(["generate", "--seeds", "0", "--edit", f"{path}:99=1", "--outdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "d.npz has directions 0-7" in err


def test_directions_grid_sheet_and_recipe(tmp_path, sefa):
    path = tmp_path / "d.npz"
    save_directions(path, sefa)
    out = tmp_path / "grid.png"
    assert main(["directions", "grid", "--directions", str(path), "--indices", "0,1", "--seeds", "0-1",
                 "--amounts", "-3,0,3", "--output", str(out)]) == 0
    from PIL import Image
    with Image.open(out) as image:
        sheet = np.asarray(image)
    assert sheet.shape[:2] == (4 * 64, 3 * 64)
    left, middle = sheet[:64, :64], sheet[:64, 64:128]
    assert not np.array_equal(left, middle)  # amount -3 differs from amount 0
    state = read_recipe(out).state
    assert [e.index for e in state.edits] == [0, 1] and all(e.amount == 0 for e in state.edits)


@pytest.mark.parametrize("damage", [lambda d: d.pop("vectors"), lambda d: d.update(vectors="!!"),
                                    lambda d: d.update(w_dim=10 ** 9), lambda d: d.update(names=[1]),
                                    lambda d: d["meta"].pop("method")])
def test_a_damaged_set_in_a_session_is_one_line(damage):
    import numpy as np

    from explorer.engine.directions import DirectionSet
    from explorer.errors import StateError

    dset = DirectionSet.build(np.eye(2, 4), [1.0, 1.0], ["a", "b"], (0, 1), "pca", {}, "")
    data = dset.to_json()
    damage(data)
    with pytest.raises(StateError):
        DirectionSet.from_json(data, "session")


def test_the_sets_found_at_open_cover_all_rows_and_each_group():
    import numpy as np

    from explorer.engine.directions import sefa_directions, sefa_sets_at_open
    from explorer.engine.layers import rows_in_group, style_rows
    from explorer.formats import BUNDLED_MODEL, load_model

    model = load_model(BUNDLED_MODEL)
    g = model.generator
    sets = dict(sefa_sets_at_open(model))
    assert list(sets) == ["all rows", "coarse", "middle", "fine"]
    rows = style_rows(g.layer_infos(), g.num_ws)
    for group in ("coarse", "middle", "fine"):
        members = rows_in_group(rows, group)
        assert sets[group].rows(0) == (members[0], members[-1])
    alone = sefa_directions(model, sets["coarse"].rows(0))
    np.testing.assert_allclose(np.abs(np.sum(alone.vectors[:3] * sets["coarse"].vectors[:3], axis=1)), 1.0, atol=1e-5)
    np.testing.assert_allclose(alone.sigmas, sets["coarse"].sigmas, rtol=1e-6)  # the same 10,000 samples
