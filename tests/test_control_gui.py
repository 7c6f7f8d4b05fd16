"""The Controls dock: OSC from another process, floods and hostile packets, MIDI learn, bursts as one undo
step, the session part, and `explorer gui --osc-port` saving its session on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
mido = pytest.importorskip("mido")
pytest.importorskip("pythonosc")

from PySide6.QtCore import Qt  # noqa: E402

from explorer.control import midi  # noqa: E402
from explorer.control.mapping import Mapping  # noqa: E402
from explorer.engine.render import Renderer  # noqa: E402
from explorer.formats import BUNDLED_MODEL, load_model  # noqa: E402
from explorer.gui.controls_dock import BURST_GAP_S  # noqa: E402

TIMEOUT = 30_000
REPO = Path(__file__).resolve().parent.parent

# Run in another process: OSC messages (argv[2] is a JSON list of [address, args]) then, optionally,
# a flood of N psi values ending on a known one, mixed with hostile packets.
SENDER = """
import json, socket, sys, time
from pythonosc.udp_client import SimpleUDPClient
port = int(sys.argv[1])
client = SimpleUDPClient("127.0.0.1", port)
raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for address, args in json.loads(sys.argv[2]):
    client.send_message(address, args)
flood = int(sys.argv[3])
for k in range(flood):
    client.send_message("/explorer/psi", (k % 150) / 100.0)
    if k % 20 == 0:
        time.sleep(0.004)  # about 4,000 messages a second, plus the hostile ones
    if k % 10 == 0:
        raw.sendto(bytes([k % 256]) * (k % 97), ("127.0.0.1", port))
        client.send_message("/explorer/psi", "__import__('os').system('touch pwned')")
        client.send_message("/explorer/seed_a", b"\\x00" * 64)
        client.send_message(f"/explorer/no/such/{k}", 1.0)
if flood:
    client.send_message("/explorer/psi", 0.125)
