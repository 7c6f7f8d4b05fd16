"""Does the Directions dock's preview strip delay the main render? Offscreen window, one model.

Once the dock has its SeFa set, direction 0 is selected (so every state change asks for five previews)
and psi is changed ``--trials`` times. After each change the time until the canvas shows the new state is
taken; then the script waits a random 0-2 render times, so that the next change often arrives while
previews are being rendered. Trials alternate between the dock as it is and the dock with its preview
requests switched off, on the same window, so the machine's load hits both alike. Reported: median and
p90 latency of each, next to the mean main render time. Speed is measured here, never asserted in tests.

    OMP_NUM_THREADS=1 python bench/directions_previews.py [--network FILE] [--trials 40]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, default=None, help="model file (default: the bundled one)")
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = tempfile.mkdtemp(prefix="explorer-bench-")
    os.environ["EXPLORER_SETTINGS_DIR"] = os.path.join(scratch, "settings")
    os.environ["EXPLORER_SESSION_DIR"] = os.path.join(scratch, "session")

    from explorer.formats import BUNDLED_MODEL
    from explorer.gui.app import application, main_window

    app = application()
    window = main_window(args.network or BUNDLED_MODEL, restore_session=False, autosave=False)
    window.resize(1440, 960)
    window.show()
    dock = window.features["directions_dock"]

    def wait(condition, timeout=600.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise SystemExit("timed out")
            app.processEvents()
            time.sleep(0.001)

    wait(lambda: window.model_info is not None and window.is_current() and bool(dock.sets))
    dock.select(0)
    wait(lambda: all(t.array is not None for t in dock.previews))
    ask_previews = dock._ask_previews
    latencies: dict[str, list[float]] = {"previews on": [], "previews off": []}
    renders: list[float] = []
    rng = random.Random(0)
    for trial in range(args.trials):
        mode = "previews on" if trial % 2 == 0 else "previews off"
        dock._ask_previews = ask_previews if mode == "previews on" else (lambda index, rows: None)
        start = time.monotonic()
        window.set_param("psi", round(0.4 + 0.6 * rng.random(), 3))
        wait(window.is_current)
        latencies[mode].append((time.monotonic() - start) * 1e3)
        renders.append(window.last_result.ms)
        pause_end = time.monotonic() + rng.random() * 2 * window.last_result.ms / 1e3
        wait(lambda: time.monotonic() >= pause_end)
    info = window.model_info
    print(f"model            {info.name} ({info.img_resolution}px), {args.trials} psi changes, "
          f"main render mean {statistics.mean(renders):.1f} ms")
    for mode, values in latencies.items():
        values.sort()
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        print(f"{mode:16} change -> image: median {statistics.median(values):.1f} ms, p90 {p90:.1f} ms")
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
