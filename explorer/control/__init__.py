"""Live control: sources (OSC, MIDI, LFOs, audio) modulate any parameter of the registry.

Qt-free, like the engine; the window's Controls dock and ``explorer video --audio`` drive the same code,
so a performance plays live the way it exports. The pieces, each in its own module:

- ``mapping``: ``Mapping`` (source -> parameter address, ranges, curve, smoothing, invert), the
  ``--map`` text form, and ``ModulationMatrix``, which turns source values into parameter values;
- ``hub``: ``ControlHub``, the thread-safe inbox that network / MIDI threads push into and the UI
  thread polls (latest value per address wins, bounded, every message counted);
- ``osc``: OSC in (UDP, 127.0.0.1 unless told otherwise) on ``/explorer/<address>``, and OSC out;
- ``midi``: MIDI messages (CC, notes, pitch bend) as sources, and the optional mido input port;
- ``lfo``: LFOs (sine, triangle, saw, random-smooth) in Hz or beats, and tap tempo;
- ``audio``: decoding an audio file (PyAV) and causal per-frame features (band RMS, onset, chroma)
  with an adaptive normaliser.
"""
