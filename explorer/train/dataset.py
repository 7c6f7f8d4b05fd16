"""Training images: the dataset tool that writes NVIDIA's layout, and the ``Dataset`` training reads.

NVIDIA's layout (so their ``train.py`` can read our zips and we can read theirs): an uncompressed
(ZIP_STORED) zip of PNGs stored with ``compress_level=0``, named ``NNNNN/imgNNNNNNNN.png`` (1000 images
per folder), and a root ``dataset.json`` ``{"labels": [["00000/img00000000.png", 3], ...]}`` or
``{"labels": null}``. A label is an int (class, one-hot at load) or a list of floats. We also store
``"class_names"`` beside ``labels``; NVIDIA's reader ignores unknown keys.

Which source images are used (decided here, reported per file by the tool, never silently):

- RGB, grayscale (L, 1-bit) and palette images are used; grayscale in a colour dataset is expanded
  to RGB (lossless). The output is 1-channel only when every usable image is grayscale.
- Images with an alpha channel are used when fully opaque. Images with real transparency are
  **skipped**: flattening onto some background colour would invent content the artist did not choose.
- CMYK, 16-bit / 32-bit integer, float, LAB and HSV images are **skipped**: converting them without a
  colour profile or tone mapping changes their look; the reason says to convert them first.
- Unreadable or truncated files are skipped with PIL's reason. Non-image files are ignored.

Geometry: ``center-crop`` (default; the central square), ``center-crop-wide`` (a 2:1 central band
letterboxed into the square, as NVIDIA's tool), ``pad`` (black borders to a square). Then a Lanczos
resize to ``resolution`` (a power of two, 4 to 4096).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from explorer.errors import ExplorerError, UsageError
from explorer.fileio import atomic_write

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}
TRANSFORMS = ("center-crop", "center-crop-wide", "pad")
# Bounds that keep a hostile file from costing unbounded time or memory (a zip bomb, a 100000x100000 PNG).
MAX_FILE_BYTES = 256 * 2**20  # one image, or dataset.json, as stored or once unpacked
MAX_PIXELS = 8192 * 8192
MAX_COMPRESSION_RATIO = 200  # real image data never inflates this much; a zip bomb does
MAX_CLASSES = 100_000
MAX_LABEL_DIM = 4096
LABEL_SOURCES = ("subfolders", "dataset.json")


class DatasetError(ExplorerError):
    """A dataset that cannot be used: names the path and the problem in one line."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        super().__init__(f"{self.path.name}: {' '.join(reason.split())}")


def check_resolution(resolution: int) -> int:
    """Training needs a square power-of-two size (the networks halve it down to 4x4)."""
    if resolution < 4 or resolution > 4096 or resolution & (resolution - 1):
        raise UsageError(f"resolution {resolution} is not a power of two between 4 and 4096 (e.g. 64, 256, 1024)")
    return resolution


# --------------------------------------------------------------------------------------------- sources


