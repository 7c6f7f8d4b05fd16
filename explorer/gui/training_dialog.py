"""Train > New run... and Train > Open run...: the training form, then the monitor of the run it started.

The form checks what it can before Start: the dataset (count, size, labels, and every file training would
skip, listed with its reason), the preset's settings, a measured seconds-per-kimg estimate on the chosen
device. Start runs ``python -m explorer train ...`` as a detached process, so the window never waits on it
and closing the dialog (or the app) leaves it running; the dialog then becomes the run's monitor.

The command line is built from the trainer's own argparse parser (``explorer.cli.train.add_parser``), so the
form cannot drift from the options ``explorer train`` really takes, and whatever the form can start a
terminal can too.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import fields
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.engine.devices import TRAINING_DEVICES, available_devices
from explorer.errors import ExplorerError, UsageError
from explorer.engine.jobs import Job
from explorer.gui.canvas import qimage_from_array
from explorer.gui.ui_jobs import UiJobRunner
from explorer.gui.widgets import ComboBox, DoubleSpinBox, SpinBox
from explorer.train import preflight
from explorer.train.options import Option, TrainOptions
from explorer.train import launch
from explorer.train import run_reader as rr

MAX_LISTED_PROBLEMS = 200
SETTINGS_OUTDIR = "train/outdir"
SETTINGS_DATA = "train/data"

def train_parser() -> argparse.ArgumentParser:
    """``explorer train``'s own parser, refusing bad values with a one-line UsageError instead of exiting."""
    from explorer.cli import train as train_cli

    root = argparse.ArgumentParser(prog="explorer", exit_on_error=False)
    sub = root.add_subparsers(dest="command")
    train_cli.add_parser(sub)
    parser = sub.choices["train"]
    parser.exit_on_error = False

    def refuse(message: str):  # argparse would print usage and exit the app; the form shows one line
        raise UsageError(message)

    parser.error = refuse
    return parser


def presets() -> dict[str, dict]:
    """Preset name -> the form's fields, from the trainer's ``--cfg`` table (``spec`` is its CfgSpec)."""
    from explorer.train.configs import CONFIGS

    return {
        name: {"batch": spec.batch, "gamma": spec.gamma, "kimg": spec.kimg, "snap": spec.snap_ticks,
               "tick": spec.tick_kimg, "resolution": spec.resolution_hint or 256, "spec": spec}
        for name, spec in CONFIGS.items()
    }


def network_configs(preset: dict, resolution: int, channels: int = 3, c_dim: int = 0, cuda: bool = False) -> tuple[dict, dict]:
    """The G and D configs the trainer builds for a preset at ``resolution`` (for the speed estimate)."""
    from explorer.train import configs

    spec = preset["spec"]
    return (configs.generator_config(spec, resolution, channels, c_dim, cuda),
            configs.discriminator_config(spec, resolution, channels, c_dim, cuda))


# Form rows: TrainOptions field -> label. The widget, its range, choices and tooltip come from the field.
FORM_FIELDS = {
    "cfg": "Config preset", "batch": "Batch", "gamma": "Gamma (R1)", "kimg": "Length (kimg)", "tick": "Tick (kimg)",
    "snap": "Snapshot every (ticks)", "resolution": "Resolution", "transform": "Fit images by", "mirror": "Mirror",
    "aug": "Augmentation", "target": "ADA target", "cond": "Conditional", "device": "Device",
}
DECIMALS = 4
SPIN_MAX = 1_000_000  # spin boxes need a finite top; the schema's own bounds are far beyond what anyone types


def option_widget(meta: Option) -> QWidget:
    """A widget for one TrainOptions field: a check box, a list of choices (powers of two too) or a spin box."""
    if meta.kind == "bool":
        widget = QCheckBox(meta.help)
    elif meta.kind == "choice" or meta.power_of_two:
        widget = ComboBox()
        low, high = int(meta.low or 1), int(meta.high or 1)
        widget.addItems(list(meta.choices) if meta.kind == "choice"
                        else [str(2**k) for k in range(low.bit_length() - 1, high.bit_length())])
    elif meta.kind == "int":
        widget = SpinBox()
        widget.setRange(int(meta.low or 0) + meta.above, int(min(meta.high or SPIN_MAX, SPIN_MAX)))
    else:
        widget = DoubleSpinBox()
        widget.setDecimals(DECIMALS)
        widget.setRange((meta.low or 0.0) + (10**-DECIMALS if meta.above else 0.0), min(meta.high or SPIN_MAX, SPIN_MAX))
        widget.setSingleStep(0.05 if (meta.high or SPIN_MAX) <= 1 else 1.0)
    widget.setToolTip(meta.help)
    return widget


