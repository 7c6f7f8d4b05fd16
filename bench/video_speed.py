"""Video export speed on this CPU: frames per second of a 256x256 export, render and encode apart.

    python bench/video_speed.py                      # untrained 256x256 StyleGAN2, 48 frames
    python bench/video_speed.py --network model.pkl --frames 120 --batch 1,4,8

Without --network it builds an untrained StyleGAN2 at 256x256 with random weights (NVIDIA's 256 config:
z/w 512, 8 mapping layers, channel_base 16384, channel_max 512); speed does not depend on the weights.
Reports: render-only frames/s for each batch size (the generator through ``FrameSource``), encode-only
frames/s for each format on pre-rendered frames, and one full MP4 export with its own render / encode split.
Each figure is the best of --reps runs (the machine may be shared; the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.engine.render import Renderer  # noqa: E402
from explorer.engine.state import State  # noqa: E402
from explorer.formats import Model, load_model  # noqa: E402
from explorer.models import build_generator  # noqa: E402
from explorer.video.encoders import open_writer  # noqa: E402
from explorer.video.export import export_video  # noqa: E402
from explorer.video.recipes import seed_walk  # noqa: E402
from explorer.video.render import FrameSource  # noqa: E402

CONFIG_256 = {
    "arch": "stylegan2", "z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": 256, "img_channels": 3,
    "mapping_kwargs": {"num_layers": 8},
    "synthesis_kwargs": {"channel_base": 16384, "channel_max": 512, "architecture": "skip"},
}


def untrained_256() -> Model:
    torch.manual_seed(0)
    generator = build_generator(CONFIG_256).eval().requires_grad_(False)
    return Model(generator, CONFIG_256, Path("untrained-256.safetensors"), "0" * 64, "native", {})


def best_of(reps: int, fn) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, help="model file (default: an untrained 256x256 StyleGAN2)")
    parser.add_argument("--frames", type=int, default=48, help="frames per run (default 48)")
    parser.add_argument("--batch", default="1,4,8", help="batch sizes to time (default 1,4,8)")
    parser.add_argument("--formats", default="mp4,webm,gif,png", help="encoders to time")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = load_model(args.network) if args.network else untrained_256()
    g = model.generator
    renderer = Renderer(model)
    fps = 30.0
    # a looping cubic seed walk with exactly --frames frames and 4 keyframes
    timeline = seed_walk([0, 1, 2, 3], args.frames / 4 / fps, State(psi=0.7), "cubic", loop=True, fps=fps)
    assert timeline.frame_count() == args.frames, timeline.frame_count()
    print(f"model: {model.path.name}, {g.img_resolution}x{g.img_resolution}, num_ws {g.num_ws}; "
          f"{args.frames} frames; torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")

    frames = []
    for batch in (int(b) for b in args.batch.split(",")):
        source = FrameSource(renderer, [timeline], batch_size=batch)
        next(source.chunks())  # warm up (allocations, mapping cache)

        def render():
            frames[:] = [f for chunk in source.chunks() for f in chunk]

        seconds = best_of(args.reps, render)
        print(f"render  batch {batch:2d}: {args.frames / seconds:7.2f} frames/s  ({seconds / args.frames * 1000:.0f} ms/frame)")

    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            def encode(n=[0]):
                n[0] += 1
                target = Path(tmp) / (f"e{n[0]}.{fmt}" if fmt != "png" else f"e{n[0]}")
                writer = open_writer(target, fmt, fps, frames[0].shape[1], frames[0].shape[0])
                for frame in frames:
                    writer.write(frame)
                writer.finish()

            seconds = best_of(args.reps, encode)
            print(f"encode  {fmt:5s}   : {args.frames / seconds:7.2f} frames/s  ({seconds / args.frames * 1000:.1f} ms/frame)")

        result = export_video(renderer, timeline, Path(tmp) / "full.mp4", batch_size=8)
        total = result.render_seconds + result.encode_seconds
        print(f"export  mp4 (batch 8): {result.frames / total:7.2f} frames/s overall; render {result.render_seconds:.1f} s, "
              f"encode {result.encode_seconds:.1f} s for {result.frames} frames of {result.width}x{result.height}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
