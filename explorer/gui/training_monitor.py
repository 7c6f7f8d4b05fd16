"""The training monitor: progress, plots, fakes grids over time, the log, and Stop / Resume / Open in explorer.

It watches a run directory and nothing else (``explorer.train.run_reader`` does the reading), so it attaches
the same way to a run this window started, one started from a terminal, or one that finished last week.
A QTimer polls the folder once a second; each poll reads only the bytes stats.jsonl gained. The trainer is a
separate process: closing the monitor, or the whole app, leaves it running. Stop is graceful (the
``stop-request`` file: the trainer finishes its tick, writes a snapshot, exits), never a kill.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QRunnable, QSize, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFontDatabase, QImage, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.errors import ExplorerError
from explorer.gui.theme import CANVAS_BACKGROUND
from explorer.train import launch
from explorer.train import run_reader as rr

POLL_MS = 1000
SYNC_DECODE_BYTES = 4 * 2**20  # grids up to this size decode at once; bigger ones in a pool thread
# Plot title -> the stats.jsonl names it draws (label, colour). "Metrics" is filled from metric-*.jsonl.
PLOTS: list[tuple[str, list[tuple[str, str, str]]]] = [
    ("Losses", [("Loss/G/loss", "G", "#5b9bd5"), ("Loss/D/loss", "D", "#ed7d31")]),
    ("R1 penalty", [("Loss/r1_penalty", "R1", "#a5d65b")]),
    ("Path length penalty", [("Loss/pl_penalty", "PL", "#c58bd9")]),
    ("Augment p (ADA)", [("Progress/augment", "p", "#ffc000")]),
    ("Seconds per kimg", [("Timing/sec_per_kimg", "s/kimg", "#4fc1c9")]),
    ("Metrics", []),
]
METRIC_COLOURS = ("#ff6b6b", "#6bffb0", "#6b9bff", "#ffd86b")
STATUS_COLOURS = {"running": "#6c6", "stopping": "#fc6", "finished": "#8af", "stopped": "#aaa", "failed": "#f66"}



class GridView(QWidget):
    """One fakes grid, fitted to the widget; magnified grids are drawn with crisp (nearest) pixels."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(200, 160)
        self.image: QImage | None = None
        self.path: Path | None = None
        self.message = "No fakes grid yet"

    def set_image(self, image: QImage | None, path: Path | None = None, message: str = "") -> None:
        self.image, self.path = image, path
        self.message = message
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 320)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), CANVAS_BACKGROUND)
        if self.image is None or self.image.isNull():
            p.setPen(QColor(150, 150, 155))
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.message)
            return
        w, h = self.image.width(), self.image.height()
        scale = min(self.width() / w, self.height() / h)
        dpr = self.devicePixelRatioF()
        if scale * dpr >= 2:  # whole device pixels per image pixel: crisp, and at most a third unused
            scale = int(scale * dpr) / dpr
        else:
            p.setRenderHint(QPainter.SmoothPixmapTransform)
        tw, th = w * scale, h * scale
        target = QRectF((self.width() - tw) / 2, (self.height() - th) / 2, tw, th)
        p.drawImage(target, self.image)


class _Decoder(QObject):
    """Carries decoded grids from pool threads back to the GUI thread (a queued signal)."""

    decoded = Signal(object, float, object)


class _Decode(QRunnable):
    def __init__(self, path: Path, mtime: float, decoder: _Decoder):
        super().__init__()
        self.path, self.mtime, self.decoder = path, mtime, decoder

    def run(self) -> None:
        self.decoder.decoded.emit(self.path, self.mtime, QImage(str(self.path)))  # QImage is thread-safe