class _Source:
    """A folder or zip of images, listed once; ``open(name)`` returns the bytes of one member."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise DatasetError(self.path, "no such folder or zip file")
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self.kind = "dir"
            all_names = sorted(
                p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
            )
        elif zipfile.is_zipfile(self.path):
            self.kind = "zip"
            try:
                with zipfile.ZipFile(self.path) as zf:
                    all_names = sorted(n for n in zf.namelist() if not n.endswith("/"))
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
                raise DatasetError(self.path, f"damaged zip file ({' '.join(str(exc).split())})") from None
        else:
            raise DatasetError(self.path, "is neither a folder nor a zip file")
        self.names = [n for n in all_names if Path(n).suffix.lower() in IMAGE_SUFFIXES and not _hidden(n)]
        self.has_json = "dataset.json" in all_names

    def read(self, name: str) -> bytes:
        """The bytes of one member, or ``SkipImage`` saying why it cannot be read (bounded in size)."""
        try:
            if self.kind == "dir":
                path = self.path / name
                if path.stat().st_size > MAX_FILE_BYTES:
                    raise SkipImage(f"file is larger than {MAX_FILE_BYTES // 2**20} MiB")
                return path.read_bytes()
            if self._zip is None:  # opened lazily: each DataLoader worker gets its own handle
                self._zip = zipfile.ZipFile(self.path)
            info = self._zip.getinfo(name)
            if info.flag_bits & 0x1:
                raise SkipImage("encrypted zip member")
            if info.file_size > MAX_FILE_BYTES:
                raise SkipImage(f"unpacks to more than {MAX_FILE_BYTES // 2**20} MiB")
            if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
                raise SkipImage("compressed too well to be an image (a zip bomb?)")
            return self._zip.read(name)  # never more than file_size bytes; a CRC mismatch raises
        except SkipImage:
            raise
        except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, EOFError) as exc:
            raise SkipImage(f"cannot read file: {' '.join(str(exc).split()) or type(exc).__name__}") from None

    def labels_json(self) -> dict | None:
        if not self.has_json:
            return None
        try:
            return json.loads(self.read("dataset.json"))
        except SkipImage as exc:
            raise DatasetError(self.path, f"dataset.json: {exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise DatasetError(self.path, f"dataset.json is not valid JSON ({type(exc).__name__})") from None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_zip"] = None
        return state


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


# ----------------------------------------------------------------------------------------- decoding

_SKIP_MODES = {
    "CMYK": "CMYK colour: convert it to RGB first (a colour profile is needed to do that faithfully)",
    "I;16": "16-bit image: convert it to 8-bit first",
    "I;16B": "16-bit image: convert it to 8-bit first",
    "I;16L": "16-bit image: convert it to 8-bit first",
    "I;16N": "16-bit image: convert it to 8-bit first",
    "I": "32-bit integer image: convert it to 8-bit first",
    "F": "floating-point image: convert it to 8-bit first",
    "LAB": "LAB colour: convert it to RGB first",
    "HSV": "HSV colour: convert it to RGB first",
}


class SkipImage(Exception):
    """One source image is unusable; ``str()`` is the reason."""


def _read_failure(exc: Exception) -> str:
    if isinstance(exc, Image.DecompressionBombError):
        return f"image is more than {MAX_PIXELS} pixels"
    if isinstance(exc, UnidentifiedImageError):
        return "cannot read image: unknown or corrupt image data"
    text = re.sub(r"<[^>]*>", "", str(exc)).strip() or type(exc).__name__
    return f"cannot read image: {' '.join(text.split())}"


def mode_problem(image: Image.Image) -> str | None:
    """Why an image's mode is refused (from its header alone), or None when it can be used."""
    if image.mode in _SKIP_MODES:
        return _SKIP_MODES[image.mode]
    if image.mode not in {"1", "L", "P", "RGB", "RGBA", "LA", "PA", "RGBa", "La", "YCbCr", "RGBX"}:
        return f"unsupported image mode {image.mode}"
    w, h = image.size
    if w < 1 or h < 1 or w * h > MAX_PIXELS:
        return f"image is {w}x{h}: empty, or more than {MAX_PIXELS} pixels"
    if getattr(image, "n_frames", 1) > 1:
        return f"animated image ({image.n_frames} frames): save the frame you want as a still image"
    return None


def decode(data: bytes) -> np.ndarray:
    """Bytes -> HWC uint8 array with 1 or 3 channels, or ``SkipImage`` with the reason."""
    try:
        image = Image.open(io.BytesIO(data))
        problem = mode_problem(image)
        if problem:
            raise SkipImage(problem)
        image.load()
    except SkipImage:
        raise
    except Exception as exc:  # PIL raises many types for broken files (and DecompressionBombError)
        raise SkipImage(_read_failure(exc)) from None
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            raise SkipImage("has transparent pixels: flatten it onto the background you want first")
    if image.mode in {"1", "L", "LA", "La"}:
        return np.asarray(image.convert("L"))[:, :, None]
    return np.asarray(image.convert("RGB"))


