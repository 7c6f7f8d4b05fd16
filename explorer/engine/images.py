"""Generator output (float, nominally [-1, 1]) to pixels, as NVIDIA's scripts convert it."""

from __future__ import annotations

import numpy as np
import torch


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float -> [N, H, W, C] uint8 by x * 127.5 + 128, clamped (gen_images.py)."""
    x = (images.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def to_uint16(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float -> [N, H, W, C] uint16 by (x + 1) / 2 * 65535, rounded and clamped."""
    x = ((images.detach().double() + 1) / 2 * 65535).round().clamp(0, 65535)
    return x.permute(0, 2, 3, 1).cpu().numpy().astype(np.uint16)


def tile(images: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """[rows*cols, H, W, C] -> one [rows*H, cols*W, C] grid, filled row by row."""
    n, h, w, c = images.shape
    if n != rows * cols:
        raise ValueError(f"{n} images do not fill a {cols}x{rows} grid")
    return images.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)


WATCHABLE_SIZE = 256  # step and projection videos enlarge small models' frames to at least this


def watchable_factor(resolution: int, at_least: int = WATCHABLE_SIZE) -> int:
    """The whole enlargement that brings ``resolution`` pixels to at least ``at_least`` (1 when they are)."""
    return max(1, -(-at_least // resolution))


def upscale_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    """[H, W, C] -> [H*f, W*f, C] by pixel repetition (exports at 2x / 4x stay crisp)."""
    if factor == 1:
        return image
    return image.repeat(factor, axis=0).repeat(factor, axis=1)