class MonitorWidget(QWidget):
    """Everything about one run dir. ``openSnapshot(path)`` asks the main window to load a network."""

    openSnapshot = Signal(object)
    statusChanged = Signal(str)
    runDirChanged = Signal(object)  # Resume continues in a new run dir; the monitor follows it
    RESUME_TIMEOUT_S = 600

    def __init__(self, run_dir: str | Path, process: subprocess.Popen | None = None, parent=None,
                 poll_ms: int = POLL_MS, console: Path | None = None):
        super().__init__(parent)
        self.console = console  # the started process's stdout/stderr: where an early error line lands
        self.run_dir = rr.check_run_dir(run_dir) if process is None else Path(run_dir)
        self.reader = rr.RunReader(self.run_dir)
        self.process = process  # set when this window started the trainer: its exit is the best evidence
        self.status = ""
        self._resume: dict | None = None
        self._images: dict[Path, tuple[float | None, QImage]] = {}
        self._decoding: set[Path] = set()
        self._decoder = _Decoder(self)
        self._decoder.decoded.connect(self._on_decoded)
        self._follow_latest = True
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.refresh)
        self.refresh()
        self.timer.start()

    # ---- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title.setFont(font)
        self.status_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.eta_label = QLabel()

        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Graceful stop: the trainer finishes this tick, saves a snapshot and exits")
        self.stop_button.clicked.connect(self.request_stop)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue this run from its last saved state (explorer train --resume)")
        self.resume_button.clicked.connect(self.resume)
        self.open_button = QPushButton("Open in explorer")
        self.open_button.setToolTip("Load the snapshot shown on the timeline into the main window")
        self.open_button.clicked.connect(self.open_in_explorer)
        self.folder_button = QPushButton("Show folder")
        self.folder_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.run_dir))))

        self.message = QLabel()
        self.message.setStyleSheet("color: #f88;")
        self.message.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.message, 1)
        header.addWidget(self.status_label)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.eta_label)
        buttons = QHBoxLayout()
        for b in (self.stop_button, self.resume_button, self.open_button, self.folder_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        # Plots: one GraphicsLayoutWidget (one scene) is far cheaper than six PlotWidgets.
        # Colours set per widget, not with pg.setConfigOptions: other windows may use pyqtgraph differently.
        self.plots_widget = pg.GraphicsLayoutWidget()
        self.plots_widget.setBackground(CANVAS_BACKGROUND)
        self.plots_widget.setMinimumSize(360, 300)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.empty: dict[str, bool] = {}
        for i, (title, names) in enumerate(PLOTS):
            plot = self.plots_widget.addPlot(row=i // 2, col=i % 2, title=title)
            for side in ("left", "bottom"):
                plot.getAxis(side).setPen("#888")
                plot.getAxis(side).setTextPen("#bbb")
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setLabel("bottom", "kimg")
            plot.getAxis("bottom").setHeight(30)
            plot.getAxis("left").setWidth(54)  # fixed, so the six plots' x axes line up; fits "0.0008"
            if len(names) > 1:  # Metrics gets its legend with its first curve (an empty one is a stray box)
                plot.addLegend(offset=(-6, 6), labelTextSize="8pt", brush=pg.mkBrush(24, 24, 26, 210),
                               pen=pg.mkPen("#444"))
            for name, label, colour in names:
                self.curves[name] = plot.plot([], [], name=label, pen=pg.mkPen(colour, width=1.6), antialias=True)
            if self.plots:  # one kimg axis for all: zooming one plot zooms them all, metrics line up
                plot.setXLink(next(iter(self.plots.values())))
            self.plots[title] = plot
            self._placeholder(title, True)

        self.grid_view = GridView()
        self.grid_caption = QLabel("Fixed-seed fakes")
        self.timeline = QSlider(Qt.Horizontal)
        self.timeline.setRange(0, 0)
        self.timeline.setPageStep(1)
        self.timeline.setTickPosition(QSlider.TicksBelow)
        self.timeline.setToolTip("Snapshot timeline: the same seeds at each snapshot. Drag to scrub through training.")
        self.timeline.valueChanged.connect(self._timeline_moved)
        grid_box = QWidget()
        grid_layout = QVBoxLayout(grid_box)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        self.reals_button = QPushButton("Reals")
        self.reals_button.setCheckable(True)
        self.reals_button.setToolTip("Hold up the training images (reals.png) against the fakes")
        self.reals_button.toggled.connect(lambda _: self._show_snapshot(self.timeline.value()))
        caption_row = QHBoxLayout()
        caption_row.addWidget(self.grid_caption, 1)
        caption_row.addWidget(self.reals_button)
        grid_layout.addLayout(caption_row)
        grid_layout.addWidget(self.grid_view, 1)
        grid_layout.addWidget(self.timeline)

        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(400)
        self.log_view.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.log_view.setPlaceholderText("log.txt is empty so far")

        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.plots_widget)
        top.addWidget(grid_box)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        body = QSplitter(Qt.Vertical)
        body.addWidget(top)
        body.addWidget(self.log_view)
        body.setStretchFactor(0, 4)
        body.setStretchFactor(1, 1)
        body.setSizes([520, 140])

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(progress_row)
        layout.addLayout(buttons)
        layout.addWidget(body, 1)

    # ---- polling ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """One poll of the run dir; redraws only what changed."""
        if self._resume is not None:
            self._follow_resume()
        update = self.reader.poll()
        if update.new_rows or update.stats_reset or update.options_changed:
            self._update_plots()
        if update.metrics_changed:
            self._update_metrics()
        if update.snapshots_changed:
            self._update_timeline()
        if update.log_changed:
            self._update_log()
        self._update_progress()
        self._update_status()

    def _update_plots(self) -> None:
        for title, names in PLOTS:
            has_data = False
            for name, _, _ in names:
                series = self.reader.series.get(name)
                if series is not None and series.x:
                    self.curves[name].setData(series.x, series.y)
                    has_data = True
                else:
                    self.curves[name].setData([], [])
            if names:
                self._placeholder(title, not has_data)

    def _update_metrics(self) -> None:
        plot = self.plots["Metrics"]
        for i, (name, series) in enumerate(sorted(self.reader.metrics.items())):
            key = f"metric:{name}"
            if key not in self.curves:
                if plot.legend is None:
                    plot.addLegend(offset=(-6, 6), labelTextSize="8pt", brush=pg.mkBrush(24, 24, 26, 210),
                                   pen=pg.mkPen("#444"))
                colour = METRIC_COLOURS[i % len(METRIC_COLOURS)]
                self.curves[key] = plot.plot([], [], name=name, pen=pg.mkPen(colour, width=1.6),
                                             symbol="o", symbolSize=5, symbolBrush=colour, antialias=True)
            self.curves[key].setData(series.x, series.y)
        self._placeholder("Metrics", not self.reader.metrics)

    def _placeholder(self, title: str, empty: bool) -> None:
        """Empty plots say so in their title (text inside the view would drift with the linked x range)."""
        note = ""
        if empty:
            note = "no data yet"
            off = self._switched_off()
            if title == "Metrics":
                note = "none yet" if self.reader.options.get("metrics") else "none in this run"
            elif title in off:
                note = off[title]
        self.empty[title] = empty
        suffix = f" <span style='color:#777; font-size:9pt'>({note})</span>" if note else ""
        self.plots[title].setTitle(f"{title}{suffix}", color="#ccc")

    def _switched_off(self) -> dict[str, str]:
        """Plots this run's options say will stay empty, and why (so 'no data yet' does not mislead)."""
        o = self.reader.options
        loss = o.get("loss_kwargs") if isinstance(o.get("loss_kwargs"), dict) else {}
        off = {}
        if loss.get("pl_weight") == 0:
            off["Path length penalty"] = "off in this run"
        if loss.get("r1_gamma") == 0:
            off["R1 penalty"] = "off in this run (gamma 0)"
        if o.get("augment") == "noaug":
            off["Augment p (ADA)"] = "off in this run"
        elif o.get("augment") == "fixed":
            off["Augment p (ADA)"] = "fixed p"
        return off

    def _update_progress(self) -> None:
        reader = self.reader
        total, kimg = reader.total_kimg, reader.kimg
        name = self.run_dir.name
        parent = reader.resumed_from
        note = f"  <span style='color:#999; font-weight:normal'>(continues {parent.name})</span>" if parent else ""
        self.title.setText(f"{name}{note}")
        if total:
            self.progress.setValue(int(round(1000 * min(kimg / total, 1.0))))
            self.progress.setFormat(f"{kimg:g} of {total:g} kimg  (%p%)")
        else:
            self.progress.setValue(0)
            self.progress.setFormat(f"{kimg:g} kimg")
        speed = reader.sec_per_kimg
        parts = []
        if speed is not None:
            parts.append(f"{speed:.3g} s/kimg")
        if self.status in ("running", "stopping") and reader.eta_seconds is not None:
            parts.append(f"ETA {rr.format_duration(reader.eta_seconds)}")
        self.eta_label.setText("   ".join(parts))

    def _update_status(self) -> None:
        if self._resume is not None:
            return
        process_running = None
        if self.process is not None:
            code = self.process.poll()
            process_running = code is None
            if code not in (None, 0) and not self.message.text():
                line = launch.last_error_line(self.console) if self.console else ""
                self.message.setText(line or f"The trainer exited with status {code}; see the log below.")
        status = self.reader.status(process_running)
        if status == "stopped" and self.process is not None and self.process.poll() not in (None, 0):
            status = "failed"
        if status != self.status:
            self.status = status
            colour = STATUS_COLOURS.get(status, "#aaa")
            self.status_label.setText(f"<b style='color:{colour}'>● {status}</b>")
            self.statusChanged.emit(status)
            self._update_progress()
        self.stop_button.setEnabled(status == "running")
        self.resume_button.setEnabled(status in ("stopped", "failed"))
        self.open_button.setEnabled(self._selected_network() is not None)

    def _update_log(self) -> None:
        bar = self.log_view.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        text = self.reader.log_tail()
        if text != self.log_view.toPlainText():
            self.log_view.setPlainText(text)
            if at_end:
                bar.setValue(bar.maximum())

    # ---- the snapshot timeline ----------------------------------------------------------------------
    @property
    def timeline_snapshots(self) -> list[rr.Snapshot]:
        return [s for s in self.reader.snapshots if s.fakes is not None]

    def _update_timeline(self) -> None:
        snaps = self.timeline_snapshots
        was_at_end = self._follow_latest
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, max(0, len(snaps) - 1))
        if was_at_end:
            self.timeline.setValue(max(0, len(snaps) - 1))
        self.timeline.blockSignals(False)
        self.timeline.setEnabled(len(snaps) > 1)
        self._show_snapshot(self.timeline.value())

    def _timeline_moved(self, index: int) -> None:
        self._follow_latest = index >= self.timeline.maximum()
        self.reals_button.setChecked(False)  # scrubbing means: show me the fakes
        self._show_snapshot(index)

    def _show_snapshot(self, index: int) -> None:
        if self.reals_button.isChecked():
            reals = self.run_dir / "reals.png"
            image = self._load_image(reals) if reals.is_file() else None
            self.grid_caption.setText("Training images (reals.png)")
            if image is None:
                self.grid_view.set_image(None, message="No reals.png in this run")
            else:
                self.grid_view.set_image(image, reals)
            return
        snaps = self.timeline_snapshots
        if not snaps:
            self.grid_caption.setText("Fixed-seed fakes")
            self.grid_view.set_image(None, message="No fakes grid yet: the trainer writes one at each snapshot")
            return
        snap = snaps[min(index, len(snaps) - 1)]
        image = self._load_image(snap.fakes)
        latest = " (latest)" if index >= len(snaps) - 1 else ""
        self.grid_caption.setText(f"Fixed-seed fakes at {snap.label}{latest}   [{index + 1} of {len(snaps)}]")
        if image is None:
            pending = snap.fakes in self._decoding
            self.grid_view.set_image(None, message=f"{'Loading' if pending else 'Cannot read yet:'} {snap.fakes.name}")
        else:
            self.grid_view.set_image(image, snap.fakes)
        self.open_button.setEnabled(self._selected_network() is not None)

    def _load_image(self, path: Path) -> QImage | None:
        """Grids are cached by mtime: scrubbing re-shows them without decoding PNGs again."""
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._images.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            big = path.stat().st_size > SYNC_DECODE_BYTES
        except OSError:
            return None
        if big:  # a 1024px run's grid is 7680x4320: decode it off the GUI thread, show it when ready
            if path not in self._decoding:
                self._decoding.add(path)
                QThreadPool.globalInstance().start(_Decode(path, mtime, self._decoder))
            return None
        image = QImage(str(path))
        self._cache_image(path, mtime, image)
        return None if image.isNull() else image

    def _cache_image(self, path: Path, mtime: float, image: QImage) -> None:
        if image.isNull():
            return  # perhaps half-written by a trainer that does not write atomically: next poll
        if len(self._images) > 16:
            self._images.pop(next(iter(self._images)))
        self._images[path] = (mtime, image)

    def _on_decoded(self, path: Path, mtime: float, image: QImage) -> None:
        self._decoding.discard(path)
        self._cache_image(path, mtime, image)
        snaps = self.timeline_snapshots
        showing_reals = self.reals_button.isChecked() and path.name == "reals.png"
        if showing_reals or (snaps and snaps[min(self.timeline.value(), len(snaps) - 1)].fakes == path):
            self._show_snapshot(self.timeline.value())

    def select_snapshot(self, index: int) -> None:
        self.timeline.setValue(index)

    def _selected_network(self) -> Path | None:
        """The network of the snapshot on the timeline; the init grid (no network) falls back to the latest."""
        snaps = self.timeline_snapshots
        if snaps:
            snap = snaps[min(self.timeline.value(), len(snaps) - 1)]
            if snap.network is not None:
                return snap.network
        return self.reader.latest_network

    # ---- actions ------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        try:
            rr.request_stop(self.run_dir)
        except OSError as exc:
            self.message.setText(f"Cannot write {rr.STOP_FILE} in {self.run_dir.name}: {exc.strerror or exc}")
            return
        self.refresh()

    def resume(self) -> None:
        """Start ``explorer train --resume RUN_DIR`` detached; follow the new run dir it makes beside this one."""
        outdir = self.run_dir.parent
        try:
            (self.run_dir / rr.STOP_FILE).unlink(missing_ok=True)
            command = launch.resume_command(self.run_dir, self.reader.options or None)
            before = {p.name for p in rr.run_dirs_in(outdir)}
            console = launch.console_log_path(outdir)
            process = launch.start_detached(command, console)
        except (OSError, ExplorerError) as exc:
            self.message.setText(f"Cannot resume: {exc}")
            return
        self.message.setText("")
        self._resume = {"process": process, "before": before, "console": console, "started": time.monotonic(),
                        "from": self.run_dir}
        self.resume_button.setEnabled(False)
        self.status_label.setText("<b style='color:#fc6'>● resuming…</b>")

    def _follow_resume(self) -> None:
        resume = self._resume
        new = launch.find_new_run(resume["from"].parent, resume["before"], resumed_from=resume["from"])
        if new is not None:
            self._resume = None
            self.switch_run(new, resume["process"], resume["console"])
            return
        code = resume["process"].poll()
        if code is not None or time.monotonic() - resume["started"] > self.RESUME_TIMEOUT_S:
            self._resume = None
            self.message.setText(launch.last_error_line(resume["console"]) or f"The trainer exited with status {code}.")
            self.status = ""  # redraw the status badge

    def switch_run(self, run_dir: str | Path, process: subprocess.Popen | None = None, console: Path | None = None) -> None:
        """Watch another run dir (the continuation of this one): everything is redrawn from it."""
        self.run_dir = Path(run_dir)
        self.process, self.console = process, console
        self.message.setText("")
        self.reader = rr.RunReader(self.run_dir)
        self.reader.poll()
        plot = self.plots["Metrics"]
        for key in [k for k in self.curves if k.startswith("metric:")]:
            plot.removeItem(self.curves.pop(key))
        self._follow_latest = True
        self._update_plots()
        self._update_metrics()
        self._update_timeline()
        self._update_log()
        self.status = ""
        self._update_progress()
        self._update_status()
        self.runDirChanged.emit(self.run_dir)

    def open_in_explorer(self) -> None:
        path = self._selected_network()
        if path is not None:
            self.openSnapshot.emit(path)

    def stop_polling(self) -> None:
        self.timer.stop()

    def closeEvent(self, event) -> None:  # the run goes on; only our polling ends
        self.timer.stop()
        super().closeEvent(event)