"""


def send(port: int, messages: list, flood: int = 0) -> None:
    subprocess.run([sys.executable, "-c", SENDER, str(port), json.dumps(messages), str(flood)], check=True,
                   cwd=REPO, timeout=120)


@pytest.fixture
def window(open_window):
    return open_window(BUNDLED_MODEL)


@pytest.fixture
def controls(window):
    controls = window.features["controls_dock"]
    controls.listen_osc(0)  # any free port on 127.0.0.1
    return controls


def test_osc_from_another_process_sets_parameters_and_the_canvas_matches(window, controls, qtbot):
    before = window.state
    send(controls.osc.port, [["/explorer/psi", 0.5], ["/explorer/mix/3", 0.75], ["/explorer/seed_a", 7]])
    qtbot.waitUntil(lambda: (window.state.psi, window.state.a.seed) == (0.5, 7)
                    and window.state.mix_weights(10)[3] == 0.75, timeout=TIMEOUT)
    qtbot.waitUntil(window.is_current, timeout=TIMEOUT)
    np.testing.assert_array_equal(window.image_array(), Renderer(load_model(BUNDLED_MODEL)).render(window.state))
    assert controls.osc_light.status in ("active", "ready")
    qtbot.wait(int(BURST_GAP_S * 1000) + 200)  # the burst closes
    window.undo_action.trigger()  # the whole burst is one undo step
    assert window.state == before


def test_a_flood_with_hostile_packets_leaves_the_last_value_and_a_live_window(window, controls, qtbot, tmp_path):
    ticks = []
    controls._timer.timeout.connect(lambda: ticks.append(1))
    undo_count = len(window.history)
    started = time.monotonic()
    send(controls.osc.port, [], flood=10_000)
    print(f"flood sent in {time.monotonic() - started:.1f} s")
    qtbot.waitUntil(lambda: window.state.psi == 0.125, timeout=TIMEOUT)
    assert ticks  # the UI thread kept polling while the flood came in
    counters = controls.hub.counters
    assert counters.rejected >= 1000 and counters.unknown >= 1000
    assert counters.accepted + counters.dropped >= 1  # and some of the 10,000 made it through the socket
    assert len(controls.hub._pending) == 0 and len(controls.hub._sources) == 0  # nothing kept
    assert window.state.a.seed == 0 and not (REPO / "pwned").exists() and not Path("pwned").exists()
    assert len(window.history) - undo_count <= 2  # one burst: one undo step (two if it paused)
    qtbot.waitUntil(lambda: "rejected" in controls.counters.text() and str(counters.rejected) in
                    controls.counters.text(), timeout=TIMEOUT)


def test_midi_learn_by_clicking_learn_and_moving_a_knob(window, qtbot):
    controls = window.features["controls_dock"]
    controls.learn_target.setCurrentText("noise/strength")
    qtbot.mouseClick(controls.learn_button, Qt.LeftButton)
    assert controls.hub.learning == "noise/strength"
    midi.feed(controls.hub, mido.Message("control_change", channel=0, control=21, value=127), time.monotonic())
    qtbot.waitUntil(lambda: controls.table.rowCount() == 1, timeout=TIMEOUT)
    assert controls.hub.mappings == (Mapping("midi/cc/0/21", "noise/strength"),)
    qtbot.waitUntil(lambda: window.state.noise_strength == 5.0, timeout=TIMEOUT)  # the top of its range
    midi.feed(controls.hub, mido.Message("control_change", channel=0, control=21, value=0), time.monotonic())
    qtbot.waitUntil(lambda: window.state.noise_strength == 0.0, timeout=TIMEOUT)
    from PySide6.QtWidgets import QDoubleSpinBox

    assert window.findChild(QDoubleSpinBox, "noiseStrength").value() == 0.0  # the widget moved with it
    assert not controls.learn_button.isChecked()


def test_mappings_live_in_the_session_and_bad_ones_are_refused(window, qtbot):
    controls = window.features["controls_dock"]
    controls.set_mappings([Mapping("lfo/1", "mix/2", smoothing_ms=40.0)])
    saved = json.loads(json.dumps(window.current_session().to_json()))
    controls.set_mappings([])
    controls.set_session_part(saved["controls"] if "controls" in saved else saved["extra"]["controls"])
    assert controls.hub.mappings == (Mapping("lfo/1", "mix/2", smoothing_ms=40.0),)
    errors = []
    window.show_error = errors.append
    controls.set_session_part({"mappings": [{"source": "x", "target": "psi", "curve": "exec"}]})
    assert errors and "\n" not in errors[0] and controls.hub.mappings  # kept the good ones


def test_gui_with_osc_port_saves_its_session_on_sigterm(tmp_path):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(1.0)
    echo = listener.getsockname()[1]
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a port that was free a moment ago
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", EXPLORER_SESSION_DIR=str(tmp_path / "session"),
               EXPLORER_SETTINGS_DIR=str(tmp_path / "settings"), OMP_NUM_THREADS="1")
    app = subprocess.Popen([sys.executable, "-m", "explorer", "gui", str(BUNDLED_MODEL), "--osc-port", str(port),
                            "--osc-send", str(echo)], cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        from pythonosc.osc_message import OscMessage
        from pythonosc.udp_client import SimpleUDPClient

        client = SimpleUDPClient("127.0.0.1", port)
        deadline = time.monotonic() + 120
        applied = False
        while not applied and time.monotonic() < deadline and app.poll() is None:
            client.send_message("/explorer/psi", 0.375)
            try:
                message = OscMessage(listener.recvfrom(65535)[0])
            except socket.timeout:
                continue
            applied = message.address == "/explorer/psi" and message.params == [pytest.approx(0.375)]
        assert applied, app.stderr.read().decode() if app.poll() is not None else "no echo of psi"
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=60) == 0
    finally:
        if app.poll() is None:
            app.kill()
        listener.close()
    session = json.loads(next((tmp_path / "session").glob("*.json")).read_text())
    assert session["state"]["psi"] == pytest.approx(0.375)
    assert "controls" in json.dumps(session)


def test_mappings_travel_in_exported_png_recipes(window, qtbot, tmp_path):
    from explorer.engine.recipe import read_recipe

    controls = window.features["controls_dock"]
    mapping = Mapping("midi/cc/0/1", "psi", 0.5, 1.0, curve="exponential")
    controls.set_mappings([mapping])
    with qtbot.waitSignal(window.imageExported, timeout=TIMEOUT):
        path = window.export_image(tmp_path)
    assert read_recipe(path).parts["controls"]["mappings"] == [mapping.to_json()]
    controls.set_mappings([])
    window.open_path(path)
    assert controls.hub.mappings == (mapping,) and controls.table.rowCount() == 1


def test_an_lfo_moves_a_parameter_and_the_clock_sleeps_without_sources(window, qtbot):
    controls = window.features["controls_dock"]
    assert not controls._timer.isActive()  # nothing to listen to: no polling
    controls.lfo_widgets[0][1].setValue(2.0)  # 2 Hz
    controls.set_mappings([Mapping("lfo/0", "mix/3")])
    seen = set()
    qtbot.waitUntil(lambda: seen.add(window.state.mix_weights(10)[3]) or len(seen) > 3, timeout=TIMEOUT)
    controls.set_mappings([])
    qtbot.waitUntil(lambda: not controls._timer.isActive(), timeout=TIMEOUT)  # after the burst closed


def test_learn_by_touching_a_slider_in_the_window_then_moving_a_knob(window, qtbot):
    from PySide6.QtWidgets import QSlider

    controls = window.features["controls_dock"]
    controls.learn_target.setCurrentText("psi")
    qtbot.mouseClick(controls.learn_button, Qt.LeftButton)
    window.findChild(QSlider, "layerMix4").setValue(500)  # the artist touches row 4's slider
    assert controls.hub.learning == "mix/4" and controls.learn_target.currentText() == "mix/4"
    midi.feed(controls.hub, mido.Message("control_change", channel=0, control=22, value=127), time.monotonic())
    qtbot.waitUntil(lambda: controls.table.rowCount() == 1, timeout=TIMEOUT)
    assert controls.hub.mappings == (Mapping("midi/cc/0/22", "mix/4"),)
    qtbot.waitUntil(lambda: window.state.mix_weights(window.model_info.num_ws)[4] == 1.0, timeout=TIMEOUT)


def test_the_audio_input_row_opens_a_device_and_a_bad_one_is_one_line(window, qtbot):
    controls = window.features["controls_dock"]
    controls.audio_devices.setEditText("lavfi:sine=frequency=440:sample_rate=44100")
    controls.audio_open.setChecked(True)
    assert controls.audio_in is not None and controls.audio_open.text() == "Close"
    controls.set_mappings([Mapping("audio/rms", "psi", 0.2, 1.0)])
    qtbot.waitUntil(lambda: window.state.psi == pytest.approx(1.0, abs=0.05), timeout=TIMEOUT)  # a steady tone
    controls.audio_open.setChecked(False)
    assert controls.audio_in is None
    errors = []
    window.errorOccurred.connect(errors.append)
    controls.audio_devices.setEditText("nonsense")
    controls.audio_open.setChecked(True)
    assert errors and "FORMAT:DEVICE" in errors[-1] and controls.audio_in is None
    assert not controls.audio_open.isChecked()


def test_osc_out_pulses_each_loop_of_the_timeline_preview(window):
    import socket

    from pythonosc.osc_message import OscMessage

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    controls = window.features["controls_dock"]
    controls.send_osc(receiver.getsockname()[1])
    timeline = window.features["timeline_panel"]
    for frame in (0, 1, 2, 0):  # two cycles of the preview
        timeline.previewShown.emit(frame)
    received = []
    while len(received) < 2:
        message = OscMessage(receiver.recv(4096))
        if message.address == "/explorer/loop":
            received.append(message.params[0])
    receiver.close()
    assert received == [1, 2]
