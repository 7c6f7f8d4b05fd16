"""What a new run will meet, known before it starts: the dataset scan and a seconds-per-kimg estimate. Qt-free.

The training form shows these so the artist learns about a broken image or a three-week run *before*
pressing Start, not from the log an hour later.

``scan_dataset`` reads every image header (cheap) and fully decodes a sample (catches truncated files),
using the same rules as the dataset tool and the trainer (``explorer.train.dataset.mode_problem`` /
``decode``), so what it lists as a problem is exactly what training will skip.

``estimate_sec_per_kimg`` times the trainer's own training step (``TrainingLoop.step``, reused rather than
re-created here) for the chosen preset, batch and device on random images; should the trainer's internals
move, it falls back to ``measure_sec_per_kimg``, bare G+D forward/backward steps times a fixed factor.
Either is an *estimate*: no data loading, augmentation still at p = 0 as a run starts, and a couple of
steps on a warm cache are not a long run on a hot (or busy) machine. The UI says so, and says which.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.train.dataset import SkipImage, _natural_key, _Source, decode, fit_square, mode_problem

SAMPLES = 8  # images in the form's strip
DECODE_LIMIT = 400  # images fully decoded (the rest are header-checked only)
# Lazy R1 / path-length regularisation, augmentation, EMA and data loading, on top of the timed main steps.
OVERHEAD_FACTOR = 1.3


@dataclass
class DatasetScan:
    """What the form shows about a dataset. ``problems`` are (file, reason) pairs, never exceptions."""

    path: Path
    files: int = 0  # image files found (by extension)
    usable: int = 0
    sizes: Counter = field(default_factory=Counter)  # (w, h) -> count of usable images
    modes: Counter = field(default_factory=Counter)
    problems: list[tuple[str, str]] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list)  # HWC uint8, square thumbnails
    labels: str = "none"  # 'none', 'dataset.json', 'subfolders (could be used)'
    num_classes: int = 0
    decoded: int = 0  # how many were fully decoded (the rest were header-checked)
    error: str = ""  # a whole-dataset problem (no such folder, no images): one line

    @property
    def resolution(self) -> int | None:
        """The training resolution these images suggest: their common square power-of-two size, or the
        largest power of two that fits the smallest side of the most common size (the trainer crops)."""
        if not self.sizes:
            return None
        (w, h), _ = self.sizes.most_common(1)[0]
        side = min(w, h)
        if side < 4:
            return None
        return min(1 << (side.bit_length() - 1), 4096)

    def size_text(self) -> str:
        if not self.sizes:
            return "-"
        if len(self.sizes) == 1:
            (w, h), = self.sizes
            return f"{w}x{h}" + ("" if w == h and w & (w - 1) == 0 else " (will be cropped/resized)")
        (w, h), n = self.sizes.most_common(1)[0]
        return f"{len(self.sizes)} sizes, mostly {w}x{h} ({n}); all are cropped and resized"


def scan_dataset(path: str | Path, progress=None, cancelled=None, thumb: int = 64) -> DatasetScan:
    """Scan a folder or zip of images. Never raises for bad content: it all goes in ``problems`` / ``error``.

    ``progress(done, total)`` is called now and then; ``cancelled()`` returning True stops the scan early.
    """
    scan = DatasetScan(Path(path).expanduser())
    try:
        source = _Source(scan.path)
    except Exception as exc:  # DatasetError, or OSError from a folder we may not list
        scan.error = str(exc)
        return scan
    names = sorted(source.names, key=_natural_key)
    scan.files = len(names)
    if not names:
        scan.error = f"{scan.path.name}: holds no image files (.png, .jpg, .webp, ...)"
        return scan
    for i, name in enumerate(names):
        if cancelled is not None and cancelled():
            break
        if progress is not None and i % 50 == 0:
            progress(i, len(names))
        try:
            data = source.read(name)
        except SkipImage as exc:  # unreadable, or past the size limits (see dataset._Source.read)
            scan.problems.append((name, str(exc)))
            continue
        try:
            with Image.open(io.BytesIO(data)) as image:
                size, mode, problem = image.size, image.mode, mode_problem(image)
        except Exception as exc:  # PIL raises many types for broken files
            scan.problems.append((name, f"cannot read image ({type(exc).__name__}: {' '.join(str(exc).split())})"))
            continue
        if problem:
            scan.problems.append((name, problem))
            continue
        if scan.decoded < DECODE_LIMIT or len(scan.samples) < SAMPLES:
            scan.decoded += 1
            try:
                pixels = decode(data)
            except SkipImage as exc:
                scan.problems.append((name, str(exc)))
                continue
            if len(scan.samples) < SAMPLES:
                small = fit_square(pixels, thumb, "center-crop")
                scan.samples.append(np.repeat(small, 3, axis=2) if small.shape[2] == 1 else small)
        scan.usable += 1
        scan.sizes[size] += 1
        scan.modes[mode] += 1
    if progress is not None:
        progress(len(names), len(names))
    _scan_labels(scan, source, names)
    if scan.usable == 0 and not scan.error:
        scan.error = f"{scan.path.name}: none of its {scan.files} images can be used"
    return scan


def _scan_labels(scan: DatasetScan, source: _Source, names: list[str]) -> None:
    try:
        data = source.labels_json()
    except Exception as exc:
        scan.problems.append(("dataset.json", str(exc)))
        data = None
    labels = data.get("labels") if isinstance(data, dict) else None
    if labels:
        values = [v for _, v in labels]
        scan.labels = "dataset.json"
        ints = [v for v in values if isinstance(v, int)]
        scan.num_classes = max(ints) + 1 if ints and len(ints) == len(values) else 0
        return
    folders = {n.split("/")[0] for n in names if "/" in n}
    if len(folders) > 1:
        scan.labels = "subfolders (make a dataset with --labels subfolders to use them)"
        scan.num_classes = len(folders)


# ------------------------------------------------------------------------------------------ estimate


@dataclass
class SpeedEstimate:
    sec_per_kimg: float
    device: str
    batch_timed: int
    steps: int
    method: str = "networks"  # 'trainer': the trainer's own step; 'networks': bare G+D steps x OVERHEAD_FACTOR

    @property
    def note(self) -> str:
        """What the figure leaves out, in words for the form."""
        if self.method == "trainer":
            return (f"An estimate: {self.steps} timed steps of the trainer's own training step at batch "
                    f"{self.batch_timed} (all phases; lazy R1 / path-length regularisation averaged in), with "
                    "augmentation still at p = 0 as a run starts and no data loading.")
        return (f"An estimate: {self.steps} timed G+D steps at batch {self.batch_timed}, ×{OVERHEAD_FACTOR} for "
                "regularisation, augmentation and data loading.")

    def describe(self) -> str:
        return f"≈ {self.sec_per_kimg:.3g} s/kimg on {self.device}. {self.note}"


def measure_training_step(cfg: str, resolution: int, device: str = "cpu", batch: int = 4, gamma: float | None = None,
                          aug: str = "ada", steps: int = 2, cancelled=None) -> SpeedEstimate:
    """Time the trainer's own step (``TrainingLoop.step``: every phase, EMA, ADA bookkeeping) on random images.

    A run's step cost does not depend on what the images show, so a handful of random ones at the right size
    stand in for the dataset (scanning a 70k-image dataset again would cost more than the measurement).
    Steps 1..n do the main phases only; one step at ``batch_idx`` 16 does them all, and its regularisation
    phases are averaged in at their NVIDIA intervals (G every 4 steps, D every 16).
    """
    import tempfile

    import torch

    from explorer.train import distributed
    from explorer.train.loop import TrainingLoop, _new_options
    from explorer.train.options import TrainOptions

    with tempfile.TemporaryDirectory(prefix="explorer-estimate-") as tmp:
        data = Path(tmp) / "images"
        data.mkdir()
        rng = np.random.default_rng(0)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (resolution, resolution, 3), dtype=np.uint8)).save(data / f"{i}.png")
        command = TrainOptions(data=data, outdir=Path(tmp), cfg=cfg, batch=batch, gamma=gamma, aug=aug, p=0.0,
                               workers=0, resolution=resolution)
        options = _new_options(command, device, 1)
        options["run_dir"] = tmp
        loop = TrainingLoop(options, distributed.Dist(device=torch.device(device)))
        loop._build()
        loop._load_resume()
        b = options["batch_gpu"]
        images = torch.from_numpy(np.stack([loop.dataset[i % len(loop.dataset)][0] for i in range(b)]))
        labels = torch.zeros(b, 0)
        loop.step(images, labels)  # warm-up: allocations, kernel choice (and all phases, untimed)
        start, done = time.perf_counter(), 0
        for _ in range(steps):
            if cancelled is not None and cancelled():
                break
            loop.step(images, labels)
            done += 1
        main = (time.perf_counter() - start) / max(done, 1)
        loop.stats.collect()
        loop.batch_idx = 16  # a step where both lazy regularisation phases run
        loop.step(images, labels)
        line = loop.stats.collect()
        reg_ms = {name: line.get(f"Timing/{name}", {}).get("mean", 0.0) for name in ("Greg", "Dreg")}
        per_step = main + reg_ms["Greg"] / 1000 / options["G_reg_interval"] + reg_ms["Dreg"] / 1000 / options["D_reg_interval"]
    return SpeedEstimate(per_step / b * 1000, str(torch.device(device)), b, done, method="trainer")


def measure_sec_per_kimg(g_config: dict, d_config: dict, device: str = "cpu", batch: int = 4,
                         steps: int = 2, cancelled=None) -> SpeedEstimate:
    """Time ``steps`` generator+discriminator training steps (after one warm-up) and scale to 1000 images.

    The networks are built untrained, exactly as configured, so the cost per image is the real one; batch is
    kept small (per-image cost is nearly flat in batch on a CPU, and a GPU only gets faster per image with
    larger batches, so this errs on the slow side there).
    """
    import torch

    from explorer.models import build_generator
    from explorer.train.networks_d import build_discriminator

    dev = torch.device(device)
    G = build_generator(g_config).to(dev).train()
    D = build_discriminator(d_config).to(dev).train()
    res, ch = G.img_resolution, G.img_channels
    c_dim = G.c_dim

    def step():
        z = torch.randn(batch, G.z_dim, device=dev)
        c = torch.zeros(batch, c_dim, device=dev) if c_dim else None
        ws = G.mapping(z, c)
        fake = G.synthesis(ws, noise_mode="random")
        torch.nn.functional.softplus(-D(fake, c)).mean().backward()  # G main
        real = torch.randn(batch, ch, res, res, device=dev)
        loss = torch.nn.functional.softplus(D(fake.detach(), c)).mean() + torch.nn.functional.softplus(-D(real, c)).mean()
        loss.backward()  # D main
        if dev.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up: allocations, kernel selection
    start = time.perf_counter()
    done = 0
    for _ in range(steps):
        if cancelled is not None and cancelled():
            break
        step()
        done += 1
    seconds = (time.perf_counter() - start) / max(done, 1)
    return SpeedEstimate(seconds / batch * 1000 * OVERHEAD_FACTOR, str(dev), batch, done)


def estimate_sec_per_kimg(cfg: str, resolution: int, device: str, batch: int, gamma: float | None = None,
                          aug: str = "ada", fallback_configs=None, cancelled=None) -> SpeedEstimate:
    """The best estimate available: the trainer's own step, else bare G+D steps of ``fallback_configs()``.

    On a CPU above 64x64 a few images per step stand in for the batch (a paper256 step at batch 64 would take
    minutes); small models are timed at the real batch, where fixed per-step costs still matter.
    """
    timed = batch if device != "cpu" or resolution <= 64 else min(batch, 4)
    try:
        return measure_training_step(cfg, resolution, device, timed, gamma, aug, cancelled=cancelled)
    except (ImportError, TypeError, KeyError, AttributeError):
        if fallback_configs is None:
            raise
        g, d = fallback_configs()  # the trainer's internals moved: time the networks alone
        return measure_sec_per_kimg(g, d, device, min(timed, 4), 2, cancelled)
