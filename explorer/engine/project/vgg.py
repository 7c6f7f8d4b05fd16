"""VGG16's convolutional stages, built here and filled from torchvision's weights file, for a perceptual distance.

NVIDIA's projector downloads a TorchScript VGG16 and runs its code; we never run code from a file and never
download. The artist points to torchvision's ImageNet weights (``vgg16-397923af.pth``, a plain state dict),
read with torch's weights-only loader; only ``features.*`` is used. The distance is LPIPS-style (the five
ReLU stages that LPIPS taps, each unit-normalised over channels) without LPIPS's learnt channel weights,
which are a separate download.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F

from explorer.errors import ModelError

# Output channels of each 3x3 conv, "M" for a 2x2 max-pool: torchvision's configuration "D" (VGG16).
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# The ReLUs whose outputs LPIPS compares (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3), as conv counts.
TAPPED_CONVS = (2, 4, 7, 10, 13)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LARGEST_INPUT = 256  # as NVIDIA's projector: larger images are area-downsampled to 256 first


class NotVGG16(ModelError):
    kind = "not torchvision's VGG16 weights"


def feature_names() -> list[tuple[str, int, int]]:
    """(torchvision module index, in channels, out channels) of every conv in ``features``.

    torchvision numbers conv, ReLU and pool modules alike, so a conv sits two places after the previous
    conv, or three after a pool.
    """
    convs, index, channels = [], 0, 3
    for item in VGG16_LAYOUT:
        if item == "M":
            index += 1
            continue
        convs.append((index, channels, item))
        channels = item
        index += 2
    return convs


def read_vgg16_features(path: str | Path) -> dict[str, torch.Tensor]:
    """``features.*`` tensors of torchvision's VGG16 weights file, every name and shape checked."""
    path = Path(path)
    if not path.is_file():
        raise NotVGG16(path, "no such file")
    try:
        # no mmap: torchvision's 2017 file is in torch.save's legacy (non-zip) format, which cannot be mapped
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        # torch's own text is paragraphs of advice about weights_only; the type says enough
        raise NotVGG16(path, f"not a PyTorch weights file of plain tensors ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise NotVGG16(path, f"holds a {type(state).__name__}, not a state dict")
    tensors = {}
    for index, cin, cout in feature_names():
        for suffix, shape in (("weight", (cout, cin, 3, 3)), ("bias", (cout,))):
            name = f"features.{index}.{suffix}"
            tensor = state.get(name)
            if not isinstance(tensor, torch.Tensor):
                raise NotVGG16(path, f"has no {name} (a VGG16 state dict has 13 convs in 'features')")
            if tuple(tensor.shape) != shape or not tensor.is_floating_point():
                raise NotVGG16(path, f"{name} is {tensor.dtype} {tuple(tensor.shape)}, VGG16 has float {shape}")
            tensors[name] = tensor.float().clone()
    return tensors


class VGG16Features(torch.nn.Module):
    """Images in [-1, 1] -> the five tapped ReLU stages of VGG16 (frozen)."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        super().__init__()
        self.convs = torch.nn.ModuleList()
        for index, cin, cout in feature_names():
            conv = torch.nn.Conv2d(cin, cout, 3, padding=1)
            conv.weight.data.copy_(tensors[f"features.{index}.weight"])
            conv.bias.data.copy_(tensors[f"features.{index}.bias"])
            self.convs.append(conv)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1))
        self.eval().requires_grad_(False)

    @classmethod
    def from_file(cls, path: str | Path) -> "VGG16Features":
        return cls(read_vgg16_features(path))

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = (image.float() + 1) / 2
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # a greyscale model's images, seen as grey RGB
        if x.shape[-1] > LARGEST_INPUT:
            x = F.adaptive_avg_pool2d(x, (LARGEST_INPUT, LARGEST_INPUT))
        x = (x - self.mean) / self.std
        features, convs = [], iter(self.convs)
        done = 0
        for item in VGG16_LAYOUT:
            if item == "M":
                x = F.max_pool2d(x, 2)
                continue
            x = F.relu(next(convs)(x))
            done += 1
            if done in TAPPED_CONVS:
                features.append(x)
        return features
