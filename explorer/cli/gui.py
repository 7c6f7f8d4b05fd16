"""``explorer gui [NETWORK]``: open the window (``explorer`` with no command does the same).

``--screenshot PATH`` renders the window with its first finished image, saves it as PNG and exits (works
with QT_QPA_PLATFORM=offscreen); ``--state FILE.json`` applies a state (or session) file first, and
``--set ADDRESS=VALUE`` (repeatable) sets parameters once the model is open. ``--osc-port P`` listens for
OSC on 127.0.0.1:P at once (``--osc-host`` picks another interface, an explicit choice), ``--midi-port
NAME`` opens a MIDI input; see docs/live-control.md. The window saves its session when it closes,
SIGTERM (a session manager's logout) included.
"""

from __future__ import annotations

from pathlib import Path

from explorer.cli.common import check_writable
from explorer.errors import UsageError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("gui", help="open the explorer window",
                              description="Open the explorer window, optionally on a model file.")
    p.add_argument("network", nargs="?", help="model file or training-run folder (default: bundled or last model)")
    p.add_argument("--screenshot", metavar="PATH", help="save a PNG of the window with its first image and exit")
    p.add_argument("--force", action="store_true", help="with --screenshot: overwrite an existing PNG")
    p.add_argument("--state", metavar="FILE.json", help="state or session JSON to show (with --screenshot)")
    p.add_argument("--set", dest="set", action="append", default=[], metavar="ADDRESS=VALUE",
                   help="set a parameter once the model is open, e.g. psi=0.5 (repeatable; `explorer params`)")
    p.add_argument("--osc-port", type=int, metavar="P", help="listen for OSC on this UDP port (/explorer/<address>)")
    p.add_argument("--osc-host", default="127.0.0.1", metavar="HOST",
                   help="the interface OSC listens on (default 127.0.0.1; 0.0.0.0 opens it to the network)")
    p.add_argument("--osc-send", type=int, metavar="P",
                   help="send every changed value, and a beat pulse, as OSC to 127.0.0.1:P")
    p.add_argument("--midi-port", metavar="NAME", help="open this MIDI input port (needs python-rtmidi)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.state and not args.screenshot:
        raise UsageError("--state works with --screenshot (open a session from the File menu otherwise)")
    for port in (args.osc_port, args.osc_send):
        if port is not None:
            from explorer.control.osc import check_port

            check_port(port)
    import os
    import sys

    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed for a picture
    elif sys.platform.startswith("linux") and not any(
            os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise UsageError("no display to open the window on (DISPLAY is not set); "
                         "use --screenshot PATH for a picture without one")
    try:
        from explorer.gui import app
    except ImportError as exc:
        raise UsageError(f"the window needs PySide6 ({exc})") from None
    if args.screenshot:
        if not args.network:
            from explorer.cli.common import default_network

            bundled = default_network()
            if bundled is None:
                raise UsageError("--screenshot needs a NETWORK (there is no bundled checkpoints/default.safetensors)")
            args.network = str(bundled)
        out = Path(args.screenshot)
        if not out.parent.exists():
            raise UsageError(f"{out.parent}: folder does not exist")
        check_writable(out, args.force)
        if args.state:
            from explorer.engine.session import load_session

            load_session(args.state)  # a bad file fails here, as one line
        return app.screenshot(args.network, out, args.state, assignments=args.set)
    return app.run(args.network, args.set, osc_port=args.osc_port, osc_host=args.osc_host, midi_port=args.midi_port,
                   osc_send=args.osc_send)
