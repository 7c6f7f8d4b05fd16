"""Live control without a window: mappings, the hub (OSC floods, hostile values), MIDI learn, LFOs."""

import math
import socket
import time
from pathlib import Path

import pytest

mido = pytest.importorskip("mido")
pytest.importorskip("pythonosc")

from explorer.control import midi  # noqa: E402
from explorer.control.hub import MAX_SOURCES, ControlHub  # noqa: E402
from explorer.control.lfo import Lfo, TapTempo  # noqa: E402
from explorer.control.mapping import Mapping, ModulationMatrix, mappings_from_json, parse_mapping  # noqa: E402
from explorer.control.osc import OscInput  # noqa: E402
from explorer.control.targets import apply_outputs, output_ranges  # noqa: E402
from explorer.engine.params import ParamRegistry  # noqa: E402
from explorer.engine.state import Edit, State  # noqa: E402
from explorer.errors import UsageError  # noqa: E402
from explorer.formats import load_model  # noqa: E402

BUNDLED = Path(__file__).parent.parent / "checkpoints" / "default.safetensors"


@pytest.fixture(scope="module")
def edited():
    """A state with one edit (so edit/0/... exist), and its model."""
    generator = load_model(BUNDLED).generator
    return generator, State(edits=(Edit(vector=(1.0,) + (0.0,) * (generator.w_dim - 1)),))


@pytest.fixture(scope="module")
def registry(edited):
    return ParamRegistry.for_model(*edited)


# ---- mappings --------------------------------------------------------------------------------------

def test_a_mapping_scales_clamps_inverts_and_shapes():
    m = Mapping("midi/cc/0/1", "psi", 0.5, 1.5)
    matrix = ModulationMatrix((m,))
    assert matrix.evaluate({"midi/cc/0/1": 0.25}, 0.0, {}) == {"psi": 0.75}
    assert matrix.evaluate({"midi/cc/0/1": 7.0}, 0.0, {}) == {"psi": 1.5}  # clamped to the input range
    inverted = ModulationMatrix((m.replace(invert=True),))
    assert inverted.evaluate({"midi/cc/0/1": 0.25}, 0.0, {}) == {"psi": 1.25}
    stepped = ModulationMatrix((m.replace(curve="step", steps=3),))
    assert [stepped.evaluate({"midi/cc/0/1": x}, 0.0, {})["psi"] for x in (0.1, 0.5, 0.99)] == [0.5, 1.0, 1.5]
    exponential = ModulationMatrix((m.replace(curve="exponential", out_low=0.0, out_high=1.0),))
    assert exponential.evaluate({"midi/cc/0/1": 0.5}, 0.0, {})["psi"] < 0.5  # slow start


def test_default_output_range_is_the_parameters(registry):
    matrix = ModulationMatrix((Mapping("lfo/0", "mix/3"), Mapping("lfo/0", "edit/9/amount")))
    out = matrix.evaluate({"lfo/0": 1.0}, 0.0, output_ranges(registry))
    assert out == {"mix/3": 1.0}  # edit 9 does not exist: skipped, not an error


def test_toggle_flips_on_each_press():
    matrix = ModulationMatrix((Mapping("midi/gate/0/60", "noise/strength", 0.0, 2.0, curve="toggle"),))
    presses = [1.0, 1.0, 0.0, 1.0, 0.0]
    assert [matrix.evaluate({"midi/gate/0/60": v}, 0.0, {})["noise/strength"] for v in presses] == [2, 2, 2, 0, 0]


def test_smoothing_follows_time_not_calls():
    ema = ModulationMatrix((Mapping("s", "psi", 0.0, 1.0, smoothing="ema", smoothing_ms=100),))
    ema.evaluate({"s": 0.0}, 0.0, {})
    assert ema.evaluate({"s": 1.0}, 0.1, {})["psi"] == pytest.approx(1 - math.exp(-1))
    slew = ModulationMatrix((Mapping("s", "psi", 0.0, 1.0, smoothing="slew", smoothing_ms=1000),))
    slew.evaluate({"s": 0.0}, 0.0, {})
    assert [slew.evaluate({"s": 1.0}, t, {})["psi"] for t in (0.25, 0.5, 2.0)] == pytest.approx([0.25, 0.5, 1.0])


