"""The command line end to end, on the fixture models."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.engine.recipe import read_recipe
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.formats import load_model

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"
SG2 = FIXTURES / "sg2-skip-32.pkl"
COND = FIXTURES / "sg2-cond-32.pkl"


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def png_pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_info_json(capsys):
    assert run_cli("info", SG2, "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["num_ws"] == 8 and info["z_dim"] == 48 and info["w_dim"] == 64 and info["c_dim"] == 0
    assert info["source_format"] == "nvidia-pickle"
    assert info["mapping_layers"] == 2
    assert [row["w_index"] for row in info["w_rows"]] == list(range(8))
    assert info["w_rows"][0]["resolution"] == 4 and info["w_rows"][-1]["resolution"] == 32


def test_info_text(capsys):
    assert run_cli("info", COND) == 0
    out = capsys.readouterr().out
    assert "z / w / c dim: 64 / 64 / 4" in out and "translate and rotate are ignored" in out


def test_generate_matches_engine_and_carries_recipe(tmp_path):
    assert run_cli("generate", "--network", SG2, "--seeds", "0-1,5", "--trunc", "0.7", "--save-ws", "--outdir", tmp_path) == 0
    renderer = Renderer(load_model(SG2))
    for seed in (0, 1, 5):
        state = State(a=Latent(seed=seed), psi=0.7)
        png = tmp_path / f"seed{seed:04d}.png"
        assert np.array_equal(png_pixels(png), renderer.render(state))
        assert read_recipe(png).state == state
        ws = np.load(tmp_path / f"seed{seed:04d}.npy")
        assert ws.dtype == np.float32 and ws.shape == (8, 64)
        assert np.array_equal(ws, renderer.wplus(state).numpy())


def test_generate_16_bit(tmp_path):
    assert run_cli("generate", "--network", SG2, "--seeds", "3", "--bit-depth", "16", "--outdir", tmp_path) == 0
    png = (tmp_path / "seed0003.png").read_bytes()
    assert png[24] == 16  # IHDR bit depth


def test_generate_refuses_overwrite(tmp_path, capsys):
    assert run_cli("generate", "--network", SG2, "--seeds", "2", "--outdir", tmp_path) == 0
    assert run_cli("generate", "--network", SG2, "--seeds", "2", "--outdir", tmp_path) == 2
    assert "already exists" in capsys.readouterr().err
    assert run_cli("generate", "--network", SG2, "--seeds", "2", "--outdir", tmp_path, "--force") == 0


def test_generate_conditional_needs_class(tmp_path, capsys):
    assert run_cli("generate", "--network", COND, "--seeds", "0", "--outdir", tmp_path) == 2
    assert "--class" in capsys.readouterr().err
    assert run_cli("generate", "--network", COND, "--seeds", "0", "--class", "2", "--outdir", tmp_path) == 0


def test_generate_projected_w(tmp_path):
    renderer = Renderer(load_model(SG2))
    w = np.stack([renderer.wplus(State(a=Latent(seed=s))).numpy() for s in (4, 9)])
    np.savez(tmp_path / "projected_w.npz", w=w)
    out = tmp_path / "out"
    assert run_cli("generate", "--network", SG2, "--projected-w", tmp_path / "projected_w.npz", "--outdir", out) == 0
    assert np.array_equal(png_pixels(out / "proj01.png"), renderer.render(State(a=Latent(seed=9))))


def test_generate_from_state_file(tmp_path):
    state = State(a=Latent(seed=3), b=Latent(seed=8), mix=(0, 0, 0, 0, 1, 1, 1, 1), psi=0.5, noise_mode="none")
    (tmp_path / "s.json").write_text(state.dumps())
    assert run_cli("generate", "--network", SG2, "--state", tmp_path / "s.json", "--outdir", tmp_path) == 0
    assert np.array_equal(png_pixels(tmp_path / "seed0003.png"), Renderer(load_model(SG2)).render(state))


def test_mix_grid(tmp_path):
    assert run_cli("mix", "--network", SG2, "--rows", "85,100", "--cols", "55,821", "--styles", "0-3", "--outdir", tmp_path) == 0
    grid = png_pixels(tmp_path / "grid.png")
    assert grid.shape == (3 * 32, 3 * 32, 3)
    assert not grid[:32, :32].any()  # black corner
    renderer = Renderer(load_model(SG2))
    mixed = State(a=Latent(seed=85), b=Latent(seed=821)).with_mix(8, range(4), 1.0)
    assert np.array_equal(png_pixels(tmp_path / "85-821.png"), renderer.render(mixed))
    assert np.array_equal(grid[32:64, 64:96], renderer.render(mixed))
    assert np.array_equal(grid[:32, 32:64], renderer.render(State(a=Latent(seed=55))))
    assert (tmp_path / "100-100.png").exists()


def test_convert_round_trip(tmp_path, capsys):
    out = tmp_path / "model.safetensors"
    assert run_cli("convert", SG2, out) == 0
    converted = load_model(out)
    assert converted.source_format == "native"
    assert converted.provenance["source_file"] == SG2.name
    assert converted.provenance["source_format"] == "nvidia-pickle"
    state = State(a=Latent(seed=7), psi=0.6)
    assert np.array_equal(Renderer(converted).render(state), Renderer(load_model(SG2)).render(state))
    assert run_cli("convert", SG2, out) == 2  # no silent overwrite
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("network", [SG2, FIXTURES / "sg3t-32.pkl"])
def test_bench_json(capsys, network):
    assert run_cli("bench", "--network", network, "--iters", "1", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("ms_per_image", "gflop_per_image", "gflops", "gflops_ceiling", "efficiency"):
        assert result[key] > 0


def test_stylegan3_nominal_flops_count_convolutions_and_filters():
    synthesis = load_model(FIXTURES / "sg3t-32.pkl").generator.synthesis
    convs = sum(2 * l.out_channels * l.in_channels * l.conv_kernel**2 * (l.in_size + l.conv_kernel - 1) ** 2
                for l in (getattr(synthesis, n) for n in synthesis.layer_names))
    assert convs < synthesis.nominal_flops() < 4 * convs  # filters add work, but less than the convolutions


@pytest.mark.parametrize(
    "args, message",
    [
        (["info", "missing.pkl"], "missing.pkl: file not found"),
        (["generate", "--network", SG2, "--seeds", "x", "--outdir", "o"], "bad seed list"),
        (["generate", "--network", SG2, "--seeds", "4294967296", "--outdir", "o"], "out of range"),
        (["mix", "--network", SG2, "--rows", "1", "--cols", "2", "--styles", "0-20", "--outdir", "o"], "out of range"),
        (["convert", SG2, "out.bin"], "must end in .safetensors or .pt"),
    ],
)
def test_errors_are_one_line_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "explorer", *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_corrupt_model_is_one_line(tmp_path):
    bad = tmp_path / "broken.pkl"
    bad.write_bytes(SG2.read_bytes()[:5000])
    proc = subprocess.run([sys.executable, "-m", "explorer", "info", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "broken.pkl" in proc.stderr and "Traceback" not in proc.stderr


def test_output_into_a_closed_pipe_stops_quietly():
    """``explorer info | head -1``: the reader leaves early; no BrokenPipeError message."""
    proc = subprocess.Popen([sys.executable, "-m", "explorer", "info", str(SG2)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command has written anything (it is still starting up)
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, 141)
    assert stderr == ""


def test_mix_styles_by_group_name_are_the_windows_groups(tmp_path):
    from explorer.engine.layers import rows_in_group, style_rows
    from explorer.engine.recipe import read_recipe
    from explorer.formats import BUNDLED_MODEL, load_model

    g = load_model(BUNDLED_MODEL).generator
    assert main(["mix", "--rows", "1", "--cols", "2", "--styles", "coarse+fine", "--outdir", str(tmp_path)]) == 0
    rows = style_rows(g.layer_infos(), g.num_ws)
    expected = sorted(rows_in_group(rows, "coarse") + rows_in_group(rows, "fine"))
    mix = read_recipe(tmp_path / "1-2.png").state.mix_weights(g.num_ws)
    assert [i for i, m in enumerate(mix) if m == 1.0] == expected


def test_a_usage_mistake_is_one_line_pointing_to_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["generate", "--seeds"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "explorer generate: error: argument --seeds: expected one argument (see explorer generate --help)"


def test_an_object_array_w_plus_is_refused_without_numpys_pickle_advice(tmp_path, capsys):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["generate", "--projected-w", str(tmp_path / "obj.npy"), "--outdir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "holds Python objects" in err and "allow_pickle" not in err


def test_gui_screenshot_never_overwrites_silently(tmp_path, capsys):
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"keep me")
    assert main(["gui", "--screenshot", str(shot)]) == 2
    assert "already exists (use --force to overwrite)" in capsys.readouterr().err
    assert shot.read_bytes() == b"keep me"


def test_an_outdir_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    assert main(["generate", "--seeds", "1", "--outdir", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err.strip()
    assert "taken" in err and "Traceback" not in err and "\n" not in err


def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path, capsys, monkeypatch):
    import errno

    import explorer.fileio

    out = tmp_path / "out"
    assert main(["generate", "--seeds", "1", "--outdir", str(out)]) == 0
    before = (out / "seed0001.png").read_bytes()

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(explorer.fileio.os, "fsync", full)
    assert main(["generate", "--seeds", "1", "--trunc", "0.5", "--outdir", str(out), "--force"]) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "\n" not in err
    assert (out / "seed0001.png").read_bytes() == before and sorted(p.name for p in out.iterdir()) == ["seed0001.png"]
