"""What every reader checks before a generator is built: the config's bounds, the parameter budget, and
that the file's tensors are exactly the ones the config implies (names, shapes, real floating dtypes).

The expected tensors come from building the generator on torch's ``meta`` device, which allocates
nothing, so the parameter count is exact and is checked against ``MAX_PARAMETERS`` before any real
tensor exists. Also usable by other code that reads generators (training's snapshot reader).
"""

from __future__ import annotations

from pathlib import Path

import torch

from explorer.errors import CorruptModel, UnsupportedArchitecture

# 256 M float32 parameters (1 GiB): eight times the largest published StyleGAN2 generator (30 M at 1024 px).
MAX_PARAMETERS = 256 * 2**20
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def expected_shapes(path: Path, config: dict) -> dict[str, torch.Size]:
    """{tensor name: shape} of the generator ``config`` describes; refuses absurd configs in one line."""
    from explorer.models import build_generator

    try:
        with torch.device("meta"):
            generator = build_generator(config)
    except (ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError) as exc:
        raise UnsupportedArchitecture(path, str(exc)[:300]) from None
    shapes = {name: tensor.shape for name, tensor in generator.state_dict().items()}
    total = sum(shape.numel() for shape in shapes.values())
    if total > MAX_PARAMETERS:
        raise UnsupportedArchitecture(
            path, f"the config asks for {total:,} parameters ({total * 4 / 2**30:.1f} GiB), more than the "
                  f"{MAX_PARAMETERS:,} this program accepts")
    return shapes


def check_tensor(path: Path, name: str, tensor, shape: torch.Size | None = None) -> None:
    """One tensor read from a file: a real, CPU, floating tensor (of ``shape`` when given)."""
    if not isinstance(tensor, torch.Tensor):
        raise CorruptModel(path, f"{name} is a {type(tensor).__name__}, not a tensor")
    if tensor.is_meta or tensor.device.type != "cpu":
        raise CorruptModel(path, f"{name} holds no data (a {tensor.device.type} tensor)")
    if tensor.dtype not in FLOAT_DTYPES:
        raise CorruptModel(path, f"{name} has dtype {str(tensor.dtype).removeprefix('torch.')}, expected floating point")
    if shape is not None and tensor.shape != shape:
        raise UnsupportedArchitecture(path, f"tensor {name} has shape {tuple(tensor.shape)}, expected {tuple(shape)}")


def name_difference(expected, actual, missing: str, extra: str) -> str | None:
    """How two collections of tensor names differ ("3 tensors missing (first: ...); 1 tensor ..."), or None."""
    only_expected = sorted(map(str, set(expected) - set(actual)))
    only_actual = sorted(map(str, set(actual) - set(expected)))
    parts = [f"{len(names)} tensor{'s' if len(names) > 1 else ''} {what} (first: {names[0][:80]})"
             for names, what in ((only_expected, missing), (only_actual, extra)) if names]
    return "; ".join(parts) or None


def check_generator(path: Path, config: dict, tensors: dict) -> dict[str, torch.Size]:
    """Config bounds, parameter budget, and the tensors matching it one to one; returns the shapes."""
    shapes = expected_shapes(path, config)
    if not isinstance(tensors, dict):
        raise CorruptModel(path, "tensors are not a name -> tensor mapping")
    difference = name_difference(shapes, tensors, "missing", "unknown to the architecture")
    if difference:
        raise UnsupportedArchitecture(path, "tensors do not match the architecture: " + difference)
    for name, shape in shapes.items():
        check_tensor(path, name, tensors[name], shape)
    return shapes