def widget_value(widget: QWidget):
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        text = widget.currentText()
        return int(text) if text.isdigit() else text
    return widget.value()


# --------------------------------------------------------------------------------------------- helpers


def _settings():
    from explorer.gui.settings import settings

    return settings()


# ----------------------------------------------------------------------------------------------- form


class TrainingForm(QWidget):
    """The new-run form. ``startRequested(argv, outdir)`` when Start is pressed and everything checks out."""

    startRequested = Signal(list, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.parser = train_parser()
        self.preset_table = presets()
        self.scan: preflight.DatasetScan | None = None
        self.estimate: preflight.SpeedEstimate | None = None
        self.jobs = UiJobRunner(self)  # dataset scans and speed measurements, off the UI thread
        self._scan_job: Job | None = None  # the scan whose result the form waits for (older ones are void)
        self._estimate_job: Job | None = None
        self._build()
        self._apply_preset(self.cfg.currentText())
        saved = _settings().value(SETTINGS_DATA)
        if saved and Path(str(saved)).exists():
            self.data_edit.setText(str(saved))
            self.scan_dataset()

    # ---- layout
    def _build(self) -> None:
        # Dataset
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("a folder of images, or a dataset .zip made by `explorer dataset`")
        self.data_edit.editingFinished.connect(self.scan_dataset)
        folder_button = QPushButton("Folder...")
        folder_button.clicked.connect(self._browse_folder)
        zip_button = QPushButton("Zip...")
        zip_button.clicked.connect(self._browse_zip)
        row = QHBoxLayout()
        row.addWidget(self.data_edit, 1)
        row.addWidget(folder_button)
        row.addWidget(zip_button)
        self.strip = QHBoxLayout()
        self.strip.setSpacing(4)
        self.thumbs: list[QLabel] = []
        for _ in range(preflight.SAMPLES):
            label = QLabel()
            label.setFixedSize(66, 66)
            label.setStyleSheet("background: #18181a; border: 1px solid #444;")
            self.thumbs.append(label)
            self.strip.addWidget(label)
        self.strip.addStretch(1)
        self.data_info = QLabel("Choose a dataset.")
        self.data_info.setWordWrap(True)
        self.problems = QListWidget()
        self.problems.setVisible(False)
        data_box = QGroupBox("Dataset")
        data_layout = QVBoxLayout(data_box)
        data_layout.addLayout(row)
        data_layout.addLayout(self.strip)
        data_layout.addWidget(self.data_info)
        self.problems_title = QLabel()
        self.problems_title.setVisible(False)
        data_layout.addWidget(self.problems_title)
        data_layout.addWidget(self.problems, 1)
        data_layout.addStretch(0)

        # Settings: one widget per TrainOptions field in FORM_FIELDS, made from the field's metadata
        form = QFormLayout()
        self.fields: dict[str, QWidget] = {}
        for f in fields(TrainOptions):
            if f.name in FORM_FIELDS:
                widget = option_widget(f.metadata["option"])
                self.fields[f.name] = widget
                setattr(self, f.name, widget)
        for name, label in FORM_FIELDS.items():
            form.addRow(label, self.fields[name])
        self.device.clear()
        self.device.addItems(available_devices(TRAINING_DEVICES))  # what this machine has, best first
        self.cfg.currentTextChanged.connect(self._apply_preset)
        self.aug.currentTextChanged.connect(lambda a: self.target.setEnabled(a == "ada"))
        self.cond.setEnabled(False)
        for w in (self.cfg, self.device, self.resolution):
            w.currentTextChanged.connect(self._invalidate_estimate)
        self.batch.valueChanged.connect(self._update_estimate_text)
        self.kimg.valueChanged.connect(self._update_estimate_text)
        self.estimate_label = QLabel("Speed not measured yet.")
        self.estimate_label.setWordWrap(True)
        self.estimate_button = QPushButton("Estimate speed")
        self.estimate_button.setToolTip("Time a couple of training steps of these networks on this device")
        self.estimate_button.clicked.connect(self.measure_speed)
        self.estimate_note = QLabel()
        self.estimate_note.setWordWrap(True)
        self.estimate_note.setStyleSheet("color: #999; font-size: 9pt;")
        form.addRow("Speed", self.estimate_button)
        form.addRow(self.estimate_label)
        form.addRow(self.estimate_note)
        settings_box = QGroupBox("Training")
        settings_box.setLayout(form)

        # Output
        self.outdir_edit = QLineEdit(str(_settings().value(SETTINGS_OUTDIR) or Path.home() / "training-runs"))
        out_button = QPushButton("Browse...")
        out_button.clicked.connect(self._browse_outdir)
        out_row = QHBoxLayout()
        out_row.addWidget(self.outdir_edit, 1)
        out_row.addWidget(out_button)
        out_box = QGroupBox("Output folder (each run gets its own NNNNN-name folder inside)")
        out_box.setLayout(out_row)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #f88;")
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.start_button)

        columns = QHBoxLayout()
        columns.addWidget(data_box, 3)
        columns.addWidget(settings_box, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(out_box)
        layout.addLayout(buttons)
        # In a dialog every push button is an "auto default": Return in the dataset field would press
        # the first one (Folder...). Return there means "scan this path", so no button takes Return.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)

    # ---- dataset
    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.data_edit.text())
        if path:
            self.set_dataset(path)

    def _browse_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Dataset zip", self.data_edit.text(), "Zip files (*.zip)")
        if path:
            self.set_dataset(path)

    def _browse_outdir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.outdir_edit.text())
        if path:
            self.outdir_edit.setText(path)

    def set_dataset(self, path: str | Path) -> None:
        self.data_edit.setText(str(path))
        self.scan_dataset()

    def scan_dataset(self) -> None:
        path = self.data_edit.text().strip()
        if self.scan is not None and str(self.scan.path) == str(Path(path).expanduser()) and self._scan_job is None:
            return
        if self._scan_job is not None:
            self._scan_job.cancel()
            self._scan_job = None
        self.scan = None
        self._show_scan(None)
        if not path:
            return
        self.data_info.setText("Scanning...")
        def scan(job_ctx):
            report = lambda done, total: job_ctx.progress(done / max(total, 1), f"{done} of {total} files")
            return preflight.scan_dataset(path, report, lambda: job_ctx.cancelled)

        # The callbacks run later, in the UI thread, when ``job`` is bound: they tell this scan from newer ones.
        job = self.jobs.submit("dataset scan", scan, on_progress=lambda f, text: self._scan_progress(job, text),
                               on_done=lambda result: self._scan_done(job, result, ""),
                               on_error=lambda error: self._scan_done(job, None, error))
        self._scan_job = job

    def _scan_progress(self, job: Job, text: str) -> None:
        if job is self._scan_job:
            self.data_info.setText(f"Scanning... {text}")

    def _scan_done(self, job: Job, scan, error: str) -> None:
        if job is not self._scan_job:
            return  # a newer scan replaced this one
        self._scan_job = None
        if error:
            scan = preflight.DatasetScan(Path(self.data_edit.text()), error=error)
        self.scan = scan
        if scan.resolution:
            self.resolution.setCurrentText(str(scan.resolution))
        self._show_scan(scan)
        self._invalidate_estimate()
        if not scan.error:
            _settings().setValue(SETTINGS_DATA, str(scan.path))

    def _show_scan(self, scan: preflight.DatasetScan | None) -> None:
        for label in self.thumbs:
            label.clear()
        self.problems.clear()
        self.problems.setVisible(False)
        self.problems_title.setVisible(False)
        if scan is None:
            self.data_info.setText("Choose a dataset.")
            return
        for label, sample in zip(self.thumbs, scan.samples):
            label.setPixmap(QPixmap.fromImage(qimage_from_array(sample)))
        if scan.error:
            self.data_info.setText(f"<span style='color:#f88'>{scan.error}</span>")
        else:
            labels = scan.labels + (f", {scan.num_classes} classes" if scan.num_classes else "")
            res = scan.resolution
            lines = [
                f"<b>{scan.usable}</b> usable image{'s' if scan.usable != 1 else ''} of {scan.files} "
                f"({len(scan.problems)} with problems)",
                f"Size: {scan.size_text()}; suggested training size <b>{res}x{res}</b> (Resolution)" if res else "Size: -",
                f"Labels: {labels}",
            ]
            if scan.decoded < scan.usable:
                lines.append(f"<i>{scan.decoded} fully decoded, the rest header-checked; training skips any it cannot read.</i>")
            self.data_info.setText("<br>".join(lines))
        self.cond.setEnabled(scan.labels == "dataset.json")
        if scan.labels != "dataset.json":
            self.cond.setChecked(False)
        if scan.problems:
            for name, reason in scan.problems[:MAX_LISTED_PROBLEMS]:
                self.problems.addItem(f"{name}: {reason}")
            if len(scan.problems) > MAX_LISTED_PROBLEMS:
                self.problems.addItem(f"... and {len(scan.problems) - MAX_LISTED_PROBLEMS} more")
            self.problems.setVisible(True)
            self.problems_title.setText(f"<b>{len(scan.problems)} file(s) training will skip</b>, and why:")
            self.problems_title.setVisible(True)

    # ---- settings
    def _apply_preset(self, name: str) -> None:
        values = self.preset_table.get(name, {})
        self.batch.setValue(int(values.get("batch", 32)))
        self.gamma.setValue(float(values.get("gamma", 1.0)))
        self.kimg.setValue(float(values.get("kimg", 1000)))
        self.snap.setValue(int(values.get("snap", 50)))
        self.tick.setValue(float(values.get("tick", 4)))
        self.mirror.setChecked(bool(values.get("mirror", False)))
        self.aug.setCurrentText(str(values.get("aug", "ada")))
        self.target.setValue(float(values.get("target", 0.6)))
        if self.scan is None or not self.scan.resolution:
            self.resolution.setCurrentText(str(values.get("resolution", 64)))

    def values(self) -> dict:
        """The form as TrainOptions fields (ADA's target only when ADA is on)."""
        values = {"outdir": self.outdir_edit.text().strip(), "data": self.data_edit.text().strip()}
        values.update({name: widget_value(widget) for name, widget in self.fields.items()})
        if values["aug"] != "ada":
            del values["target"]
        return values

    # ---- speed estimate
    def _invalidate_estimate(self, *_):
        self.estimate = None
        self._update_estimate_text()

    def _update_estimate_text(self, *_):
        if self._estimate_job is not None:
            return
        if self.estimate is None:
            self.estimate_label.setText("Not measured yet: Estimate speed trains a couple of steps on the device.")
            self.estimate_note.setText("")
            return
        e = self.estimate
        total = e.sec_per_kimg * self.kimg.value()
        speed = f"{e.sec_per_kimg:,.0f}" if e.sec_per_kimg >= 100 else f"{e.sec_per_kimg:.3g}"
        self.estimate_label.setText(f"<b>≈ {speed} s/kimg</b> on {e.device}; the whole run ≈ <b>{rr.format_duration(total)}</b>")
        self.estimate_note.setText(f"{e.note} The monitor shows the real speed once training runs.")

    def measure_speed(self) -> None:
        if self._estimate_job is not None:
            return
        preset = self.preset_table.get(self.cfg.currentText(), {})
        res = int(self.resolution.currentText())
        c_dim = self.scan.num_classes if self.scan and self.cond.isChecked() else 0
        device = self.device.currentText()
        cfg, batch, gamma, aug = self.cfg.currentText(), self.batch.value(), self.gamma.value(), self.aug.currentText()

        def fallback():
            return network_configs(preset, res, 3, c_dim, cuda=device == "cuda")

        def measure(job_ctx):
            return preflight.estimate_sec_per_kimg(cfg, res, device, batch, gamma, aug, fallback,
                                                   lambda: job_ctx.cancelled)

        self.estimate_label.setText(f"Measuring on {device} at {res}x{res}...")
        self.estimate_button.setEnabled(False)
        job = self.jobs.submit("speed measurement", measure,
                               on_done=lambda result: self._estimate_done(job, result, ""),
                               on_error=lambda error: self._estimate_done(job, None, error))
        self._estimate_job = job

    def _estimate_done(self, job: Job, result, error: str) -> None:
        if job is not self._estimate_job:
            return
        self._estimate_job = None
        self.estimate_button.setEnabled(True)
        if error:
            self.estimate = None
            self.estimate_label.setText(f"<span style='color:#f88'>Could not measure: {error}</span>")
            return
        self.estimate = result
        self._update_estimate_text()

    # ---- start
    def check(self) -> str:
        """Why Start cannot go ahead (one line), or '' when it can."""
        if not self.data_edit.text().strip():
            return "Choose a dataset first."
        if self._scan_job is not None:
            return "Wait for the dataset scan to finish."
        if self.scan is None:
            return "The dataset has not been scanned yet."
        if self.scan.error:
            return self.scan.error
        outdir = self.outdir_edit.text().strip()
        if not outdir:
            return "Choose an output folder."
        if Path(outdir).expanduser().exists() and not Path(outdir).expanduser().is_dir():
            return f"{Path(outdir).name}: the output folder is a file."
        return ""

    def argv(self) -> list[str]:
        """``explorer train`` arguments for the form (every form field spelled out, so the command reads whole).

        Raises UsageError for a value the trainer would refuse."""
        return TrainOptions(**self.values()).to_argv(explicit=FORM_FIELDS)

    def start(self) -> None:
        problem = self.check()
        if problem:
            self.message.setText(problem)
            return
        try:
            argv = self.argv()
            TrainOptions.from_namespace(self.parser.parse_args(argv))  # and the trainer's parser takes it
        except (argparse.ArgumentError, UsageError) as exc:
            self.message.setText(f"explorer train refuses these settings: {exc}")
            return
        self.message.setText("")
        outdir = Path(self.outdir_edit.text().strip()).expanduser()
        _settings().setValue(SETTINGS_OUTDIR, str(outdir))
        self.startRequested.emit(argv, outdir)

    def shutdown(self) -> None:
        """Closing must not wait on a long measurement: running tasks are cancelled and left to end alone."""
        self.jobs.cancel_all()  # their threads end at the next check; results are dropped