class MonitorWindow(QWidget):
    """A top-level window around one MonitorWidget (``explorer monitor``).

    ``open_snapshot(path)`` is what "Open in explorer" does; the caller supplies it (the monitor knows no
    explorer window, which keeps this module free of an import of the app that imports it).
    """

    def __init__(self, run_dir: str | Path, process: subprocess.Popen | None = None, parent=None,
                 open_snapshot: Callable[[Path], None] | None = None):
        super().__init__(parent, Qt.Window)
        self.monitor = MonitorWidget(run_dir, process=process)
        self.setWindowTitle(f"Training monitor: {self.monitor.run_dir.name}")
        self.monitor.runDirChanged.connect(lambda path: self.setWindowTitle(f"Training monitor: {Path(path).name}"))
        if open_snapshot is not None:
            self.monitor.openSnapshot.connect(open_snapshot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.monitor)
        self.resize(1180, 820)

    def closeEvent(self, event) -> None:
        self.monitor.stop_polling()
        super().closeEvent(event)


def save_screenshot(widget: QWidget, path: str | Path) -> None:
    """Show ``widget``, let Qt lay it out and paint (plots included), then save it as a PNG atomically."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtWidgets import QApplication

    from explorer.fileio import atomic_write_bytes

    widget.show()
    for _ in range(5):  # layout, then pyqtgraph's deferred range/axis updates, then the paint
        QApplication.processEvents()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    widget.grab().save(buffer, "PNG")
    buffer.close()
    atomic_write_bytes(path, bytes(data.data()))