def test_text_form_and_json_round_trip():
    m = parse_mapping("low:psi:0.5..1.2:exponential:ema=80:invert", {"low": "audio/low"})
    assert (m.source, m.target, m.out_low, m.out_high, m.curve, m.smoothing_ms, m.invert) == \
        ("audio/low", "psi", 0.5, 1.2, "exponential", 80.0, True)
    assert parse_mapping("onset:edit/0/amount:-3..3:step=5:in=0.1..0.9").steps == 5
    assert mappings_from_json([m.to_json()]) == (m,)


@pytest.mark.parametrize("text", ["psi", "low:psi:1..", "low:psi:__import__('os')", "low:psi:0..1:ema=abc",
                                  "low:psi:nan..1", "low:psi:0..1:in=1..1", "low:psi:step=1"])
def test_bad_text_is_one_line(text):
    with pytest.raises(UsageError) as info:
        parse_mapping(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("data", [{"source": "a"}, {"source": "a", "target": "psi", "curve": "eval"},
                                  {"source": "a", "target": "psi", "smoothing_ms": float("inf")},
                                  {"source": "a", "target": "psi", "extra": 1}, "psi", [1]])
def test_bad_json_mappings_are_refused(data):
    with pytest.raises(UsageError):
        mappings_from_json([data] if isinstance(data, dict) else data)


def test_outputs_are_converted_to_the_parameters_kind(registry, edited):
    state, refused = apply_outputs(registry, edited[1],
                                   {"seed_a": 41.6, "noise/mode": 2.0, "psi": 0.7, "nothing": 1.0})
    assert (state.a.seed, state.noise_mode, state.psi) == (42, registry["noise/mode"].choices[2], 0.7)
    assert refused == ["nothing: unknown parameter for this model"]


# ---- the hub ---------------------------------------------------------------------------------------

def test_hub_latest_wins_and_counts_everything(registry):
    hub = ControlHub(registry)
    for k in range(10_000):
        hub.push_param("psi", (k % 200) / 100.0, 0.0)
    hub.push_param("psi", 0.25, 0.0)
    for hostile in ("2**1000", b"\x00" * 10, float("nan"), 1e308, [1, 2], "x" * 10_000, None, True):
        hub.push_param("psi", hostile, 0.0)
    hub.push_param("__class__", 1.0, 0.0)
    hub.push_param("seed_a", -1, 0.0)
    poll = hub.poll(1.0)
    assert poll.assignments == [("psi", 0.25)]
    c = hub.counters
    assert (c.accepted, c.replaced, c.rejected, c.unknown) == (10_001, 10_000, 9, 1)
    assert hub.poll(1.1).assignments == []  # drained


def test_hub_sources_are_bounded(registry):
    hub = ControlHub(registry)
    for k in range(MAX_SOURCES + 100):
        hub.push_source(f"osc/fader/{k}", 0.5, 0.0, "osc")
    assert hub.counters.dropped == 100
    assert not hub.push_source("osc/x", float("inf"), 0.0, "osc") and not hub.push_source("osc/y", "1", 0.0, "osc")


def test_hub_mappings_send_only_changes(registry):
    hub = ControlHub(registry)
    hub.set_mappings((Mapping("midi/cc/0/7", "mix/2"),))
    hub.push_source("midi/cc/0/7", 0.5, 0.0, "midi")
    assert hub.poll(0.0).assignments == [("mix/2", 0.5)]
    assert hub.poll(0.1).assignments == []
    hub.enabled = False
    hub.push_source("midi/cc/0/7", 0.9, 0.2, "midi")
    assert hub.poll(0.2).assignments == []


def test_midi_learn_with_injected_messages(registry):
    hub = ControlHub(registry)
    hub.learn("psi")
    midi.feed(hub, mido.Message("control_change", channel=2, control=74, value=127), 0.0)
    poll = hub.poll(0.0)
    assert poll.learned == Mapping("midi/cc/2/74", "psi")
    assert poll.assignments == [("psi", 2.0)]  # the whole range of psi
    midi.feed(hub, mido.Message("control_change", channel=2, control=74, value=0), 0.1)
    assert hub.poll(0.1).assignments == [("psi", -1.0)]
    assert hub.learning is None


def test_midi_notes_and_bend_are_sources():
    assert midi.sources_of(mido.Message("note_on", channel=0, note=60, velocity=127)) == \
        [("midi/note/0/60", 1.0), ("midi/gate/0/60", 1.0)]
    assert midi.sources_of(mido.Message("note_on", note=60, velocity=0))[1] == ("midi/gate/0/60", 0.0)
    assert midi.sources_of(mido.Message("note_off", note=60))[0] == ("midi/note/0/60", 0.0)
    assert midi.sources_of(mido.Message("pitchwheel", channel=3, pitch=8191)) == [("midi/bend/3", 1.0)]
    assert midi.sources_of(mido.Message("clock")) == []


def test_without_a_midi_backend_the_problem_is_one_line(registry):
    problem = midi.backend_problem()
    if problem is None:
        pytest.skip("a MIDI backend is installed here")
    with pytest.raises(UsageError) as info:
        midi.MidiInput(ControlHub(registry), "any")
    assert "\n" not in str(info.value)


# ---- LFOs and tempo ------------------------------------------------------------------------------

def test_lfo_shapes():
    assert [Lfo("sine", 1.0).value(t) for t in (0.0, 0.5)] == pytest.approx([0.0, 1.0])
    assert [Lfo("triangle", 2.0).value(t) for t in (0.125, 0.25)] == pytest.approx([0.5, 1.0])
    assert Lfo("saw", 0.5, unit="beats").value(0.25, bpm=120) == pytest.approx(0.25)  # 1 cycle / 2 beats
    wander = Lfo("random-smooth", 1.0, seed=3)
    values = [wander.value(t / 10) for t in range(40)]
    assert values == [Lfo("random-smooth", 1.0, seed=3).value(t / 10) for t in range(40)]
    assert all(0 <= v <= 1 for v in values) and len(set(values)) > 30


def test_lfo_drives_a_parameter_through_the_hub(registry):
    hub = ControlHub(registry)
    hub.lfos = (Lfo("saw", 1.0),)
    hub.set_mappings((Mapping("lfo/0", "mix/1"),))
    assert [dict(hub.poll(t).assignments)["mix/1"] for t in (0.25, 0.5)] == pytest.approx([0.25, 0.5])


def test_tap_tempo():
    taps = TapTempo()
    for k in range(4):
        taps.tap(10.0 + 0.5 * k)
    assert taps.bpm == pytest.approx(120.0)
    taps.tap(20.0)  # after a pause: a new tempo starts, the old one holds
    assert taps.bpm == pytest.approx(120.0)
    taps.tap(21.0)
    assert taps.bpm == pytest.approx(60.0)


# ---- OSC over a real socket ----------------------------------------------------------------------

def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.01)
    return condition()


