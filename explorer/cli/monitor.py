"""``explorer monitor RUN_DIR [--screenshot PNG]``: watch a training run (started here or anywhere else).

The monitor only reads the run folder, so it can be opened, closed and reopened while the trainer goes on.
``--screenshot`` draws the monitor offscreen once (plots, latest fakes grid, log), saves it and exits:
for documentation, bug reports and headless machines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from explorer.cli.common import check_writable
from explorer.errors import UsageError
from explorer.train.run_reader import resolve_run_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("monitor", help="watch a training run folder", description=__doc__)
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help="a training run folder (<outdir>/NNNNN-desc), or an output folder: its newest run")
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture of the monitor to PNG and exit")
    parser.add_argument("--size", default="1280x860", metavar="WxH", help="window size for --screenshot (default 1280x860)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --screenshot file")
    parser.set_defaults(func=run)


class ExplorerWindowOpener:
    """"Open in explorer" for the standalone monitor: an explorer window for the snapshot, reused after."""

    def __init__(self):
        self.window = None

    def __call__(self, path: Path) -> None:
        from explorer.gui.app import main_window

        if self.window is None or not self.window.isVisible():
            self.window = main_window(network=str(path), restore_session=False)
            self.window.show()
        else:
            self.window.open_model(path)
            self.window.raise_()


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1280x860, got {text!r}") from None
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise UsageError(f"--size {text}: width and height must be within 320..8192 and 240..8192")
    return w, h


def run(args) -> int:
    run_dir = resolve_run_dir(args.run_dir)  # a one-line error before any window opens
    shot = Path(args.screenshot) if args.screenshot else None
    if shot is not None:
        if shot.suffix.lower() != ".png":
            raise UsageError(f"{shot.name}: --screenshot must be a .png file")
        check_writable(shot, args.force)
        size = _parse_size(args.size)
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from explorer.gui.app import application
    from explorer.gui.training_monitor import MonitorWindow

    app = application()
    window = MonitorWindow(run_dir, open_snapshot=ExplorerWindowOpener())
    if shot is None:
        window.show()
        return app.exec()

    from PySide6.QtCore import qInstallMessageHandler

    from explorer.gui.training_monitor import save_screenshot

    # The offscreen platform warns that it "does not support propagateSizeHints()": true, and no news.
    previous = qInstallMessageHandler(lambda mode, context, message: None if "propagateSizeHints" in message
                                      else print(message, file=sys.stderr))
    try:
        window.resize(*size)
        save_screenshot(window, shot)
    except OSError as exc:  # a full disk, say: the atomic write left no temporary file and no half PNG
        raise UsageError(f"{shot.name}: cannot write the screenshot ({exc.strerror or exc})") from None
    finally:
        qInstallMessageHandler(previous)
        window.monitor.stop_polling()
        window.close()
    print(f"wrote {shot}")
    return 0
