"""ADA augmentation: identity at p=0, differentiable, geometry and colour do what they say; the p
controller moves p toward the target."""

from __future__ import annotations

import math

import torch

from explorer.train.augment import AdaController, AugmentParams, AugmentPipe


def test_identity_at_p_zero():
    pipe = AugmentPipe.from_name("bgc")
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    assert torch.equal(pipe(x), x)
    params = pipe.sample(6, 16, p=0.0)  # drawing with p=0 gives identity parameters too
    assert torch.equal(pipe.apply(x, params), x)


def test_gradcheck_every_group():
    pipe = AugmentPipe.from_name("bgc")
    gen = torch.Generator().manual_seed(1)
    params = pipe.sample(3, 6, generator=gen, p=1.0)
    assert params.flip.any() or params.rot90.any()
    assert not torch.allclose(params.geom, torch.eye(3).expand(3, 3, 3))
    assert not torch.allclose(params.color, torch.eye(4).expand(3, 4, 4))
    x = torch.rand(3, 3, 6, 6, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pipe.apply(t, params), (x,), fast_mode=True)
    grey = torch.rand(3, 1, 6, 6, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pipe.apply(t, params), (grey,), fast_mode=True)


def _identity(n):
    return AugmentParams(
        flip=torch.zeros(n, dtype=torch.bool), rot90=torch.zeros(n, dtype=torch.long),
        shift=torch.zeros(n, 2, dtype=torch.long), geom=torch.eye(3).repeat(n, 1, 1), color=torch.eye(4).repeat(n, 1, 1),
    )


def test_blit_ops_are_exact():
    pipe = AugmentPipe.from_name("blit")
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    p = _identity(2)
    p.flip[0] = True
    p.rot90[1] = 1
    out = pipe.apply(x, p)
    assert torch.equal(out[0], x[0].flip(2)) and torch.equal(out[1], torch.rot90(x[1], 1, dims=(1, 2)))
    p = _identity(1)
    p.shift[0] = torch.tensor([1, 0])
    row = pipe.apply(x[:1], p)[0, 0, 0]
    assert row.tolist() == [1.0, 0.0, 1.0, 2.0]  # moved right by one, reflected at the edge


def test_colour_matrices():
    pipe = AugmentPipe.from_name("color")
    x = torch.rand(4, 3, 8, 8) * 2 - 1
    p = _identity(4)
    p.color[0, :3, 3] = 0.25  # brightness
    v = torch.tensor([1.0, 1, 1, 0]) / math.sqrt(3)
    p.color[1] = torch.eye(4) - 2 * torch.outer(v, v)  # luma flip
    out = pipe.apply(x, p)
    assert torch.allclose(out[0], x[0] + 0.25)
    luma = x[1].mean(0)
    assert torch.allclose(out[1].mean(0), -luma, atol=1e-6)  # luma negated, chroma kept
    assert torch.equal(out[2:], x[2:])


def test_ada_controller_steers_p():
    pipe = AugmentPipe.from_name("bgc")
    ada = AdaController(pipe, target=0.6, interval=4, ada_kimg=1)
    ada.accumulate(torch.ones(32, 1))  # D sure of every real: over-fitting, p goes up
    ada.update(batch_images=32)
    assert abs(float(pipe.p) - 32 * 4 / 1000) < 1e-6
    ada.accumulate(-torch.ones(32, 1))
    ada.update(batch_images=32)
    ada.accumulate(-torch.ones(32, 1))
    ada.update(batch_images=32)
    assert float(pipe.p) == 0.0  # clamped at zero
