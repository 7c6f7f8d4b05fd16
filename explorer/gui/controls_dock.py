"""Dock "Controls": live control of any parameter from OSC, MIDI and LFOs (engine: ``explorer.control``).

The input threads only push into a ``ControlHub``; a ~60 Hz timer in the UI thread polls it and applies
everything that arrived as one new state (latest value per address wins, as a drag does), so the
widgets move and the canvas renders at once however many messages come. A burst of changes is one undo
step: the gesture begins with the first change after a quiet spell and ends after ``BURST_GAP_S`` of
quiet. The mappings, LFOs and tempo are kept in the session and in exported PNGs' recipes (part "controls")
and re-bound when either opens.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.control import midi
from explorer.control.capture import AudioInput, capture_backends
from explorer.control.hub import ControlHub
from explorer.control.lfo import BPM_RANGE, SHAPES, UNITS, Lfo, check_bpm
from explorer.control.mapping import CURVES, Mapping, mappings_from_json
from explorer.control.osc import DEFAULT_HOST, LOOP_ADDRESS, OscInput, OscOutput
from explorer.control.targets import MODULATABLE_KINDS, apply_values
from explorer.engine.params import ParamRegistry
from explorer.errors import ExplorerError, UsageError
from explorer.gui.widgets import ComboBox, DoubleSpinBox, SpinBox, blocked

POLL_MS = 16  # ~60 Hz: as often as the canvas can show a new image
METER_EVERY = 6  # polls between meter / light / counter refreshes (~10 Hz)
BURST_GAP_S = 0.5  # quiet after which a burst of live changes is closed as one undo step
LIGHT_ON_S = 0.3  # a source's light stays lit this long after a message
DEFAULT_OSC_PORT = 9000
LFO_COUNT = 2
CONTROL = "live-control"  # the undo 'control' name of live changes
COLUMNS = ("On", "Source", "Parameter", "Out low", "Out high", "Curve", "Smooth ms", "Invert", "Level", "")


class Light(QLabel):
    """A round status light: grey (off), dim green (ready), bright green (a message just came), red."""

    COLOURS = {"off": "#555", "ready": "#2d6a3e", "active": "#3ddc6b", "error": "#d9534f"}

    def __init__(self, name: str):
        super().__init__()
        self.setObjectName(name)
        self.setFixedSize(12, 12)
        self.set("off")

    def set(self, status: str) -> None:
        self.status = status
        self.setStyleSheet(f"background: {self.COLOURS[status]}; border-radius: 6px;")


class ControlsDock(QWidget):
    """The dock's widgets plus the hub, the ports and the clock that applies what they bring."""

    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.hub = ControlHub()
        self.hub.clock_start = time.monotonic()
        self.hub.lfos = tuple(Lfo() for _ in range(LFO_COUNT))
        self.osc: OscInput | None = None
        self.osc_out: OscOutput | None = None
        self.midi: midi.MidiInput | None = None
        self.audio_in: AudioInput | None = None
        self._sent: dict[str, object] = {}
        self._registry_key = None
        self._in_burst = False
        self._last_change = 0.0
        self._polls = 0
        self.meters: list[QProgressBar] = []  # one per mapping row
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.tick)
        ctx.modelLoaded.connect(lambda info: self._rebind(force=True))
        ctx.stateChanged.connect(self._on_state)
        ctx.paramSet.connect(self._on_param_touched)
        timeline = ctx.feature("timeline_panel")
        self._loops = 0
        if timeline is not None:  # OSC out pulses each cycle of the timeline's preview
            timeline.previewShown.connect(self._on_preview_frame)
        ctx.register_session_part("controls", self.session_part, self.set_session_part, in_recipes=True)
        ctx.closing.connect(self.shutdown)
        self._rebind(force=True)  # a model already open (features may install after it loaded)

    # ---- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        sources = QGroupBox("Sources")
        form = QFormLayout(sources)

        self.osc_light = Light("oscLight")
        self.osc_listen = QCheckBox("Listen on 127.0.0.1")
        self.osc_listen.setObjectName("oscListen")
        self.osc_port = SpinBox()
        self.osc_port.setObjectName("oscPort")
        self.osc_port.setRange(1, 65535)
        self.osc_port.setValue(DEFAULT_OSC_PORT)
        self.osc_listen.toggled.connect(self._osc_toggled)
        form.addRow("OSC in", self._row(self.osc_light, self.osc_listen, self.osc_port))

        self.osc_send = QCheckBox("Send values")
        self.osc_send.setObjectName("oscSend")
        self.osc_send_port = SpinBox()
        self.osc_send_port.setRange(1, 65535)
        self.osc_send_port.setValue(DEFAULT_OSC_PORT + 1)
        self.osc_send.toggled.connect(self._osc_send_toggled)
        form.addRow("OSC out", self._row(self.osc_send, self.osc_send_port))

        self.midi_light = Light("midiLight")
        self.midi_ports = ComboBox()
        self.midi_ports.setObjectName("midiPorts")
        self.midi_open = QPushButton("Open")
        self.midi_open.clicked.connect(lambda: self.open_midi(self.midi_ports.currentText()))
        problem = midi.backend_problem()
        if problem is None:
            self.midi_ports.addItems(midi.input_names())
        else:
            self.midi_ports.setEnabled(False)
            self.midi_open.setEnabled(False)
            self.midi_ports.setToolTip(problem)
        self.midi_note = QLabel(problem or "")
        self.midi_note.setObjectName("midiNote")
        self.midi_note.setWordWrap(True)
        form.addRow("MIDI in", self._row(self.midi_light, self.midi_ports, self.midi_open))
        if problem:
            form.addRow("", self.midi_note)

        self.audio_light = Light("audioLight")
        self.audio_devices = ComboBox()
        self.audio_devices.setObjectName("audioDevices")
        self.audio_devices.setEditable(True)  # FORMAT:DEVICE, e.g. alsa:hw:1 or lavfi:sine=frequency=220
        self.audio_devices.addItems([f"{fmt}:{device}" for fmt, device in capture_backends()])
        self.audio_devices.setToolTip("FORMAT:DEVICE of a microphone or line input (FFmpeg's capture devices); "
                                      "lavfi:sine=frequency=440 is a test tone")
        self.audio_open = QPushButton("Open")
        self.audio_open.setObjectName("audioOpen")
        self.audio_open.setCheckable(True)
        self.audio_open.toggled.connect(self._audio_toggled)
        form.addRow("Audio in", self._row(self.audio_light, self.audio_devices, self.audio_open))

        self.lfo_widgets = []
        for k in range(LFO_COUNT):
            shape, rate, unit = ComboBox(), DoubleSpinBox(), ComboBox()
            shape.addItems(list(SHAPES))
            rate.setRange(0.0, 100.0)
            rate.setDecimals(3)
            rate.setValue(self.hub.lfos[k].rate)
            unit.addItems(list(UNITS))
            for w in (shape, unit):
                w.currentTextChanged.connect(lambda _=None: self._lfos_edited())
            rate.valueChanged.connect(lambda _=None: self._lfos_edited())
            self.lfo_widgets.append((shape, rate, unit))
            form.addRow(f"LFO {k}", self._row(shape, rate, unit))

        self.bpm = DoubleSpinBox()
        self.bpm.setObjectName("bpm")
        self.bpm.setRange(*BPM_RANGE)
        self.bpm.setValue(self.hub.tempo.bpm)
        self.bpm.setSuffix(" BPM")
        self.bpm.valueChanged.connect(self._bpm_edited)
        tap = QPushButton("Tap")
        tap.setObjectName("tapTempo")
        tap.clicked.connect(self.tap)
        form.addRow("Tempo", self._row(self.bpm, tap))
        layout.addWidget(sources)

        mappings = QGroupBox("Mappings")
        box = QVBoxLayout(mappings)
        self.enabled = QCheckBox("Enable all")
        self.enabled.setObjectName("controlsEnabled")
        self.enabled.setChecked(True)
        self.enabled.toggled.connect(self._enabled_toggled)
        self.counters = QLabel()
        self.counters.setObjectName("controlCounters")
        self.counters.setWordWrap(True)
        box.addWidget(self.enabled)
        box.addWidget(self.counters)
        self.learn_target = ComboBox()
        self.learn_target.setObjectName("learnTarget")
        self.learn_button = QPushButton("Learn")
        self.learn_button.setObjectName("learnButton")
        self.learn_button.setCheckable(True)
        self.learn_button.setToolTip("Pick a parameter, press Learn, move a knob (MIDI or OSC): mapped")
        self.learn_button.toggled.connect(self._learn_toggled)
        self.lfo_source = ComboBox()
        self.lfo_source.addItems([f"lfo/{k}" for k in range(LFO_COUNT)])
        add_lfo = QPushButton("Add LFO")
        add_lfo.setObjectName("addLfoMapping")
        add_lfo.clicked.connect(lambda: self.add_mapping(Mapping(self.lfo_source.currentText(),
                                                                 self.learn_target.currentText())))
        box.addLayout(self._row(self.learn_target, self.learn_button, self.lfo_source, add_lfo))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("mappingTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(160)
        box.addWidget(self.table)
        layout.addWidget(mappings)
        layout.addStretch(1)
        self._update_counters()

    @staticmethod
    def _row(*widgets) -> QHBoxLayout:
        row = QHBoxLayout()
        for w in widgets:
            row.addWidget(w)
        return row

    # ---- the registry follows the model and the state's edits ---------------------------------------
    def _on_state(self, state) -> None:
        self._rebind()
        self._send_values(state)

    def _rebind(self, force: bool = False) -> None:
        info = self.ctx.model_info
        if info is None:
            return
        state = self.ctx.state
        key = (info.path, len(state.edits), state.blend is None)
        if key == self._registry_key and not force:
            return
        self._registry_key = key
        registry = ParamRegistry.for_model(info, state)
        self.hub.set_registry(registry)
        current = self.learn_target.currentText()
        with blocked(self.learn_target):
            self.learn_target.clear()
            self.learn_target.addItems([p.address for p in registry if p.kind in MODULATABLE_KINDS])
            index = self.learn_target.findText(current or "psi")
            self.learn_target.setCurrentIndex(max(index, 0))

    def _update_clock(self) -> None:
        """Poll only while something can send: a port is open, a mapping exists or learn is armed (an idle
        window costs nothing); keep polling until an open burst is closed."""
        active = (self.osc is not None or self.midi is not None or self.audio_in is not None or bool(self.hub.mappings)
                  or self.hub.learning is not None or self._in_burst)
        if active and not self._timer.isActive():
            self._timer.start()
        elif not active:
            self._timer.stop()

    # ---- sources -----------------------------------------------------------------------------------
    def listen_osc(self, port: int, host: str = DEFAULT_HOST) -> None:
        """Start OSC input (raises a one-line ``UsageError`` if the port cannot be had)."""
        self.stop_osc()
        self.osc = OscInput(self.hub, port, host)
        with blocked(self.osc_listen, self.osc_port):
            self.osc_listen.setChecked(True)
            self.osc_listen.setText(f"Listen on {host}")
            self.osc_port.setValue(self.osc.port)
        self.osc_light.set("ready")
        self._update_clock()
        self.dock.setVisible(True)
        self.dock.raise_()

    def stop_osc(self) -> None:
        if self.osc is not None:
            self.osc.close()
            self.osc = None
        self._update_clock()
        self.osc_light.set("off")
        with blocked(self.osc_listen):
            self.osc_listen.setChecked(False)

    def _osc_toggled(self, on: bool) -> None:
        if not on:
            self.stop_osc()
            return
        try:
            self.listen_osc(self.osc_port.value())
        except ExplorerError as exc:
            self.ctx.show_error(str(exc))
            self.stop_osc()
            self.osc_light.set("error")

    def send_osc(self, port: int | None) -> None:
        """Send changed values (and a pulse per beat) to 127.0.0.1:``port``; None stops."""
        self.osc_out = OscOutput(port) if port is not None else None
        self._sent.clear()
        with blocked(self.osc_send, self.osc_send_port):
            self.osc_send.setChecked(port is not None)
            if port is not None:
                self.osc_send_port.setValue(port)
        if port is not None:
            self._send_values(self.ctx.state)

    def _osc_send_toggled(self, on: bool) -> None:
        self.send_osc(self.osc_send_port.value() if on else None)

    def open_midi(self, name: str) -> None:
        """Open a MIDI input port (a one-line ``UsageError`` when it, or a backend, is missing)."""
        if self.midi is not None:
            self.midi.close()
            self.midi = None
        self.midi = midi.MidiInput(self.hub, name)
        self.midi_light.set("ready")
        self._update_clock()

    def open_audio(self, text: str) -> None:
        """Listen to ``FORMAT:DEVICE`` (a one-line ``UsageError`` when it cannot be opened)."""
        self.close_audio()
        fmt, sep, device = text.partition(":")
        if not sep or not fmt or not device:
            raise UsageError(f"audio input {text!r}: expected FORMAT:DEVICE, e.g. alsa:default")
        self.audio_in = AudioInput(self.hub, device, fmt)
        self.audio_light.set("ready")
        with blocked(self.audio_open):
            self.audio_open.setChecked(True)
            self.audio_open.setText("Close")
        self._update_clock()

    def close_audio(self) -> None:
        if self.audio_in is not None:
            self.audio_in.close()
            self.audio_in = None
        self.audio_light.set("off")
        with blocked(self.audio_open):
            self.audio_open.setChecked(False)
            self.audio_open.setText("Open")
        self._update_clock()

    def _audio_toggled(self, on: bool) -> None:
        if not on:
            self.close_audio()
            return
        try:
            self.open_audio(self.audio_devices.currentText().strip())
        except ExplorerError as exc:
            self.close_audio()
            self.audio_light.set("error")
            self.ctx.show_error(str(exc))

    def tap(self) -> None:
        bpm = self.hub.tempo.tap(time.monotonic())
        with blocked(self.bpm):
            self.bpm.setValue(bpm)

    def _bpm_edited(self, value: float) -> None:
        self.hub.tempo.bpm = check_bpm(value)

    def _lfos_edited(self) -> None:
        self.hub.lfos = tuple(Lfo(shape.currentText(), rate.value(), unit.currentText())
                              for shape, rate, unit in self.lfo_widgets)

    def _enabled_toggled(self, on: bool) -> None:
        self.hub.enabled = on

    # ---- mappings ----------------------------------------------------------------------------------
    def add_mapping(self, mapping: Mapping) -> None:
        self.set_mappings(self.hub.mappings + (mapping,))

    def set_mappings(self, mappings) -> None:
        self.hub.set_mappings(tuple(mappings))
        self._fill_table()
        self._update_clock()

    def _learn_toggled(self, on: bool) -> None:
        self.hub.learn(self.learn_target.currentText() if on else None)
        self._update_clock()
        self.learn_button.setText("Move a control..." if on else "Learn")

    def _on_preview_frame(self, frame: int) -> None:
        if frame == 0 and self.osc_out is not None:
            self._loops += 1
            self.osc_out.pulse(self._loops, LOOP_ADDRESS)

    def _on_param_touched(self, address: str) -> None:
        """While learning, touching a slider or box in the window picks its parameter as the target
        (click a control, move a knob, done), if live control can drive it."""
        if not self.learn_button.isChecked():
            return
        index = self.learn_target.findText(address)
        if index >= 0 and address != self.learn_target.currentText():
            self.learn_target.setCurrentIndex(index)
            self.hub.learn(address)
            self.ctx.show_status(f"Learning {address}: move a knob or send an OSC value")

    def _fill_table(self) -> None:
        mappings = self.hub.mappings
        self.table.setRowCount(len(mappings))
        self.meters = []
        for row, m in enumerate(mappings):
            on = QCheckBox()
            on.setChecked(m.enabled)
            on.toggled.connect(lambda v, row=row: self._edit_mapping(row, enabled=v))
            low, high = DoubleSpinBox(), DoubleSpinBox()
            for box, value, name in ((low, m.out_low, "out_low"), (high, m.out_high, "out_high")):
                box.setRange(-1e6, 1e6)
                box.setDecimals(3)
                box.setSpecialValueText("auto")
                box.setMinimum(-1e6)
                box.setValue(-1e6 if value is None else value)
                box.valueChanged.connect(lambda v, row=row, name=name: self._edit_range(row, name, v))
            curve = ComboBox()
            curve.addItems(list(CURVES))
            curve.setCurrentText(m.curve)
            curve.currentTextChanged.connect(lambda v, row=row: self._edit_mapping(row, curve=v))
            smooth = SpinBox()
            smooth.setRange(0, 60_000)
            smooth.setValue(int(m.smoothing_ms))
            smooth.valueChanged.connect(lambda v, row=row: self._edit_mapping(row, smoothing_ms=float(v)))
            invert = QCheckBox()
            invert.setChecked(m.invert)
            invert.toggled.connect(lambda v, row=row: self._edit_mapping(row, invert=v))
            meter = QProgressBar()
            meter.setRange(0, 1000)
            meter.setTextVisible(False)
            remove = QPushButton("Remove")
            remove.clicked.connect(lambda _=False, row=row: self.set_mappings(
                self.hub.mappings[:row] + self.hub.mappings[row + 1:]))
            self.meters.append(meter)
            self.table.setCellWidget(row, 0, on)
            self.table.setCellWidget(row, 1, QLabel(m.source))
            self.table.setCellWidget(row, 2, QLabel(m.target))
            for column, widget in enumerate((low, high, curve, smooth, invert, meter, remove), start=3):
                self.table.setCellWidget(row, column, widget)
        self.table.resizeColumnsToContents()

    def _edit_mapping(self, row: int, **changes) -> None:
        mappings = list(self.hub.mappings)
        try:
            mappings[row] = mappings[row].replace(**changes)
        except ExplorerError as exc:
            self.ctx.show_error(str(exc))
            return
        self.hub.set_mappings(tuple(mappings))  # the widgets already show it: no refill

    def _edit_range(self, row: int, name: str, value: float) -> None:
        low_box, high_box = (self.table.cellWidget(row, c) for c in (3, 4))
        low, high = low_box.value(), high_box.value()
        auto = low == low_box.minimum() or high == high_box.minimum()
        self._edit_mapping(row, out_low=None if auto else low, out_high=None if auto else high)

    # ---- the session -------------------------------------------------------------------------------
    def session_part(self) -> dict:
        return {"mappings": [m.to_json() for m in self.hub.mappings],
                "lfos": [lfo.to_json() for lfo in self.hub.lfos], "bpm": self.hub.tempo.bpm}

    def set_session_part(self, data) -> None:
        try:
            if not isinstance(data, dict):
                raise ExplorerError("the session's controls must be an object")
            mappings = mappings_from_json(data.get("mappings", []))
            lfos = tuple(Lfo.from_json(item) for item in data.get("lfos", []))[:LFO_COUNT]
            bpm = check_bpm(data.get("bpm", self.hub.tempo.bpm))
        except ExplorerError as exc:
            self.ctx.show_error(f"session controls: {exc}")
            return
        self.hub.lfos = lfos + self.hub.lfos[len(lfos):]
        self.hub.tempo.bpm = bpm
        for (shape, rate, unit), lfo in zip(self.lfo_widgets, self.hub.lfos):
            with blocked(shape, rate, unit):
                shape.setCurrentText(lfo.shape)
                rate.setValue(lfo.rate)
                unit.setCurrentText(lfo.unit)
        with blocked(self.bpm):
            self.bpm.setValue(bpm)
        self.set_mappings(mappings)

    # ---- the clock ---------------------------------------------------------------------------------
    def tick(self) -> None:
        """Apply what arrived since the last tick as one state; close a burst after a quiet spell."""
        now = time.monotonic()
        poll = self.hub.poll(now)
        if poll.learned is not None:
            with blocked(self.learn_button):
                self.learn_button.setChecked(False)
                self.learn_button.setText("Learn")
            self.set_mappings(self.hub.mappings)  # the table, and the clock keeps running for it
            self.ctx.show_status(f"Mapped {poll.learned.source} to {poll.learned.target}")
        if poll.beat is not None and self.osc_out is not None:
            self.osc_out.pulse(poll.beat)
        if poll.assignments and self.ctx.model_info is not None:
            self._apply(poll.assignments, now)
        elif self._in_burst and now - self._last_change > BURST_GAP_S:
            self._in_burst = False
            self.ctx.end_gesture()
            self._update_clock()
        self._polls += 1
        if self._polls % METER_EVERY == 0:
            self._refresh(now)

    def _apply(self, assignments, now: float) -> None:
        registry = ParamRegistry.for_model(self.ctx.model_info, self.ctx.state)
        state, refused = apply_values(registry, self.ctx.state, assignments)
        if refused:
            self.hub.reject(None, now, len(refused))
        if state == self.ctx.state:
            return
        if not self._in_burst:
            self._in_burst = True
            self.ctx.begin_gesture()
        self._last_change = now
        self.ctx.set_state(state, "Live control", CONTROL)

    def _refresh(self, now: float) -> None:
        if self.audio_in is not None and self.audio_in.error:  # the device went away
            self.ctx.show_error(self.audio_in.error)
            self.close_audio()
            self.audio_light.set("error")
        for light, origin, port in ((self.osc_light, "osc", self.osc), (self.midi_light, "midi", self.midi),
                                    (self.audio_light, "audio", self.audio_in)):
            if port is None:
                continue
            seen = self.hub.last_seen(origin)
            light.set("active" if seen is not None and now - seen < LIGHT_ON_S else "ready")
        for meter, mapping in zip(self.meters, self.hub.mappings):
            value = self.hub.source_value(mapping.source, now)
            meter.setValue(0 if value is None else int(1000 * mapping.normalise(value)))
        self._update_counters()

    def _update_counters(self) -> None:
        c = self.hub.counters
        self.counters.setText(f"{c.accepted} in, {c.replaced} merged, {c.rejected} rejected, "
                              f"{c.unknown} unknown, {c.dropped} dropped")

    def _send_values(self, state) -> None:
        """OSC out: every parameter whose value changed since it was last sent."""
        if self.osc_out is None or self.ctx.model_info is None:
            return
        registry = ParamRegistry.for_model(self.ctx.model_info, state)
        changed = {}
        for param in registry:
            if param.kind in MODULATABLE_KINDS:
                value = param.get(state)
                if self._sent.get(param.address, ...) != value:
                    changed[param.address] = self._sent[param.address] = value
        self.osc_out.send_values(changed)

    def shutdown(self) -> None:
        """Close the ports (the window is going)."""
        self.stop_osc()
        if self.midi is not None:
            self.midi.close()
            self.midi = None
        if self.audio_in is not None:
            self.audio_in.close()
            self.audio_in = None
        self._timer.stop()


def install(ctx) -> ControlsDock:
    controls = ControlsDock(ctx)
    controls.dock = ctx.add_dock(controls, "Controls", "controlsDock", area="right", visible=False)
    return controls
