"""Hostile and broken training inputs (issue 22): resume states, full disks, small-sample metrics, bad
output folders, absurd labels and images that pass the header check. Each is one line and exit 2, or a
skipped file with its reason; never code from a file, never a silent restart at kimg 0.

The run used as raw material is a single tiny step (16x16, batch 16), so the file stays quick.
"""

from __future__ import annotations

import errno
import re
import json
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from explorer.cli import main
from explorer.errors import ExplorerError
from explorer.train import metrics, snapshot
from explorer.train.dataset import ImageDataset, make_dataset
from explorer.train.loop import train
from explorer.train.options import TrainOptions
from explorer.train.run_layout import RESUME_RE, remove_partial_files
from explorer.train.run_reader import list_snapshots
from tests.test_dataset_tool import make_shapes

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A dataset zip and a finished one-step run with its resume state."""
    root = tmp_path_factory.mktemp("hostile")
    make_dataset(make_shapes(root / "src", count=16), root / "shapes16.zip", 16)
    torch.set_num_threads(1)
    run = train(TrainOptions(data=root / "shapes16.zip", outdir=root / "runs", cfg="tiny", batch=16, kimg=0.016, tick=0.016,
                workers=0, aug="noaug", device="cpu", desc="first"))
    return root, run


def _copy_run(base, tmp_path) -> Path:
    return Path(shutil.copytree(base[1], tmp_path / "runs" / "00000-copy"))


def _state_file(run: Path) -> Path:
    return next(p for p in run.iterdir() if RESUME_RE.match(p.name))


def _resume_cli(base, run: Path, *extra) -> list[str]:
    return ["train", "--data", str(base[0] / "shapes16.zip"), "--outdir", str(run.parent), "--resume", str(run), *extra]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


class _RunsCode:
    def __reduce__(self):  # what a malicious pickle does: call something on load
        return (Path.touch, (Path("/tmp/explorer-hostile-state-ran-code"),))


def _mutations(state: dict):
    options = json.loads(state["options"])
    big = dict(options, G_kwargs={**options["G_kwargs"], "synthesis_kwargs": {
        **options["G_kwargs"]["synthesis_kwargs"], "channel_max": 2**20, "channel_base": 2**30}})
    yield "garbage bytes", b"PK\x03\x04 not a torch file"
    yield "a pickle that runs code", {**state, "extra": _RunsCode()}
    yield "negative kimg", {**state, "cur_nimg": -5}
    yield "escaping snapshot name", {**state, "snapshot": "../../network-snapshot-000000.safetensors"}
    yield "absurd network config", {**state, "options": json.dumps(big)}
    yield "damaged rng", {**state, "rng": [{"torch": torch.zeros(3, dtype=torch.uint8)}]}
    yield "options not JSON", {**state, "options": "{"}
    yield "huge batch", {**state, "options": json.dumps({**options, "batch_size": -1})}


def test_hostile_resume_states_are_one_line_errors_never_a_fresh_start(base, tmp_path, capsys):
    marker = Path("/tmp/explorer-hostile-state-ran-code")
    marker.unlink(missing_ok=True)
    state = snapshot.load_resume_state(_state_file(base[1]))
    for number, (what, content) in enumerate(_mutations(state)):
        run = Path(shutil.copytree(base[1], tmp_path / f"case{number}" / "00000-copy"))
        path = _state_file(run)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            torch.save(content, path)
        for target in (run, run / "network-snapshot-000000.safetensors", path):
            assert main(_resume_cli(base, target)) == 2, (what, target)
            err = _one_line_error(capsys)
            assert "unusable resume state" in err and "--fine-tune" in err, (what, err)
        assert [p.name for p in run.parent.iterdir()] == ["00000-copy"], what  # no run started at kimg 0
    assert not marker.exists()


def test_feature_net_named_by_a_resume_state_is_never_loaded(base, tmp_path, monkeypatch):
    run = _copy_run(base, tmp_path)
    path = _state_file(run)
    state = snapshot.load_resume_state(path)
    net = tmp_path / "planted.pt"
    net.write_bytes(b"a TorchScript file the user never chose")
    state["options"] = json.dumps({**json.loads(state["options"]), "metrics": ["fid10"], "feature_net": str(net)})
    torch.save(state, path)
    loaded = []
    monkeypatch.setattr(metrics, "load_feature_net", lambda *a, **k: loaded.append(a))
    resumed = train(TrainOptions(data=base[0] / "shapes16.zip", outdir=run.parent, resume=run, kimg=0.032, desc="resumed"))
    assert loaded == []
    log = (resumed / "log.txt").read_text()
    assert "resuming exactly" in log and "no --feature-net given" in log
    assert json.loads((resumed / "training_options.json").read_text())["feature_net"] is None


@FUZZ
@given(key=st.sampled_from(["snapshot", "cur_nimg", "cur_tick", "batch_idx", "augment_p", "ada_acc", "pl_mean",
                            "networks", "opt", "rng", "world_size", "total_time", "options", "version"]),
       value=st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=20),
                       st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
def test_fuzzed_resume_state_is_usable_or_one_line_error(base, tmp_path_factory, key, value):
    state = snapshot.load_resume_state(_state_file(base[1]))
    path = tmp_path_factory.mktemp("fuzz") / "resume-000000.state.pt"
    torch.save({**state, key: value}, path)
    try:
        snapshot.load_resume_state(path)
    except snapshot.TrainingError as exc:
        assert "\n" not in str(exc) and path.name in str(exc)


@FUZZ
@given(key=st.sampled_from(["batch_size", "num_gpus", "total_kimg", "kimg_per_tick", "augment", "loss_kwargs",
                            "G_opt_kwargs", "metrics", "training_set_kwargs", "G_kwargs", "D_kwargs", "grid_max",
                            "random_seed", "workers"]),
       value=st.one_of(st.none(), st.integers(-2**40, 2**40), st.floats(), st.text(max_size=12),
                       st.lists(st.integers(-5, 50), max_size=3)))
def test_fuzzed_run_options_in_a_resume_state(base, key, value):
    state = snapshot.load_resume_state(_state_file(base[1]))
    options = {**json.loads(state["options"]), key: value}
    problem = snapshot.run_options_problem(options, state["networks"])
    assert problem is None or "\n" not in problem


def test_optimiser_moments_of_the_wrong_shape_stop_before_training(base, tmp_path, capsys):
    run = _copy_run(base, tmp_path)
    path = _state_file(run)
    state = snapshot.load_resume_state(path)
    moments = next(iter(state["opt"]["G"]["state"].values()))
    moments["exp_avg"] = torch.zeros(3, 3, 3)
    torch.save(state, path)
    assert main(_resume_cli(base, run)) == 2
    assert "optimiser moments do not match" in _one_line_error(capsys)


# ------------------------------------------------------------------------------------------ full disk


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_at_a_snapshot_keeps_the_previous_files(base, tmp_path, capsys, monkeypatch):
    run = _copy_run(base, tmp_path)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    monkeypatch.setattr(snapshot, "atomic_write_bytes", _full_disk)  # the resume state's write
    assert main(_resume_cli(base, run, "--kimg", "0.032")) == 2
    err = _one_line_error(capsys)
    assert "cannot write the resume state: No space left on device" in err and "--resume" in err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    resumed = next(p for p in run.parent.iterdir() if p != run)
    assert not [p.name for p in resumed.iterdir() if p.name.endswith(".part")]
    assert list(resumed.glob("resume-*.state.pt")) == []


def test_full_disk_writing_stats_leaves_no_half_line(tmp_path, monkeypatch):
    from explorer.train import run_dir

    (tmp_path / "stats.jsonl").write_text('{"tick": 0}\n')
    real_fsync = run_dir.os.fsync
    monkeypatch.setattr(run_dir.os, "fsync", _full_disk)
    with pytest.raises(OSError):
        run_dir.append_stats(tmp_path, {"Progress/kimg": {"num": 1, "mean": 1.0, "std": 0.0}})
    monkeypatch.setattr(run_dir.os, "fsync", real_fsync)
    assert (tmp_path / "stats.jsonl").read_text() == '{"tick": 0}\n'


def test_full_disk_in_the_dataset_tool(tmp_path, capsys, monkeypatch):
    import zipfile

    src = make_shapes(tmp_path / "src", count=4)
    real_writestr = zipfile.ZipFile.writestr
    calls = []

    def fill_up(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            _full_disk()
        return real_writestr(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fill_up)
    assert main(["dataset", "--source", str(src), "--dest", str(tmp_path / "out.zip"), "--resolution", "16"]) == 2
    assert "No space left on device" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no zip, no temporary file


def test_stale_part_files_are_removed_on_resume_and_never_snapshots(base, tmp_path, capsys):
    run = _copy_run(base, tmp_path)
    for name in (".network-snapshot-000007.safetensors.x1.part", ".resume-000007.state.pt.x2.part"):
        (run / name).write_bytes(b"half written")
    (run / "train.pid").write_text("999999999")  # SIGKILLed: a dead pid
    assert [s.kimg for s in list_snapshots(run) if s.network] == [0]
    assert snapshot.find_resume_point(run)[1].name == "resume-000000.state.pt"
    resumed = train(TrainOptions(data=base[0] / "shapes16.zip", outdir=run.parent, resume=run, kimg=0.032, desc="resumed"))
    assert not list(run.glob("*.part")) and "removed .network-snapshot-000007" in capsys.readouterr().out
    assert (resumed / "finished").exists()
    (run / "x.part").write_bytes(b"")
    assert remove_partial_files(run) == ["x.part"]


# ----------------------------------------------------------------------------- metrics, outdir, labels


def test_one_image_metrics_are_refused_and_two_are_defined():
    with pytest.raises(ExplorerError, match="fid1: FID needs at least 2 images"):
        metrics.parse_metric("fid1")
    with pytest.raises(ExplorerError, match="kid1"):
        metrics.parse_metric("kid1")
    assert metrics.parse_metric("fid2")[2] == 2
    rng = torch.Generator().manual_seed(0)
    real, gen = (torch.randn(2, 5, generator=rng).double().numpy() for _ in range(2))
    assert metrics.fid_from_features(real, gen) >= 0 and abs(metrics.kid_from_features(real, gen)) < 1e3


def test_outdir_that_is_a_file_and_absurd_labels(base, tmp_path, capsys):
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    assert main(["train", "--data", str(base[0] / "shapes16.zip"), "--outdir", str(afile)]) == 2
    assert "--outdir is a file" in _one_line_error(capsys)

    src = make_shapes(tmp_path / "src", count=2, classes=("a",))
    names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*.png"))
    for labels, message in [([[names[0], 10**12], [names[1], 0]], "outside 0..99999"),
                            ("nope", "not a list"), ([[names[0]]], "not a [file, label] pair"),
                            ([[names[0], [1.0, float("nan")]], [names[1], [1.0, 2.0]]], "finite numbers"),
                            ([[names[0], [1.0]], [names[1], [1.0, 2.0]]], "different lengths")]:
        (src / "dataset.json").write_text(json.dumps({"labels": labels}))
        with pytest.raises(ExplorerError, match=re.escape(message)) as info:
            ImageDataset(src, resolution=16, use_labels=True)
        assert "\n" not in str(info.value)


def test_truncated_and_transparent_images_in_a_training_folder_are_skipped(tmp_path):
    src = make_shapes(tmp_path / "src", count=4, classes=("a",))
    good = (src / "a" / "shape000.png").read_bytes()
    (src / "a" / "shape001.png").write_bytes(good[: len(good) // 2])  # the header check passes
    clear = Image.new("RGBA", (40, 36), (255, 0, 0, 255))
    clear.putpixel((0, 0), (0, 0, 0, 0))
    clear.save(src / "a" / "shape002.png")
    dataset = ImageDataset(src, resolution=16)
    assert len(dataset) == 4  # the header check lets them in...
    items = [dataset[i][0] for i in range(len(dataset))]  # ...and loading skips them, with the reason
    assert set(dataset.unreadable) == {1, 2}
    assert "truncated" in dataset.unreadable[1] and "transparent" in dataset.unreadable[2]
    assert (items[1] == items[3]).all() and (items[2] == items[3]).all()  # the next usable image stands in
    again = ImageDataset(src, resolution=16)  # a resume meets the same stand-ins
    assert all((again[i][0] == items[i]).all() for i in range(4))


# ----------------------------------------------------------------------- training_options.json reader

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["resume", "snapshot", "training_set_kwargs", "path", "total_kimg",
                                          "metrics", "feature_net", "x"]), inner, max_size=4), max_leaves=12)


@FUZZ
@given(options=_JSON, raw=st.binary(max_size=40))
def test_fuzzed_training_options_json_never_crashes_the_readers(tmp_path_factory, options, raw):
    from explorer.train import launch
    from explorer.train.run_reader import RunDirError, RunReader

    run = tmp_path_factory.mktemp("opts") / "00000-run"
    run.mkdir()
    for content in (json.dumps(options).encode(), raw):
        (run / "training_options.json").write_bytes(content)
        reader = RunReader(run)
        reader.poll()
        assert reader.resumed_from is None or reader.resumed_from.is_dir()
        reader.total_kimg, reader.eta_seconds
        try:
            command = launch.resume_command(run)
        except RunDirError as exc:
            assert "\n" not in str(exc)
        else:
            assert "--feature-net" not in command  # never a file path taken from the options


@pytest.mark.parametrize("field, value", [("channel_max", 10 ** 9), ("img_resolution", 1 << 40),
                                          ("mbstd_group_size", "4"), ("conv_clamp", float("nan")),
                                          ("evil", 1), ("mapping_layers", [1] * 99)])
def test_absurd_discriminator_configs_are_refused_before_building(field, value):
    from explorer.train.networks_d import build_discriminator

    config = {"arch": "stylegan2-resnet-d", "c_dim": 0, "img_resolution": 32, "img_channels": 3,
              "channel_base": 1024, "channel_max": 64}
    build_discriminator(config)  # the sane config builds
    with pytest.raises(ValueError, match=f"D.{field}|{field}"):
        build_discriminator({**config, field: value})
