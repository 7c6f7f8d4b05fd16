"""The training dialog and monitor, driven offscreen.

Most tests use fake run folders written here (NVIDIA's layout), so they are fast and do not depend on the
trainer's speed; one test starts a real tiny run through the form, stops it gracefully and reattaches.
No timing assertions: waits are generous upper bounds only.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

pytest.importorskip("pytestqt")

from explorer.train import launch  # noqa: E402
from explorer.train import run_reader as rr  # noqa: E402
from explorer.train.preflight import scan_dataset  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture
def tmp_path():
    """A private temporary folder. pytest's shared base folder keeps only its three newest sessions, so
    another pytest starting on this machine can delete a long test's folder (and the run in it) mid-test."""
    with tempfile.TemporaryDirectory(prefix="explorer-training-test-") as folder:
        yield Path(folder)


@pytest.fixture
def started():
    """Processes a test starts; any still running at the end are stopped (by pid) so none outlive it."""
    processes = []
    yield processes
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except Exception:
                process.kill()
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]


# ------------------------------------------------------------------------------------------ fakes


def stats_row(tick: int, kimg: float) -> dict:
    s = lambda v: {"num": 4, "mean": float(v), "std": 0.0}  # noqa: E731
    return {
        "Progress/tick": s(tick), "Progress/kimg": s(kimg), "Progress/augment": s(0.01 * tick),
        "Loss/G/loss": s(2.0 - 0.01 * tick), "Loss/D/loss": s(0.5 + 0.01 * tick),
        "Loss/r1_penalty": s(0.05), "Loss/pl_penalty": s(0.2), "Timing/sec_per_kimg": s(10.0),
        "Timing/sec_per_tick": s(5.0), "Timing/total_sec": s(5.0 * tick), "timestamp": 1.7e9 + tick,
    }


def append_stats(run_dir: Path, ticks: range, kimg_per_tick: float = 0.5) -> None:
    with open(run_dir / "stats.jsonl", "a") as f:
        for t in ticks:
            f.write(json.dumps(stats_row(t, t * kimg_per_tick)) + "\n")


def solid_grid(colour, size=(64, 32)) -> Image.Image:
    return Image.new("RGB", size, colour)


def fake_run(tmp_path: Path, ticks: int = 4, snapshots=(0, 1, 2)) -> Path:
    run_dir = tmp_path / "runs" / "00000-fake"
    run_dir.mkdir(parents=True)
    (run_dir / "training_options.json").write_text(json.dumps({"total_kimg": 10, "metrics": []}))
    (run_dir / "log.txt").write_text("".join(f"tick {t}\n" for t in range(ticks)))
    append_stats(run_dir, range(ticks))
    solid_grid((0, 0, 0)).save(run_dir / "fakes_init.png")
    for i, kimg in enumerate(snapshots):
        solid_grid(COLOURS[i]).save(run_dir / f"fakes{kimg:06d}.png")
    return run_dir