# ---------------------------------------------------------------------------------------------- dialog


class TrainingDialog(QDialog):
    """Form first (New run...) or the monitor straight away (Open run...). Non-modal; never blocks."""

    openSnapshot = Signal(object)
    LAUNCH_TIMEOUT_S = 600  # how long to wait for a run folder before assuming the trainer hangs

    def __init__(self, parent=None, run_dir: str | Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Train")
        self.setModal(False)
        self.resize(1020, 640)  # the form; the monitor asks for more room when it arrives
        self.stack = QStackedWidget()
        self.form: TrainingForm | None = None
        self.monitor = None  # a MonitorWidget once a run is attached
        self.process = None
        self._launch: dict | None = None
        self._launch_timer = QTimer(self)
        self._launch_timer.setInterval(250)
        self._launch_timer.timeout.connect(self._look_for_run_dir)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.stack)
        if run_dir is None:
            self.form = TrainingForm()
            self.form.startRequested.connect(self.launch)
            self.stack.addWidget(self.form)
            self.setWindowTitle("Train: new run")
        else:
            self.attach(run_dir)

    # ---- starting a run
    def launch(self, argv: list[str], outdir: Path) -> None:
        """Start the trainer detached and wait (polling, never blocking) for its run folder to appear."""
        try:
            outdir.mkdir(parents=True, exist_ok=True)
            before = {p.name for p in rr.run_dirs_in(outdir)}
            console = launch.console_log_path(outdir)
            self.process = launch.start_detached(launch.train_command(argv), console)
        except OSError as exc:
            self.form.message.setText(f"Cannot start the trainer: {exc.strerror or exc}")
            return
        self._launch = {"outdir": outdir, "before": before, "console": console, "started": time.monotonic()}
        self.form.start_button.setEnabled(False)
        self.form.message.setStyleSheet("color: #ccc;")
        self.form.message.setText("Starting the trainer...")
        self._launch_timer.start()

    def _look_for_run_dir(self) -> None:
        pending = self._launch
        new = launch.find_new_run(pending["outdir"], pending["before"])
        if new is not None:
            self._launch_timer.stop()
            self._launch = None
            self.attach(new, self.process, pending["console"])
            return
        code = self.process.poll()
        if code is not None or time.monotonic() - pending["started"] > self.LAUNCH_TIMEOUT_S:
            self._launch_timer.stop()
            self._launch = None
            self.form.start_button.setEnabled(True)
            self.form.message.setStyleSheet("color: #f88;")
            self.form.message.setText(launch.last_error_line(pending["console"]) or f"The trainer exited with status {code}.")

    # ---- monitoring
    def attach(self, run_dir: str | Path, process=None, console: Path | None = None):
        """Show the monitor of ``run_dir`` (raises RunDirError for a folder that is not a run)."""
        from explorer.gui.training_monitor import MonitorWidget  # pyqtgraph loads only when a monitor opens

        monitor = MonitorWidget(run_dir, process=process, console=console)
        monitor.openSnapshot.connect(self.openSnapshot)
        monitor.runDirChanged.connect(lambda path: self.setWindowTitle(f"Train: {Path(path).name}"))
        if self.monitor is not None:
            self.monitor.stop_polling()
            self.stack.removeWidget(self.monitor)
            self.monitor.deleteLater()
        self.monitor = monitor
        self.stack.addWidget(monitor)
        self.stack.setCurrentWidget(monitor)
        self.resize(max(self.width(), 1180), max(self.height(), 840))
        self.setWindowTitle(f"Train: {monitor.run_dir.name}")
        return monitor

    def closeEvent(self, event) -> None:
        """The run goes on: only this window's polling and its background measurements end."""
        self._shutdown()
        super().closeEvent(event)

    def done(self, result: int) -> None:  # Esc / reject: the same as closing
        self._shutdown()
        super().done(result)

    def _shutdown(self) -> None:
        self._launch_timer.stop()
        if self.monitor is not None:
            self.monitor.stop_polling()
        if self.form is not None:
            self.form.shutdown()


