"""Training end to end on the CPU with the tiny config: run-dir contents, loadable snapshots, exact
resume (bit for bit), SIGKILL then resume, graceful stop by file, two gloo processes, one-line errors.

Runs are a few steps of 16x16 or 32x32 images so the whole file stays well under two minutes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from explorer.cli import main
from explorer.formats import load_model, native
from explorer.train.dataset import make_dataset
from explorer.train.loop import train
from explorer.train.options import TrainOptions
from explorer.train.snapshot import load_resume_state
from tests.test_dataset_tool import make_shapes

REPO = Path(__file__).resolve().parents[1]
RUN_FILES = ("training_options.json", "log.txt", "stats.jsonl", "reals.png", "fakes_init.png", "fakes000000.png",
             "network-snapshot-000000.safetensors", "resume-000000.state.pt")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # here and in the trainers started below


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    base = tmp_path_factory.mktemp("shapes")
    src = make_shapes(base / "src", count=32)
    for res in (16, 32):
        make_dataset(src, base / f"shapes{res}.zip", res, labels="subfolders")
    return base


def _stats(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]


def _only_run(outdir: Path, prefix: str = "") -> Path:
    runs = sorted(p for p in outdir.iterdir() if p.is_dir() and p.name[6:].startswith(prefix))
    return runs[-1]


def test_tiny_run_writes_everything_and_snapshot_loads(shapes, tmp_path, capsys):
    outdir = tmp_path / "runs"
    assert main(["train", "--data", str(shapes / "shapes32.zip"), "--outdir", str(outdir), "--cfg", "tiny",
                 "--kimg", "0.1", "--workers", "0"]) == 0
    run_dir = _only_run(outdir)
    assert run_dir.name == "00000-tiny-shapes32-gpus1-batch32-gamma0.01"
    for name in RUN_FILES + ("finished",):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "train.pid").exists()
    rows = _stats(run_dir)
    assert rows[-1]["Progress/kimg"]["mean"] == pytest.approx(0.128)
    for name in ("Progress/tick", "Progress/augment", "Loss/G/loss", "Loss/D/loss", "Loss/r1_penalty",
                 "Loss/scores/real", "Loss/scores/fake", "Timing/sec_per_kimg", "Timing/total_sec",
                 "Timing/sec_per_tick", "Resources/cpu_mem_gb"):
        assert set(rows[0][name]) == {"num", "mean", "std"}, name
    assert "timestamp" in rows[0]
    options = json.loads((run_dir / "training_options.json").read_text())
    assert options["G_kwargs"]["img_resolution"] == 32 and options["batch_size"] == 32

    model = load_model(run_dir)  # the run directory opens like a model file
    assert model.path.name == "network-snapshot-000000.safetensors"
    img = model.generator.synthesis(model.generator.mapping(torch.randn(2, model.generator.z_dim), torch.zeros(2, 0)))
    assert img.shape == (2, 3, 32, 32) and torch.isfinite(img).all()
    meta, nets = native.read_networks(model.path)
    assert set(nets) == {"G_ema", "G", "D"} and meta["kimg"] == "0.128"
    assert "run directory:" in capsys.readouterr().out


def _tiny16(shapes, outdir, **kw):
    args = dict(data=shapes / "shapes16.zip", outdir=outdir, cfg="tiny", batch=16, tick=0.016, workers=0,
                aug="fixed", p=0.3, seed=5, device="cpu")
    args.update(kw)
    return train(TrainOptions(**args))


def test_resume_is_exact_and_restores_augment_p(shapes, tmp_path):
    outdir = tmp_path / "runs"
    straight = _tiny16(shapes, outdir, kimg=0.064, desc="straight")
    first = _tiny16(shapes, outdir, kimg=0.032, desc="first")
    resumed = train(TrainOptions(data=shapes / "shapes16.zip", outdir=outdir, kimg=0.064, resume=first, desc="resumed"))

    options = json.loads((resumed / "training_options.json").read_text())
    assert options["resume"]["exact"] and Path(options["resume"]["snapshot"]).parent == first
    rows = _stats(resumed)
    assert rows[0]["Progress/kimg"]["mean"] == pytest.approx(0.048)  # continues after 0.032
    assert rows[0]["Progress/tick"]["mean"] == _stats(first)[-1]["Progress/tick"]["mean"] + 1
    a = native.read_networks(straight / "network-snapshot-000000.safetensors")[1]
    b = native.read_networks(resumed / "network-snapshot-000000.safetensors")[1]
    for net in ("G", "G_ema", "D"):
        for name, tensor in a[net][1].items():
            assert torch.equal(tensor, b[net][1][name]), f"{net}.{name} differs after resume"

    # augment p and the optimiser state come back from the resume state
    state_path = first / "resume-000000.state.pt"
    state = load_resume_state(state_path)
    state["augment_p"] = 0.37
    torch.save(state, state_path)
    again = train(TrainOptions(data=shapes / "shapes16.zip", outdir=outdir, kimg=0.048, resume=first, desc="again"))
    assert _stats(again)[0]["Progress/augment"]["mean"] == pytest.approx(0.37)
    assert "resuming exactly" in (again / "log.txt").read_text()


def test_exact_resume_refuses_new_settings_and_fine_tune_takes_them(shapes, tmp_path, capsys):
    outdir = tmp_path / "runs"
    first = _tiny16(shapes, outdir, kimg=0.032, desc="first")
    zip16 = str(shapes / "shapes16.zip")
    # the run's own values are no change; other ones would be ignored by an exact resume, so they are refused
    assert main(["train", "--data", zip16, "--outdir", str(outdir), "--resume", str(first), "--kimg", "0.048",
                 "--gamma", "0.01", "--desc", "same"]) == 0
    assert main(["train", "--data", zip16, "--outdir", str(outdir), "--resume", str(first),
                 "--gamma", "0.5", "--mbstd-group", "2"]) == 2
    err = capsys.readouterr().err
    assert "--gamma 0.5 (the run has 0.01), --mbstd-group 2 (the run has 4)" in err and "--fine-tune" in err
    assert err.count("\n") == 1, err

    assert main(["train", "--data", zip16, "--outdir", str(outdir), "--resume", str(first), "--fine-tune",
                 "--cfg", "tiny", "--batch", "16", "--tick", "0.016", "--kimg", "0.032", "--gamma", "0.5",
                 "--mbstd-group", "2", "--desc", "tuned"]) == 0
    tuned = _only_run(outdir, "tuned")
    options = json.loads((tuned / "training_options.json").read_text())
    assert options["resume"]["exact"] is False and options["resume"]["state"] is None
    assert options["loss_kwargs"]["r1_gamma"] == 0.5
    assert options["D_kwargs"]["mbstd_group_size"] == 2  # not the snapshot's: it shapes no tensor
    assert _stats(tuned)[0]["Progress/kimg"]["mean"] == pytest.approx(0.016)  # a fresh count, not 0.048

    assert main(["train", "--data", zip16, "--outdir", str(outdir), "--fine-tune"]) == 2
    assert "--fine-tune needs --resume" in capsys.readouterr().err
    (first / "network-snapshot-000000.safetensors").unlink()  # a resume state stands for its snapshot
    assert main(["train", "--data", zip16, "--outdir", str(outdir), "--fine-tune", "--resume",
                 str(first / "resume-000000.state.pt")]) == 2
    err = capsys.readouterr().err
    assert "network-snapshot-000000.safetensors) is missing" in err and err.count("\n") == 1, err


def test_sigkill_then_resume_loses_nothing_but_the_tick(shapes, tmp_path):
    outdir = tmp_path / "runs"
    cmd = [sys.executable, "-m", "explorer", "train", "--data", str(shapes / "shapes16.zip"), "--outdir", str(outdir),
           "--cfg", "tiny", "--batch", "16", "--kimg", "50", "--tick", "0.016", "--snap", "1", "--workers", "0"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        state_file = None
        while time.time() < deadline and proc.poll() is None:
            found = list(outdir.glob("*/resume-*.state.pt"))
            if found and list(outdir.glob("*/stats.jsonl")) and len(_stats(found[0].parent)) >= 2:
                state_file = found[0]
                break
            time.sleep(0.2)
        assert state_file is not None, "no resume state appeared"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed = state_file.parent
    assert (killed / "train.pid").exists()  # left behind, with a dead pid
    state = load_resume_state(next(killed.glob("resume-*.state.pt")))
    saved_kimg = state["cur_nimg"] / 1000

    assert main(["train", "--data", str(shapes / "shapes16.zip"), "--outdir", str(outdir), "--resume", str(killed),
                 "--kimg", f"{saved_kimg + 0.032:.3f}"]) == 0
    resumed = _only_run(outdir)
    assert resumed != killed and (resumed / "finished").exists()
    rows = _stats(resumed)
    assert rows[0]["Progress/kimg"]["mean"] == pytest.approx(saved_kimg + 0.016)
    assert rows[-1]["Progress/kimg"]["mean"] == pytest.approx(saved_kimg + 0.032)
    load_model(resumed)


def test_stop_request_file_finishes_tick_and_exits_cleanly(shapes, tmp_path):
    """Also: metrics run at each snapshot with a user-given TorchScript feature network."""
    from tests.test_train_metrics import _StubNet

    outdir = tmp_path / "runs"
    net = tmp_path / "features.pt"
    torch.jit.script(_StubNet()).save(str(net))

    def request_stop():
        deadline = time.time() + 60
        while time.time() < deadline:
            runs = list(outdir.glob("*/stats.jsonl"))
            if runs:
                (runs[0].parent / "stop-request").touch()
                return
            time.sleep(0.1)

    thread = threading.Thread(target=request_stop, daemon=True)
    thread.start()
    run_dir = _tiny16(shapes, outdir, kimg=50, tick=10, metrics=["fid32_full"], feature_net=net)
    thread.join()
    log = (run_dir / "log.txt").read_text()
    assert "stopped on request" in log
    assert not (run_dir / "stop-request").exists() and not (run_dir / "finished").exists()
    assert (run_dir / "network-snapshot-000000.safetensors").exists()
    assert _stats(run_dir)[-1]["Progress/kimg"]["mean"] < 1  # stopped long before the 50 kimg
    lines = (run_dir / "metric-fid32_full.jsonl").read_text().splitlines()
    assert len(lines) == 2  # the tick-0 snapshot and the one on stopping
    assert json.loads(lines[-1])["snapshot_pkl"] == "network-snapshot-000000.safetensors"


def test_sigterm_stops_gracefully(shapes, tmp_path):
    outdir = tmp_path / "runs"
    cmd = [sys.executable, "-m", "explorer", "train", "--data", str(shapes / "shapes16.zip"), "--outdir", str(outdir),
           "--cfg", "tiny", "--batch", "16", "--kimg", "50", "--tick", "10", "--workers", "0"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while time.time() < deadline and not list(outdir.glob("*/stats.jsonl")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run_dir = _only_run(outdir)
    assert "stopped on request" in (run_dir / "log.txt").read_text()
    assert not (run_dir / "train.pid").exists()


def test_two_gloo_processes_conditional(shapes, tmp_path):
    run_dir = _tiny16(shapes, tmp_path / "runs", gpus=2, kimg=0.032, aug="ada", cond=True)
    assert (run_dir / "finished").exists()
    options = json.loads((run_dir / "training_options.json").read_text())
    assert options["num_gpus"] == 2 and options["batch_gpu"] == 8
    assert "2 process(es)" in (run_dir / "log.txt").read_text()
    model = load_model(run_dir)
    assert model.generator.c_dim == 2  # two classes from the sub-folders
    state = load_resume_state(run_dir / "resume-000000.state.pt")
    assert state["world_size"] == 2 and len(state["rng"]) == 2


def test_user_errors_are_one_line_exit_2(shapes, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    zip16 = str(shapes / "shapes16.zip")
    cases = [
        (["--data", str(tmp_path / "missing")], "not found"),
        (["--data", str(empty)], "no images"),
        (["--data", zip16, "--resolution", "48"], "power of two"),
        (["--data", zip16, "--gpus", "2", "--batch", "15", "--device", "cpu"], "multiple of --gpus"),
        (["--data", zip16, "--resume", str(tmp_path / "nothing")], "no such run directory"),
        (["--data", zip16, "--metrics", "ppl"], "unknown metric"),
        (["--data", zip16, "--gamma", "-1"], "cannot be negative"),
        (["--data", zip16, "--dlr", "0"], "--dlr 0: a learning rate must be positive"),
        (["--data", zip16, "--glr", "nan"], "--glr nan: a learning rate must be positive"),
        (["--data", zip16, "--mbstd-group", "0"], "--mbstd-group 0"),
    ]
    for extra, message in cases:
        assert main(["train", "--outdir", str(tmp_path / "runs"), "--cfg", "tiny", *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err

    import explorer.train.snapshot as snapshot_module

    class Tiny:
        free = 1000

    monkeypatch.setattr(snapshot_module.shutil, "disk_usage", lambda path: Tiny)
    assert main(["train", "--data", zip16, "--outdir", str(tmp_path / "runs"), "--cfg", "tiny", "--kimg", "1"]) == 2
    assert "not enough free disk space" in capsys.readouterr().err


def test_fine_tune_from_an_nvidia_pickle(shapes, tmp_path, nvidia_dir, capsys):
    """--resume with a foreign model file: its generator (shapes and weights) is the starting point."""
    run_dir = train(TrainOptions(data=shapes / "shapes32.zip", outdir=tmp_path / "runs", cfg="tiny", batch=8, kimg=0.008,
                    workers=0, device="cpu", resume=nvidia_dir / "sg2-skip-32.pkl"))
    options = json.loads((run_dir / "training_options.json").read_text())
    assert options["G_kwargs"]["z_dim"] == 48 and options["resume"]["exact"] is False
    assert "D starts from scratch" in (run_dir / "log.txt").read_text()
    assert load_model(run_dir).generator.z_dim == 48
    assert main(["train", "--data", str(shapes / "shapes32.zip"), "--outdir", str(tmp_path / "runs"),
                 "--resume", str(nvidia_dir / "sg3t-32.pkl")]) == 2
    assert "only StyleGAN2" in capsys.readouterr().err