def make_image_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    Image.new("CMYK", (32, 32)).save(folder / "cmyk.jpg")
    good = (folder / "img0.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    return folder


# ----------------------------------------------------------------------------------- Qt-free reader


def test_reader_reads_only_new_complete_lines(tmp_path):
    run_dir = fake_run(tmp_path, ticks=2)
    reader = rr.RunReader(run_dir)
    assert reader.poll().new_rows == 2
    assert reader.poll().new_rows == 0
    line = json.dumps(stats_row(2, 1.0))
    with open(run_dir / "stats.jsonl", "a") as f:
        f.write(line[:20])  # the trainer is mid-write
    assert reader.poll().new_rows == 0
    with open(run_dir / "stats.jsonl", "a") as f:
        f.write(line[20:] + "\nnot json\n")
    assert reader.poll().new_rows == 1
    assert reader.series["Loss/G/loss"].x == [0.0, 0.5, 1.0]
    assert reader._stats.bad_lines == 1
    assert reader.total_kimg == 10 and reader.sec_per_kimg == pytest.approx(10.0)
    assert [s.kimg for s in reader.snapshots] == [-1, 0, 1, 2]


def test_status_from_pid_file_and_stop_request(tmp_path):
    run_dir = fake_run(tmp_path)
    (run_dir / "train.pid").write_text(str(os.getpid()))
    assert rr.run_status(run_dir) == "running"
    rr.request_stop(run_dir)
    assert rr.run_status(run_dir) == "stopping"
    (run_dir / "train.pid").unlink()
    old = time.time() - 3600
    for name in ("stats.jsonl", "log.txt"):
        os.utime(run_dir / name, (old, old))
    assert rr.run_status(run_dir, kimg=2, total_kimg=10) == "stopped"
    assert rr.run_status(run_dir, kimg=10, total_kimg=10) == "finished"


# ------------------------------------------------------------------------------------------ the form


def test_fallback_speed_estimate_times_bare_networks(one_torch_thread):
    from explorer.gui.training_dialog import network_configs, presets
    from explorer.train.preflight import measure_sec_per_kimg

    g, d = network_configs(presets()["tiny"], 8)
    estimate = measure_sec_per_kimg(g, d, "cpu", batch=4, steps=1)
    assert estimate.sec_per_kimg > 0 and estimate.method == "networks" and "estimate" in estimate.note.lower()


def test_form_is_generated_from_the_options_schema(qtbot, tmp_path):
    """Each form widget takes its range and choices from TrainOptions, and the form's command line is one
    TrainOptions reads back to the same values."""
    from explorer.gui.training_dialog import FORM_FIELDS, TrainingForm
    from explorer.train.options import TrainOptions

    form = TrainingForm()
    qtbot.addWidget(form)
    assert set(form.fields) == set(FORM_FIELDS)
    assert form.batch.minimum() == 1 and form.target.maximum() == 1.0 and form.gamma.minimum() == 0.0
    assert [form.aug.itemText(i) for i in range(form.aug.count())] == ["ada", "fixed", "noaug"]
    assert form.resolution.itemText(0) == "4" and form.resolution.itemText(form.resolution.count() - 1) == "4096"
    form.data_edit.setText(str(tmp_path / "images"))
    form.outdir_edit.setText(str(tmp_path / "runs"))
    form.cfg.setCurrentText("tiny")
    form.kimg.setValue(50)
    form.mirror.setChecked(True)
    argv = form.argv()
    assert "--cfg=tiny" in argv and "--kimg=50" in argv and "--mirror" in argv
    options = TrainOptions.from_argv(argv)
    assert options.kimg == 50 and options.mirror and options.resolution == int(form.resolution.currentText())
    assert options == TrainOptions(**form.values())


def test_form_lists_dataset_problems_without_crashing(qtbot, tmp_path, one_torch_thread):
    from explorer.gui.training_dialog import TrainingDialog


    folder = make_image_folder(tmp_path / "images")
    scan = scan_dataset(folder)
    assert scan.usable == 6 and scan.resolution == 32
    assert {name for name, _ in scan.problems} == {"broken.png", "cmyk.jpg", "truncated.png"}

    dialog = TrainingDialog()
    qtbot.addWidget(dialog)
    dialog.form.set_dataset(folder)
    qtbot.waitUntil(lambda: dialog.form.scan is not None, timeout=TIMEOUT)
    listed = [dialog.form.problems.item(i).text() for i in range(dialog.form.problems.count())]
    assert len(listed) == 3 and any(l.startswith("cmyk.jpg: CMYK") for l in listed)
    assert "6" in dialog.form.data_info.text()
    assert sum(1 for t in dialog.form.thumbs if t.pixmap() is not None and not t.pixmap().isNull()) == 6

    dialog.form.cfg.setCurrentText("tiny")
    dialog.form.measure_speed()  # times real G+D steps in a thread; the text must admit it is an estimate
    qtbot.waitUntil(lambda: dialog.form.estimate is not None or "Could not" in dialog.form.estimate_label.text(),
                    timeout=60_000)
    assert "s/kimg" in dialog.form.estimate_label.text() and "estimate" in dialog.form.estimate_note.text().lower()
    assert dialog.form.estimate.method == "trainer"  # the trainer's own step was timed

    dialog.form.set_dataset(tmp_path / "missing")
    qtbot.waitUntil(lambda: dialog.form.scan is not None and bool(dialog.form.scan.error), timeout=TIMEOUT)
    assert "no such folder" in dialog.form.check()
    dialog.close()


# ------------------------------------------------------------------------------------------ the monitor


def test_plots_gain_points_as_stats_grow(qtbot, tmp_path):
    from explorer.gui.training_monitor import MonitorWidget

    run_dir = fake_run(tmp_path, ticks=3)
    monitor = MonitorWidget(run_dir, poll_ms=50)
    qtbot.addWidget(monitor)
    assert len(monitor.curves["Loss/G/loss"].getData()[0]) == 3
    append_stats(run_dir, range(3, 7))
    qtbot.waitUntil(lambda: len(monitor.curves["Loss/G/loss"].getData()[0]) == 7, timeout=TIMEOUT)
    assert len(monitor.curves["Progress/augment"].getData()[0]) == 7
    assert "3 of 10 kimg" in monitor.progress.format()
    with open(run_dir / "metric-fid50k_full.jsonl", "w") as f:
        f.write(json.dumps({"results": {"fid50k_full": 99.0}, "snapshot_pkl": "network-snapshot-000002.pkl"}) + "\n")
    qtbot.waitUntil(lambda: "metric:fid50k_full" in monitor.curves, timeout=TIMEOUT)
    assert list(monitor.curves["metric:fid50k_full"].getData()[1]) == [99.0]
    monitor.stop_polling()


def test_timeline_shows_each_snapshots_grid(qtbot, tmp_path):
    from explorer.gui.training_monitor import MonitorWidget

    run_dir = fake_run(tmp_path, snapshots=(0, 1, 2))
    monitor = MonitorWidget(run_dir)
    qtbot.addWidget(monitor)
    monitor.stop_polling()
    assert monitor.timeline.maximum() == 3  # init + three snapshots; it starts on the latest
    assert monitor.grid_view.path == run_dir / "fakes000002.png"
    for index, (name, colour) in enumerate([("fakes_init.png", (0, 0, 0))] + [
            (f"fakes{k:06d}.png", COLOURS[k]) for k in (0, 1, 2)]):
        monitor.select_snapshot(index)
        assert monitor.grid_view.path == run_dir / name
        pixel = monitor.grid_view.image.pixelColor(3, 3)
        assert (pixel.red(), pixel.green(), pixel.blue()) == colour
    solid_grid((9, 9, 9)).save(run_dir / "reals.png")
    monitor.reals_button.setChecked(True)
    assert monitor.grid_view.path == run_dir / "reals.png"
    monitor.select_snapshot(2)
    assert not monitor.reals_button.isChecked() and monitor.grid_view.path == run_dir / "fakes000001.png"
    # A new snapshot does not yank the timeline away from where the user is scrubbing...
    monitor.select_snapshot(1)
    solid_grid(COLOURS[3]).save(run_dir / "fakes000003.png")
    monitor.refresh()
    assert monitor.timeline.maximum() == 4 and monitor.grid_view.path == run_dir / "fakes000000.png"
    # ...but one that is watching the latest follows it.
    monitor.select_snapshot(4)
    solid_grid(COLOURS[0]).save(run_dir / "fakes000004.png")
    monitor.refresh()
    assert monitor.grid_view.path == run_dir / "fakes000004.png"


def test_big_grids_decode_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    from explorer.gui import training_monitor

    monkeypatch.setattr(training_monitor, "SYNC_DECODE_BYTES", 0)  # every grid counts as big
    run_dir = fake_run(tmp_path, snapshots=(0, 1))
    monitor = training_monitor.MonitorWidget(run_dir)
    qtbot.addWidget(monitor)
    monitor.stop_polling()
    qtbot.waitUntil(lambda: monitor.grid_view.path == run_dir / "fakes000001.png", timeout=TIMEOUT)
    monitor.select_snapshot(1)
    qtbot.waitUntil(lambda: monitor.grid_view.path == run_dir / "fakes000000.png", timeout=TIMEOUT)
    pixel = monitor.grid_view.image.pixelColor(1, 1)
    assert (pixel.red(), pixel.green(), pixel.blue()) == COLOURS[0]


@pytest.fixture
def no_bundled_model(monkeypatch, tmp_path):
    """Windows built with network=None start empty, so the only model load is the one under test."""
    monkeypatch.setattr("explorer.gui.window.BUNDLED_MODEL", tmp_path / "no-bundled-model.safetensors")


def test_open_run_attaches_and_opens_snapshot_in_explorer(qtbot, tmp_path, nvidia_dir, no_bundled_model):
    from explorer.gui import main_window

    run_dir = fake_run(tmp_path, snapshots=(0, 1))
    shutil.copy(nvidia_dir / "sg2-skip-32.pkl", run_dir / "network-snapshot-000001.pkl")
    window = main_window(network=None, restore_session=False, autosave=False)
    qtbot.addWidget(window)
    assert [a.text() for a in window.menus["train"].actions()] == ["&New run...", "&Open run..."]
    dialog = window.features["training_dialog"].open_run(run_dir.parent)  # the output folder: its newest run opens
    assert dialog.monitor is not None and dialog.monitor.run_dir == run_dir and dialog.monitor.reader.rows == 4
    with qtbot.waitSignal(window.modelLoaded, timeout=TIMEOUT):
        dialog.monitor.open_button.click()
    assert Path(window.model_info.path).name == "network-snapshot-000001.pkl"
    dialog.close()
    # Not a run folder: a one-line message, no dialog.
    with pytest.raises(rr.RunDirError):
        rr.check_run_dir(tmp_path)
    window.shutdown()


def test_standalone_monitor_opens_snapshot_in_a_new_explorer_window(qtbot, tmp_path, nvidia_dir):
    from explorer.cli.monitor import ExplorerWindowOpener
    from explorer.gui.training_monitor import MonitorWindow

    run_dir = fake_run(tmp_path, snapshots=(0, 1))
    shutil.copy(nvidia_dir / "sg2-skip-32.pkl", run_dir / "network-snapshot-000001.pkl")
    opener = ExplorerWindowOpener()
    window = MonitorWindow(run_dir, open_snapshot=opener)
    qtbot.addWidget(window)
    window.show()
    window.monitor.open_button.click()
    explorer = opener.window
    assert explorer is not None
    qtbot.addWidget(explorer)
    qtbot.waitUntil(lambda: explorer.model_info is not None, timeout=TIMEOUT)
    assert Path(explorer.model_info.path).name == "network-snapshot-000001.pkl"
    explorer.shutdown()
    window.close()


def test_monitor_cli_screenshot_and_errors(tmp_path, capsys):
    from explorer.cli import main

    run_dir = fake_run(tmp_path)
    shot = tmp_path / "monitor.png"
    assert main(["monitor", str(run_dir), "--screenshot", str(shot), "--size", "900x600"]) == 0
    image = Image.open(shot)
    assert image.size[0] >= 900 and image.size[1] >= 600
    assert main(["monitor", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder" in err[0]
    assert main(["monitor", str(run_dir), "--screenshot", str(shot)]) == 2  # never overwritten silently


# ----------------------------------------------------------------------- a stand-in trainer process

FAKE_TRAINER = """
import json, os, sys, time
from pathlib import Path
from PIL import Image
argv = sys.argv[1:]
args = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
start_kimg, options = 0, {"total_kimg": 1000, "training_set_kwargs": {"path": "data"}}
if "--resume" in argv:  # like the real trainer: a new run dir beside the old one
    old = Path(argv[argv.index("--resume") + 1])
    args["outdir"] = str(old.parent)
    start_kimg = len(open(old / "stats.jsonl").readlines())
    options["resume"] = {"snapshot": str(old / f"network-snapshot-{start_kimg - 1:06d}.safetensors")}
number = len([p for p in Path(args["outdir"]).iterdir() if p.is_dir()]) if Path(args["outdir"]).exists() else 0
run = Path(args["outdir"]) / f"{number:05d}-stand-in"
run.mkdir(parents=True)
(run / "training_options.json").write_text(json.dumps(options))
Image.new("RGB", (16, 8), (0, 0, 0)).save(run / "fakes_init.png")
tick = start_kimg
while True:
    row = {"Progress/kimg": {"num": 1, "mean": tick * 1.0, "std": 0}, "Loss/G/loss": {"num": 1, "mean": 1.0, "std": 0}}
    with open(run / "stats.jsonl", "a") as f:
        f.write(json.dumps(row) + "\\n")
    with open(run / "log.txt", "a") as f:
        f.write(f"tick {tick}\\n")
    if (run / "stop-request").exists():
        Image.new("RGB", (16, 8), (255, 255, 255)).save(run / f"fakes{tick:06d}.png")
        (run / f"network-snapshot-{tick:06d}.safetensors").write_bytes(b"stand-in")
        (run / "stop-request").unlink()
        with open(run / "log.txt", "a") as f:
            f.write("stopped on request\\n")
        sys.exit(0)
    tick += 1
    time.sleep(0.1)
"""


def test_start_detaches_and_stop_is_graceful(qtbot, tmp_path, monkeypatch, started):
    """The dialog's own machinery against a stand-in trainer (fast, independent of the real one)."""
    from explorer.gui.training_dialog import TrainingDialog

    script = tmp_path / "stand_in_trainer.py"
    script.write_text(FAKE_TRAINER)
    monkeypatch.setattr(launch, "train_command", lambda argv: [sys.executable, str(script), *argv])
    dialog = TrainingDialog()
    qtbot.addWidget(dialog)
    dialog.launch(["--outdir=" + str(tmp_path / "runs"), "--kimg=1000"], tmp_path / "runs")
    started.append(dialog.process)
    qtbot.waitUntil(lambda: dialog.monitor is not None, timeout=TIMEOUT)
    monitor = dialog.monitor
    qtbot.waitUntil(lambda: monitor.reader.rows >= 3 and monitor.status == "running", timeout=TIMEOUT)
    assert monitor.stop_button.isEnabled()
    monitor.stop_button.click()
    qtbot.waitUntil(lambda: dialog.process.poll() is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: monitor.status == "stopped", timeout=TIMEOUT)
    assert monitor.reader.latest_network is not None
    assert monitor.resume_button.isEnabled() and not monitor.stop_button.isEnabled()
    rows_at_stop = monitor.reader.rows

    # Resume continues in a new run dir (as the real trainer does); the monitor follows it, history kept.
    first_run = monitor.run_dir
    monitor.resume_button.click()
    started.append(monitor._resume["process"] if monitor._resume else None)
    qtbot.waitUntil(lambda: monitor.run_dir != first_run or bool(monitor.message.text()), timeout=TIMEOUT)
    assert monitor.run_dir.name == "00001-stand-in", monitor.message.text()
    assert monitor.reader.resumed_from == first_run
    qtbot.waitUntil(lambda: monitor.reader.rows >= 2, timeout=TIMEOUT)
    x = monitor.reader.series["Loss/G/loss"].x
    assert len(x) > rows_at_stop and x == sorted(x)  # the first run's points, then the continuation's
    assert monitor.status == "running" and dialog.windowTitle() == "Train: 00001-stand-in"
    monitor.request_stop()
    qtbot.waitUntil(lambda: monitor.status == "stopped", timeout=TIMEOUT)
    assert [s.label for s in monitor.timeline_snapshots][0] == "init"  # the first run's init grid leads
    dialog.close()

    # A trainer that fails before making a run folder: its one-line error is shown in the form.
    failing = tmp_path / "failing_trainer.py"
    failing.write_text("import sys; print('explorer train: error: data.zip: no such folder or zip file', file=sys.stderr); sys.exit(2)")
    monkeypatch.setattr(launch, "train_command", lambda argv: [sys.executable, str(failing), *argv])
    dialog = TrainingDialog()
    qtbot.addWidget(dialog)
    dialog.launch([], tmp_path / "runs")
    qtbot.waitUntil(lambda: dialog.form.start_button.isEnabled(), timeout=TIMEOUT)
    assert dialog.form.message.text() == "explorer train: error: data.zip: no such folder or zip file"
    assert dialog.monitor is None
    dialog.close()


# ------------------------------------------------------------------------------------------ a real run


def test_start_real_tiny_run_stop_reattach_and_open(qtbot, tmp_path, started, one_torch_thread, no_bundled_model):
    """Start -> a real `explorer train --cfg tiny` process; closing the dialog leaves it running; reopening
    the folder attaches to it; Stop ends it with a final snapshot; that snapshot opens in the explorer."""
    pytest.importorskip("explorer.cli.train", reason="the trainer is not in this checkout yet")
    from explorer.gui import main_window
    from explorer.gui.training_dialog import TrainingDialog, train_parser

    folder = make_image_folder(tmp_path / "images")
    # truncated.png passes the header check; the trainer skips it when it first loads it (issue 22.4)
    dialog = TrainingDialog()
    qtbot.addWidget(dialog)
    form = dialog.form
    form.set_dataset(folder)
    qtbot.waitUntil(lambda: form.scan is not None, timeout=TIMEOUT)
    form.cfg.setCurrentText("tiny")
    form.batch.setValue(8)  # the smallest steps the tiny networks take (minibatch-std groups of 4)
    form.kimg.setValue(50)  # long enough that only Stop ends it
    form.tick.setValue(0.008)  # a stats line every step
    form.snap.setValue(1000)  # no periodic snapshots: the one after Stop is the stop's
    form.outdir_edit.setText(str(tmp_path / "runs"))
    assert "--cfg=tiny" in form.argv() and "--kimg=50" in form.argv()
    form.start_button.click()
    qtbot.waitUntil(lambda: dialog.monitor is not None or form.start_button.isEnabled(), timeout=60_000)
    process = dialog.process
    started.append(process)
    assert dialog.monitor is not None, form.message.text()
    run_dir = dialog.monitor.run_dir
    qtbot.waitUntil(lambda: dialog.monitor.reader.rows >= 1, timeout=60_000)
    assert dialog.monitor.status == "running"
    assert len(dialog.monitor.curves["Loss/G/loss"].getData()[0]) >= 1

    dialog.close()  # the run goes on
    assert process.poll() is None
    again = TrainingDialog(run_dir=run_dir)  # no process handle: running is judged from the folder
    qtbot.addWidget(again)
    monitor = again.monitor
    assert monitor.status == "running" and monitor.stop_button.isEnabled()
    monitor.stop_button.click()
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=60_000)
    qtbot.waitUntil(lambda: monitor.status == "stopped", timeout=TIMEOUT)
    assert process.returncode == 0
    snapshot = monitor.reader.latest_network
    assert snapshot is not None and snapshot.suffix == ".safetensors", "a graceful stop leaves a final snapshot"
    assert monitor.timeline_snapshots[-1].fakes.is_file() and monitor.resume_button.isEnabled()
    # The Resume button's command line is one the real trainer accepts.
    train_parser().parse_args(launch.resume_command(run_dir)[4:])

    window = main_window(network=None, restore_session=False, autosave=False)
    qtbot.addWidget(window)
    dialog = window.features["training_dialog"].open_run(run_dir)
    with qtbot.waitSignal(window.modelLoaded, timeout=TIMEOUT):
        dialog.monitor.open_button.click()
    assert Path(window.model_info.path) == snapshot
    dialog.close()
    again.close()
    window.shutdown()


# ------------------------------------------------------------------- issue 21: resolution and Return


def test_plain_folder_of_odd_sized_images_starts_at_the_chosen_resolution(qtbot, tmp_path, monkeypatch):
    """96x96 photos: the form offers 64 (and the fit mode), and the command it builds is one the trainer
    runs on the folder directly (it used to ask for a CLI flag the form did not have)."""
    from explorer.gui.training_dialog import TrainingDialog, train_parser
    from explorer.train.dataset import ImageDataset

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    Image.fromarray(rng.integers(0, 255, (60, 120, 3), dtype=np.uint8)).save(folder / "wide.png")
    dialog = TrainingDialog()
    qtbot.addWidget(dialog)
    form = dialog.form
    form.set_dataset(folder)
    qtbot.waitUntil(lambda: form.scan is not None, timeout=TIMEOUT)
    assert form.resolution.currentText() == "64"
    form.transform.setCurrentText("pad")
    form.outdir_edit.setText(str(tmp_path / "runs"))
    emitted = []
    form.startRequested.connect(lambda argv, outdir: emitted.append(argv))
    qtbot.mouseClick(form.start_button, Qt.LeftButton)
    assert emitted, form.message.text()
    args = train_parser().parse_args(emitted[0])
    assert args.resolution == 64 and args.transform == "pad"
    dataset = ImageDataset(args.data, resolution=args.resolution, transform=args.transform)
    assert dataset.resolution == 64 and dataset[3][0].shape == (3, 64, 64)
    dialog.close()


def test_return_in_the_dataset_field_scans_and_opens_no_picker(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from explorer.gui.training_dialog import TrainingDialog

    opened = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: opened.append(a) or "")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: opened.append(a) or ("", ""))
    folder = make_image_folder(tmp_path / "images")
    dialog = TrainingDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.form
    form.data_edit.setFocus()
    qtbot.keyClicks(form.data_edit, str(folder))
    qtbot.keyClick(form.data_edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: form.scan is not None, timeout=TIMEOUT)
    assert opened == [] and form.scan.usable == 6
    assert dialog.monitor is None  # nor did Return start a run
    dialog.close()


def test_monitor_screenshot_on_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    from explorer import fileio
    from explorer.cli import main

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio, "atomic_write_bytes", full_disk)
    run_dir = fake_run(tmp_path)
    assert main(["monitor", str(run_dir), "--screenshot", str(tmp_path / "shot.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "shot.png: cannot write the screenshot (No space left on device)" in err[0]
    assert not (tmp_path / "shot.png").exists()