# ------------------------------------------------------------------------------------- the Train menu


class TrainMenu:
    """Train > New run... / Open run...: the training dialogs open from the window's menu bar (a feature).

    "Open in explorer" in a monitor opens the snapshot as the window's model while training goes on.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.dialogs: list[TrainingDialog] = []  # open ones (kept referenced while shown)
        self.new_action = ctx.add_action("train", "&New run...", self.new_run, name="actionTrainNew",
                                         tip="Train a model on your own images")
        self.open_action = ctx.add_action("train", "&Open run...", self.open_run, name="actionTrainOpen",
                                          tip="Watch a run folder's training (running or finished)")

    def _show(self, dialog: TrainingDialog) -> TrainingDialog:
        dialog.openSnapshot.connect(lambda path: self.ctx.open_model(path))
        dialog.finished.connect(lambda _=0, d=dialog: self.dialogs.remove(d) if d in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def new_run(self) -> TrainingDialog:
        return self._show(TrainingDialog(self.ctx.widget))

    def open_run(self, path: str | Path | None = None) -> TrainingDialog | None:
        if path is None:
            start = str(_settings().value(SETTINGS_OUTDIR) or Path.home())
            path = QFileDialog.getExistingDirectory(self.ctx.widget, "Open training run folder", start)
            if not path:
                return None
        try:
            return self._show(TrainingDialog(self.ctx.widget, run_dir=rr.resolve_run_dir(path)))
        except ExplorerError as exc:
            self.ctx.show_error(str(exc))
            return None


def install(ctx) -> TrainMenu:
    return TrainMenu(ctx)