def test_osc_input_sets_parameters_and_survives_hostile_packets(registry):
    from pythonosc.udp_client import SimpleUDPClient

    hub = ControlHub(registry)
    server = OscInput(hub, 0)  # any free port, on 127.0.0.1
    try:
        assert server.host == "127.0.0.1"
        client = SimpleUDPClient("127.0.0.1", server.port)
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        raw.sendto(b"\xff" * 37, ("127.0.0.1", server.port))  # not OSC at all
        raw.sendto(b"/explorer/psi\x00\x00\x00,f\x00", ("127.0.0.1", server.port))  # truncated float
        client.send_message("/explorer/psi", "__import__('os').system('false')")
        client.send_message("/explorer/mix/3", [1.0, 2.0, 3.0])
        client.send_message("/explorer/nope", 1.0)
        client.send_message("/explorer/mix/3", 0.75)
        client.send_message("/explorer/edit/0/layers", [2, 5])
        client.send_message("/1/fader1", 0.5)  # a controller's own address: a source for mappings
        assert _wait_for(lambda: hub.counters.accepted >= 3)
        poll = hub.poll(0.0)
        assert dict(poll.assignments) == {"mix/3": 0.75, "edit/0/layers": (2, 5)}
        assert hub.source_value("osc/1/fader1", 0.0) == 0.5
        assert hub.counters.rejected == 4 and hub.counters.unknown == 1
        assert hub.last_seen("osc") is not None
    finally:
        server.close()