def fit_square(pixels: np.ndarray, resolution: int, transform: str) -> np.ndarray:
    """Crop or pad an HWC array to a square and resize it to ``resolution`` (Lanczos)."""
    h, w, c = pixels.shape
    if transform == "center-crop":
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        pixels = pixels[top : top + s, left : left + s]
        return _resize(pixels, resolution, resolution)
    if transform == "center-crop-wide":
        ch = min(h, w // 2)
        cw = ch * 2
        top, left = (h - ch) // 2, (w - cw) // 2
        band = _resize(pixels[top : top + ch, left : left + cw], resolution, resolution // 2)
        canvas = np.zeros((resolution, resolution, c), np.uint8)
        offset = (resolution - resolution // 2) // 2
        canvas[offset : offset + resolution // 2] = band
        return canvas
    if transform == "pad":
        s = max(h, w)
        canvas = np.zeros((s, s, c), np.uint8)
        top, left = (s - h) // 2, (s - w) // 2
        canvas[top : top + h, left : left + w] = pixels
        return _resize(canvas, resolution, resolution)
    raise UsageError(f"unknown --transform {transform!r} (choose {', '.join(TRANSFORMS)})")


def _resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    if pixels.shape[0] == height and pixels.shape[1] == width:
        return np.ascontiguousarray(pixels)
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    out = np.asarray(image.resize((width, height), Image.LANCZOS))
    return out.reshape(height, width, pixels.shape[2])


def encode_png(pixels: np.ndarray) -> bytes:
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=0, optimize=False)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- labels


def _subfolder_labels(names: list[str], path: Path) -> tuple[dict[str, int], list[str]]:
    classes = sorted({n.split("/")[0] for n in names if "/" in n}, key=_natural_key)
    if not classes:
        raise DatasetError(path, "--labels subfolders needs images inside sub-folders (one per class)")
    index = {c: i for i, c in enumerate(classes)}
    return {n: index[n.split("/")[0]] for n in names if "/" in n}, classes


def _json_labels(source: _Source) -> dict[str, object]:
    if not source.has_json:
        raise DatasetError(source.path, "--labels dataset.json given, but the source has no dataset.json")
    table = label_table(source)
    if table is None:
        raise DatasetError(source.path, "dataset.json has no labels")
    return table


def label_table(source: _Source) -> dict[str, object] | None:
    """dataset.json's ``labels`` as {member name: int class or list of floats}, checked; None if it has none.

    Each entry must be a [name, label] pair; classes are 0 .. MAX_CLASSES - 1 (a one-hot vector is that
    long), float labels are finite and all of one length. Anything else is a one-line DatasetError.
    """
    data = source.labels_json()
    labels = data.get("labels") if isinstance(data, dict) else None
    if not labels:
        return None
    if not isinstance(labels, list):
        raise DatasetError(source.path, "dataset.json: labels is not a list of [file, label] pairs")
    table: dict[str, object] = {}
    length = None
    for entry in labels:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise DatasetError(source.path, f"dataset.json: {str(entry)[:60]} is not a [file, label] pair")
        name, label = entry[0].replace("\\", "/"), entry[1]
        if isinstance(label, bool) or not isinstance(label, (int, list)):
            raise DatasetError(source.path, f"dataset.json: the label of {name} is not a class number or a list of numbers")
        if isinstance(label, int) and not 0 <= label < MAX_CLASSES:
            raise DatasetError(source.path, f"dataset.json: {name} has class {label}, outside 0..{MAX_CLASSES - 1}")
        if isinstance(label, list):
            if not (0 < len(label) <= MAX_LABEL_DIM and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in label)):
                raise DatasetError(source.path, f"dataset.json: the label of {name} is not 1..{MAX_LABEL_DIM} finite numbers")
            if length is not None and len(label) != length:
                raise DatasetError(source.path, f"dataset.json: labels of different lengths ({name})")
            length = len(label)
        table[name] = label
    kinds = {isinstance(v, int) for v in table.values()}
    if len(kinds) > 1:
        raise DatasetError(source.path, "dataset.json mixes class numbers and label vectors")
    return table


# --------------------------------------------------------------------------------------- the tool


@dataclass
class DatasetReport:
    """What ``make_dataset`` did: counts, and every skipped source file with its reason."""

    dest: Path
    written: int = 0
    resolution: int = 0
    channels: int = 0
    labelled: bool = False
    num_classes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def make_dataset(
    source: str | Path,
    dest: str | Path,
    resolution: int,
    transform: str = "center-crop",
    labels: str | None = None,
    max_images: int | None = None,
    progress=None,
) -> DatasetReport:
    """Convert a folder or zip of images into a training zip at ``dest`` (atomically, never over one).

    ``labels``: None (carry a source ``dataset.json`` through if there is one), ``"subfolders"`` (class =
    top-level folder, sorted by name) or ``"dataset.json"`` (must exist in the source).
    """
    check_resolution(resolution)
    if transform not in TRANSFORMS:
        raise UsageError(f"unknown --transform {transform!r} (choose {', '.join(TRANSFORMS)})")
    if labels not in (None, *LABEL_SOURCES):
        raise UsageError(f"unknown --labels {labels!r} (choose {', '.join(LABEL_SOURCES)})")
    dest = Path(dest).expanduser()
    if dest.suffix.lower() != ".zip":
        raise UsageError(f"{dest.name}: the dataset destination must be a .zip file")
    if dest.exists():
        raise UsageError(f"{dest.name}: already exists; delete it or choose another --dest")
    src = _Source(source)
    names = sorted(src.names, key=_natural_key)
    if not names:
        raise DatasetError(src.path, "holds no image files (.png, .jpg, .webp, ...)")

    class_names: list[str] = []
    label_of: dict[str, object] | None = None
    if labels == "subfolders":
        label_of, class_names = _subfolder_labels(names, src.path)
    elif labels == "dataset.json" or (labels is None and src.has_json):
        label_of = _json_labels(src) if labels else label_table(src)

    try:
        return _write_dataset(src, dest, names, resolution, transform, label_of, class_names, max_images, progress)
    except OSError as exc:  # a full disk, say: atomic_write has removed its temporary file
        raise DatasetError(dest, f"cannot write the dataset ({exc.strerror or exc}); nothing was written") from None


def _write_dataset(src, dest, names, resolution, transform, label_of, class_names, max_images, progress) -> DatasetReport:
    report = DatasetReport(dest=dest, resolution=resolution)
    # Pass 1, headers only (cheap): the output is 1-channel only if every usable image is grey.
    channels = 1
    for name in names:
        try:
            with Image.open(io.BytesIO(src.read(name))) as image:
                if mode_problem(image) is None and image.mode not in {"1", "L", "LA", "La"}:
                    channels = 3
                    break
        except Exception:
            continue  # reported in pass 2
    # Pass 2, streaming: decode, fit, encode and store one image at a time (datasets can be far larger
    # than memory). Anything unusable is reported and takes no index.
    entries = []
    written = 0
    with atomic_write(dest, overwrite=False) as handle:
        with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED) as zf:
            for name in names:
                if max_images is not None and written >= max_images:
                    break
                if label_of is not None and name not in label_of:
                    report.skipped.append((name, "has no label (in --labels mode every image needs one)"))
                    continue
                try:
                    pixels = fit_square(decode(src.read(name)), resolution, transform)
                except SkipImage as exc:
                    report.skipped.append((name, str(exc)))
                    continue
                if channels == 3 and pixels.shape[2] == 1:
                    pixels = np.repeat(pixels, 3, axis=2)
                arcname = f"{written // 1000:05d}/img{written:08d}.png"
                zf.writestr(arcname, encode_png(pixels))
                if label_of is not None:
                    entries.append([arcname, label_of[name]])
                written += 1
                if progress:
                    progress(written, len(names))
            if not written:  # raising inside atomic_write removes the partial file
                first = report.skipped[0][1] if report.skipped else "none found"
                raise DatasetError(src.path, f"no usable images ({len(report.skipped)} skipped: {first})")
            meta = {"labels": entries if label_of is not None else None}
            if class_names:
                meta["class_names"] = class_names
            zf.writestr("dataset.json", json.dumps(meta))
    report.written = written
    report.channels = channels
    report.labelled = label_of is not None
    if class_names:
        report.num_classes = len(class_names)
    elif label_of is not None:
        ints = [v for v in label_of.values() if isinstance(v, int)]
        report.num_classes = max(ints) + 1 if ints else 0
    return report


# -------------------------------------------------------------------------------- training dataset


class ImageDataset(torch.utils.data.Dataset):
    """Images for training from a dataset zip or a plain folder (zip or folder of images alike).

    Items are ``(uint8 array [C, R, R], float32 label vector)``. With ``xflip`` the dataset has twice the
    items; the second half are mirror images (NVIDIA's convention, so the mirrored copies are visited
    exactly once per epoch and data order stays a pure function of the sampler). Images that are not
    already ``resolution`` square are centre-cropped and resized on load, so a raw folder works too
    (the dataset tool does this once, which is faster). Unusable files are left out at construction,
    from their headers; ``skipped`` lists them with reasons.
    """

    def __init__(
        self,
        path: str | Path,
        resolution: int | None = None,
        use_labels: bool = False,
        xflip: bool = False,
        max_size: int | None = None,
        cache: bool = True,
        transform: str = "center-crop",
    ):
        if transform not in TRANSFORMS:
            raise UsageError(f"unknown --transform {transform!r} (choose {', '.join(TRANSFORMS)})")
        self.transform = transform
        self.source = _Source(path)
        self.path = self.source.path
        names = sorted(self.source.names, key=_natural_key)
        if not names:
            raise DatasetError(self.path, "holds no images (.png, .jpg, .webp, ...); make one with `explorer dataset`")
        self.skipped: list[tuple[str, str]] = []
        self.names = []
        first_size = None
        for name in names:
            problem, size = self._header_check(name)
            if problem:
                self.skipped.append((name, problem))
                continue
            first_size = first_size or size
            self.names.append(name)
            if max_size is not None and len(self.names) >= max_size:
                break
        if not self.names:
            reason = self.skipped[0][1] if self.skipped else "no images"
            raise DatasetError(self.path, f"no usable images ({len(self.skipped)} skipped, first: {reason})")
        if resolution is None:
            w, h = first_size
            if w != h or w & (w - 1) or w < 4:
                raise DatasetError(
                    self.path,
                    f"images are {w}x{h}: training needs square power-of-two images; pass --resolution or "
                    "make a dataset with `explorer dataset --resolution N`",
                )
            resolution = w
        self.resolution = check_resolution(resolution)
        self.unreadable: dict[int, str] = {}  # found bad while training (a header looked fine): item -> reason
        self.num_channels = 3 if self._decode_usable(0).shape[2] == 3 else 1
        self.xflip = bool(xflip)
        self._labels = self._load_labels() if use_labels else None
        if use_labels and self._labels is None:
            raise DatasetError(self.path, "--cond needs labels, but the dataset has no dataset.json labels")
        self.label_dim = 0 if self._labels is None else self._labels.shape[1]
        self._cache: dict[int, np.ndarray] | None = {} if cache and len(self.names) * resolution**2 * 3 < 512 * 2**20 else None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def has_labels(self) -> bool:
        return self._labels is not None

    def _header_check(self, name: str) -> tuple[str | None, tuple[int, int] | None]:
        try:
            with Image.open(io.BytesIO(self.source.read(name))) as image:
                return mode_problem(image), image.size
        except SkipImage as exc:
            return str(exc), None
        except Exception as exc:
            return _read_failure(exc), None

    def _load_labels(self) -> np.ndarray | None:
        table = label_table(self.source)
        if table is None:
            return None
        missing = [n for n in self.names if n not in table]
        if missing:
            raise DatasetError(self.path, f"dataset.json has no label for {missing[0]} ({len(missing)} unlabelled)")
        values = [table[n] for n in self.names]
        if all(isinstance(v, int) for v in values):
            onehot = np.zeros((len(values), max(values) + 1), np.float32)
            onehot[np.arange(len(values)), values] = 1
            return onehot
        return np.asarray(values, np.float32).reshape(len(values), -1)

    def __len__(self) -> int:
        return len(self.names) * (2 if self.xflip else 1)

    def image(self, raw_index: int) -> np.ndarray:
        """The CHW uint8 image of source item ``raw_index`` (no flip).

        A file whose header looked fine but whose pixels cannot be used (truncated, transparent) is
        skipped with its reason, logged once, and stands in for by the next usable item: the sampler's
        order stays a pure function of the seed, so a resumed run meets the same stand-in, not a crash.
        """
        if self._cache is not None and raw_index in self._cache:
            return self._cache[raw_index]
        pixels = self._decode_usable(raw_index)
        if pixels.shape[0] != self.resolution or pixels.shape[1] != self.resolution:
            pixels = fit_square(pixels, self.resolution, self.transform)
        if pixels.shape[2] != self.num_channels:
            pixels = np.repeat(pixels, 3, axis=2) if self.num_channels == 3 else pixels.mean(2, keepdims=True).astype(np.uint8)
        chw = np.ascontiguousarray(pixels.transpose(2, 0, 1))
        if self._cache is not None:
            self._cache[raw_index] = chw
        return chw

    def _decode_usable(self, raw_index: int) -> np.ndarray:
        """HWC pixels of item ``raw_index``, or of the next item that decodes (see ``image``)."""
        for offset in range(len(self.names)):
            item = (raw_index + offset) % len(self.names)
            if item in self.unreadable:
                continue
            try:
                return decode(self.source.read(self.names[item]))
            except SkipImage as exc:
                self.unreadable[item] = str(exc)
                print(f"skipped {self.names[item]}: {exc}", flush=True)
        raise DatasetError(self.path, f"no usable images ({len(self.unreadable)} could not be decoded)")

    def label(self, index: int) -> np.ndarray:
        if self._labels is None:
            return np.zeros(0, np.float32)
        return self._labels[index % len(self.names)].copy()

    def __getitem__(self, index: int):
        raw = index % len(self.names)
        img = self.image(raw)
        if index >= len(self.names):
            img = np.ascontiguousarray(img[:, :, ::-1])
        return img, self.label(index)

    def describe(self) -> dict:
        """NVIDIA's ``training_set_kwargs`` style description for training_options.json."""
        return {
            "path": str(self.path),
            "resolution": self.resolution,
            "num_channels": self.num_channels,
            "use_labels": self.has_labels,
            "label_dim": self.label_dim,
            "xflip": self.xflip,
            "transform": self.transform,
            "max_size": len(self.names),
            "skipped": len(self.skipped),
        }


class InfiniteSampler(torch.utils.data.Sampler):
    """An endless, seeded, rank-sharded stream of dataset indices that can start anywhere.

    The global stream is epoch after epoch of seeded permutations; rank ``r`` of ``R`` takes global
    positions r, r+R, r+2R, ... Starting at ``start`` (= images consumed so far by all ranks) therefore
    resumes exactly where a killed run left off, without replaying anything.
    """

    def __init__(self, size: int, rank: int = 0, num_replicas: int = 1, seed: int = 0, start: int = 0, shuffle: bool = True):
        self.size, self.rank, self.num_replicas = size, rank, num_replicas
        self.seed, self.start, self.shuffle = seed, start, shuffle

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.size)
        return np.random.default_rng([self.seed, epoch]).permutation(self.size)

    def __iter__(self) -> Iterator[int]:
        position = self.start + self.rank
        epoch, order = -1, None
        while True:
            e = position // self.size
            if e != epoch:
                epoch, order = e, self._order(e)
            yield int(order[position % self.size])
            position += self.num_replicas
