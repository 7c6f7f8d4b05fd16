"""The target of a projection: any common image file -> 8-bit pixels of the model's size and channels.

As NVIDIA's projector: a centre square crop (or the artist's square), Lanczos-resized to the model's
resolution. Images are checked before they are decoded: a file whose header declares a huge canvas (a
decompression bomb) is refused without allocating it. Greyscale, palette, 16-bit and transparent images
are converted (transparent pixels onto white, the backdrop drawings are usually made on) and the
conversion is reported as a note; 32-bit float images are refused, their range is not knowable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from explorer.errors import ImageFileError

MAX_TARGET_PIXELS = 50_000_000  # a 50-megapixel photo is fine; a canvas larger than that is not a photo
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


@dataclass(frozen=True)
class Crop:
    """A square of the source image in its own pixels: left, top, side."""

    left: int
    top: int
    size: int

    @classmethod
    def centre(cls, width: int, height: int) -> "Crop":
        side = min(width, height)
        return cls((width - side) // 2, (height - side) // 2, side)

    def check(self, width: int, height: int, path: Path) -> None:
        if self.size < 1 or self.left < 0 or self.top < 0 or self.left + self.size > width or self.top + self.size > height:
            raise ImageFileError(path, f"crop {self.size}x{self.size} at ({self.left}, {self.top}) does not lie inside "
                                       f"the {width}x{height} image")


@dataclass(frozen=True)
class SourceImage:
    """A decoded image as 8-bit RGB [H, W, 3], with what was done to get it there."""

    path: Path
    pixels: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]


def read_image(path: str | Path) -> SourceImage:
    """Decode an image file to 8-bit RGB; every failure is one ``ImageFileError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(path, "no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_TARGET_PIXELS:
                    raise ImageFileError(path, f"declares {width}x{height} pixels, more than the "
                                               f"{MAX_TARGET_PIXELS // 1_000_000} megapixels accepted (a decompression bomb?)")
                image.load()
                pixels, notes = _to_rgb8(image, path)
    except ImageFileError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageFileError(path, "declares an enormous canvas (a decompression bomb), refused") from None
    except UnidentifiedImageError:
        raise ImageFileError(path, "not an image file this program can read (PNG, JPEG, WebP, BMP, TIFF, GIF)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageFileError(path, f"damaged or truncated image ({' '.join(str(exc).split())[:160]})") from None
    return SourceImage(path, pixels, tuple(notes))


def _to_rgb8(image: Image.Image, path: Path) -> tuple[np.ndarray, list[str]]:
    mode, notes = image.mode, []
    if mode == "F":
        raise ImageFileError(path, "is a 32-bit float image; save it as an 8- or 16-bit PNG or a JPEG")
    if mode.startswith("I"):  # 16-bit greyscale (I;16*) or 32-bit integer holding 16-bit values
        grey = np.asarray(image).astype(np.float64)
        grey = np.clip(np.round(grey / 257.0), 0, 255).astype(np.uint8)
        notes.append("16-bit greyscale image: reduced to 8 bits and used as grey RGB")
        return np.repeat(grey[..., None], 3, axis=2), notes
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA")).astype(np.float64)
        alpha = rgba[..., 3:] / 255.0
        if alpha.min() < 1.0:
            notes.append("transparent pixels were put on white")
        rgb = rgba[..., :3] * alpha + 255.0 * (1 - alpha)
        pixels = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    else:
        pixels = np.asarray(image.convert("RGB"))
    if mode in ("1", "L", "LA", "La"):
        notes.append("greyscale image: used as grey RGB")
    return np.ascontiguousarray(pixels), notes


def fit_target(source: SourceImage, resolution: int, channels: int = 3, crop: Crop | None = None) -> np.ndarray:
    """The square ``crop`` (default: the centre square) of ``source``, Lanczos-resized to
    [resolution, resolution, channels] uint8 (one channel: the luma of the RGB)."""
    crop = crop or Crop.centre(source.width, source.height)
    crop.check(source.width, source.height, source.path)
    square = Image.fromarray(source.pixels).crop((crop.left, crop.top, crop.left + crop.size, crop.top + crop.size))
    resized = square.resize((resolution, resolution), Image.Resampling.LANCZOS)
    if channels == 1:
        return np.asarray(resized.convert("L"))[..., None]
    return np.asarray(resized)


def load_target(path: str | Path, resolution: int, channels: int = 3, crop: Crop | None = None
                ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Read and fit a target in one go: (pixels [R, R, C] uint8, conversion notes)."""
    source = read_image(path)
    return fit_target(source, resolution, channels, crop), source.notes