def test_osc_port_in_use_is_one_line(registry):
    hub = ControlHub(registry)
    first = OscInput(hub, 0)
    try:
        with pytest.raises(UsageError, match="cannot listen"):
            OscInput(hub, first.port)
    finally:
        first.close()


def test_recipes_carry_parts_and_old_ones_still_read(tmp_path):
    import numpy as np

    from explorer.engine.recipe import Recipe, read_recipe, write_png
    from explorer.errors import StateError

    image = np.zeros((4, 4, 3), np.uint8)
    parts = {"controls": {"mappings": [Mapping("lfo/0", "psi").to_json()]}}
    write_png(tmp_path / "a.png", image, Recipe(State(), "m.safetensors", "ab", parts=parts))
    assert read_recipe(tmp_path / "a.png").parts == parts
    write_png(tmp_path / "b.png", image, Recipe(State(), "m.safetensors", "ab"))
    assert read_recipe(tmp_path / "b.png").parts is None
    damaged = Recipe(State(), "m.safetensors", "ab", parts=["not", "an", "object"])
    write_png(tmp_path / "c.png", image, damaged)
    with pytest.raises(StateError, match="parts"):
        read_recipe(tmp_path / "c.png")


def test_the_document_keeps_recipe_parts_apart_from_session_parts():
    from explorer.engine.document import Document

    document = Document()
    kept = {}

    def refuse(value):
        raise UsageError("not like that")

    document.register_part("controls", lambda: {"mappings": []}, lambda v: kept.update(controls=v), in_recipes=True)
    document.register_part("favourites", lambda: [1, 2], refuse)
    assert document.recipe_parts() == {"controls": {"mappings": []}}
    assert document.restore_recipe_parts({"controls": {"bpm": 90}, "favourites": [3]}, "a.png") == []
    assert kept == {"controls": {"bpm": 90}}  # favourites are not a recipe part: left alone
    document.register_part("favourites", lambda: [], refuse, in_recipes=True)
    assert document.restore_recipe_parts({"favourites": [3]}, "a.png") == ["a.png: favourites: not like that"]


@pytest.mark.parametrize("text", ["audio/low:psi:0.5..1.2", "audio/onset:edit/0/amount:0.0..3.0:exponential:ema=80.0",
                                  "lfo/0:mix/3:in=-1.0..1.0:step=5:slew=12.5:invert", "midi/cc/0/7:noise/strength"])
def test_a_mapping_reads_back_from_its_text(text):
    from explorer.control.mapping import parse_mapping

    mapping = parse_mapping(text)
    assert parse_mapping(mapping.to_text()) == mapping


def test_a_live_audio_input_feeds_the_hub_and_never_learns():
    """FFmpeg's lavfi tone stands in for a microphone: the same capture path, no hardware."""
    import time

    from explorer.control.capture import AudioInput
    from explorer.control.hub import ControlHub
    from explorer.engine.params import ParamRegistry
    from explorer.engine.state import State
    from explorer.engine.describe import ModelDescription
    from explorer.errors import UsageError

    model = ModelDescription(num_ws=4, w_dim=8, c_dim=0, img_resolution=16, has_input_transform=False)
    hub = ControlHub(ParamRegistry.for_model(model, State()))
    hub.learn("psi")
    tone = AudioInput(hub, "sine=frequency=440:sample_rate=44100", "lavfi")
    try:
        deadline = time.monotonic() + 20
        while hub.source_value("audio/chroma/9", time.monotonic()) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        now = time.monotonic()
        assert hub.source_value("audio/chroma/9", now) == 1.0  # A 440 is pitch class 9
        assert hub.source_value("audio/rms", now) > 0.5 and hub.last_seen("audio") is not None
        assert hub.learning == "psi"  # the stream did not take the learn
    finally:
        tone.close()
    assert not tone.running
    with pytest.raises(UsageError, match="cannot open"):
        AudioInput(hub, "no-such-graph(", "lavfi")
