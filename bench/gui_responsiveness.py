"""How responsive the explorer window stays while a style slider is dragged non-stop.

Offscreen, on the largest fixture model (or --network): a timer moves a ``layerMix`` slider every
``--interval-ms`` (5 ms) for ``--seconds`` (10 s), as a drag (slider held down). A 1 ms heartbeat timer
measures how long the event loop is blocked (gap between heartbeat ticks minus 1 ms). Reported:

- UI stall: longest and p99 (targets: p99 < 20 ms, longest < 100 ms);
- frames shown per second on the canvas while dragging, and renders done vs. changes made;
- latency from the last change to its image on the canvas, at the end of the drag and after each of
  ``--stops`` short drags (target: <= one render time + 30 ms), next to the mean render time.

With ``--browse-ms N`` the seed browser is on screen and turns to a new page of seeds every N ms during
the drags (its tiles are background renders that give way to the canvas): compare the figures with and
without it.

Usage: ``python bench/gui_responsiveness.py [--network FILE] [--seconds 10] [--threads N] [--browse-ms 300]``
Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def largest_fixture() -> Path:
    candidates = sorted((ROOT / "tests" / "fixtures" / "nvidia").glob("*.pkl"), key=lambda p: p.stat().st_size)
    if not candidates:
        raise SystemExit("no fixture models in tests/fixtures/nvidia")
    return candidates[-1]


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))
    return values[k]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--stops", type=int, default=8, help="short drags after the long one, to sample latency")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads for the render thread")
    parser.add_argument("--row", type=int, default=None, help="W+ row whose slider is dragged (default: middle)")
    parser.add_argument("--browse-ms", type=float, default=0,
                        help="show the seed browser and turn its page every this many ms while dragging (0: off)")
    args = parser.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = tempfile.mkdtemp(prefix="explorer-bench-")
    os.environ["EXPLORER_SETTINGS_DIR"] = os.path.join(scratch, "settings")
    os.environ["EXPLORER_SESSION_DIR"] = os.path.join(scratch, "session")

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QSlider

    from explorer.gui.app import application, main_window

    network = args.network or largest_fixture()
    app = application()
    window = main_window(network, restore_session=False, autosave=False)
    if args.threads:
        window.worker.set_threads(args.threads)
    window.resize(1280, 820)
    window.show()

    def spin_until(predicate, timeout_s=120.0):
        deadline = time.perf_counter() + timeout_s
        loop = QEventLoop()
        while not predicate():
            if time.perf_counter() > deadline:
                raise SystemExit("timed out")
            loop.processEvents(QEventLoop.AllEvents, 5)
            time.sleep(0.0005)

    spin_until(lambda: window.model_info is not None and window.is_current() and window.thumbnails_current())
    info = window.model_info
    row = args.row if args.row is not None else info.num_ws // 2
    slider: QSlider = window.findChild(QSlider, f"layerMix{row}")

    # ---- instruments -------------------------------------------------------------------------------
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.PreciseTimer)
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))

    shown: list[tuple[float, object]] = []
    window.imageShown.connect(lambda result: shown.append((time.perf_counter(), result)))

    changes = {"n": 0, "last": 0.0, "phase": 0.0}

    browser = window.features.get("seed_browser")
    page_turner = QTimer()
    page_turner.setInterval(max(1, round(args.browse_ms)))
    if args.browse_ms:
        browser.dock.show()
        browser.dock.raise_()
        page_turner.timeout.connect(lambda: browser.turn(1))
        spin_until(lambda: browser.pending() == 0)

    def tick():
        changes["phase"] += 1
        value = int(500 + 499 * math.sin(changes["phase"] * 0.05))
        if value == slider.value():
            value += 1
        slider.setValue(value)
        changes["n"] += 1
        changes["last"] = time.perf_counter()

    driver = QTimer()
    driver.setTimerType(Qt.PreciseTimer)
    driver.setInterval(max(1, round(args.interval_ms)))
    driver.timeout.connect(tick)

    def drive(seconds: float) -> tuple[float, float, int, int]:
        """Drag for ``seconds``; returns (start, end, changes, renders) of the drag and waits for the image."""
        renders0, changes0 = window.worker.render_count, changes["n"]
        slider.setSliderDown(True)
        start = time.perf_counter()
        driver.start()
        if args.browse_ms:
            page_turner.start()
        spin_until(lambda: time.perf_counter() - start >= seconds)
        driver.stop()
        page_turner.stop()
        slider.setSliderDown(False)
        end = changes["last"]
        spin_until(window.is_current)
        return start, end, changes["n"] - changes0, window.worker.render_count - renders0

    def latency_after(end: float) -> float:
        matching = [t for t, r in shown if r.state == window.state]
        return (min(t for t in matching if t >= end) - end) * 1000

    tiles0 = window.worker.thumb_count
    heartbeat.start()
    start, end, n_changes, n_renders = drive(args.seconds)
    long_beats = [b for b in beats if start <= b <= end]
    frames = [t for t, _ in shown if start <= t <= end]
    final_latency = latency_after(end)
    stop_latencies = []
    for _ in range(args.stops):
        spin_until(lambda: True)
        _, stop_end, _, _ = drive(0.6)
        stop_latencies.append(latency_after(stop_end))
        pause = time.perf_counter()
        spin_until(lambda: time.perf_counter() - pause > 0.2)
    heartbeat.stop()

    gaps = [(b - a) * 1000 for a, b in zip(long_beats, long_beats[1:])]
    stalls = [max(0.0, g - 1.0) for g in gaps]
    render_ms = [r.ms for t, r in shown if start <= t <= end]
    mean_render = sum(render_ms) / max(1, len(render_ms))

    import torch

    print(f"model            {info.name} ({info.img_resolution}px, {info.num_ws} rows), device {info.device}, "
          f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}")
    print(f"drag             {args.seconds:.1f} s on layerMix{row}, {n_changes} changes "
          f"({n_changes / args.seconds:.0f}/s), {n_renders} renders")
    print(f"UI stall         longest {max(stalls):.1f} ms, p99 {percentile(stalls, 99):.1f} ms, "
          f"p50 {percentile(stalls, 50):.2f} ms  (heartbeat 1 ms, {len(gaps)} ticks)   targets: p99 < 20, longest < 100")
    print(f"frames shown     {len(frames) / args.seconds:.1f} /s while dragging; "
          f"{window.worker.abandoned_count} renders abandoned for a newer state in all")
    print(f"render time      mean {mean_render:.1f} ms, p50 {percentile(render_ms, 50):.1f} ms, "
          f"p90 {percentile(render_ms, 90):.1f} ms")
    if args.browse_ms:
        print(f"seed browser     page turned every {args.browse_ms:.0f} ms while dragging; "
              f"{window.worker.thumb_count - tiles0} background renders (tiles, thumbnails) done")
    target = mean_render + 30
    print(f"last change -> image on canvas: end of long drag {final_latency:.1f} ms; after {len(stop_latencies)} short "
          f"drags: median {percentile(stop_latencies, 50):.1f} ms, max {max(stop_latencies, default=float('nan')):.1f} ms"
          f"   target <= render + 30 = {target:.1f} ms")
    ok = percentile(stalls, 99) < 20 and max(stalls) < 100 and percentile(stop_latencies + [final_latency], 50) <= target
    print("verdict          " + ("meets targets" if ok else "MISSES a target"))
    window.shutdown()
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
