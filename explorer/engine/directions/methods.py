"""Finding directions in W: SeFa from the style weights, GANSpace PCA of mapped samples, and the difference
of example seeds; and the sigma (std of mapped w along a direction) that makes amounts comparable.

Sampling is chunked: moments are accumulated in float64 (sum and sum of outer products), so memory stays at
[chunk, w_dim] + [w_dim, w_dim] however many samples are asked for. z comes from one numpy RandomState, so
a set found twice with the same seed is the same.
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.engine.directions.dset import DirectionSet
from explorer.engine.jobs import JobContext
from explorer.engine.latents import map_z, seed_to_z
from explorer.engine.layers import GROUPS, rows_in_group, style_rows
from explorer.errors import UsageError

SIGMA_SAMPLES = 10_000
CHUNK = 2_000


def w_moments(generator, samples: int, seed: int = 0, ctx: JobContext | None = None,
              chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Mean [w_dim] and covariance [w_dim, w_dim] (float64) of ``samples`` mapped w at psi 1.

    Conditional models draw a random class per sample, so the moments cover every class.
    """
    if samples < 2:
        raise UsageError(f"need at least 2 samples, got {samples}")
    ctx = ctx or JobContext()
    rng = np.random.RandomState(seed)
    total = np.zeros(generator.w_dim)
    outer = np.zeros((generator.w_dim, generator.w_dim))
    done = 0
    while done < samples:
        ctx.check()
        n = min(chunk, samples - done)
        z = rng.randn(n, generator.z_dim)
        classes = rng.randint(generator.c_dim, size=n).tolist() if generator.c_dim else 0
        w = map_z(generator, z, classes)[:, 0].double().cpu().numpy()
        total += w.sum(axis=0)
        outer += w.T @ w
        done += n
        ctx.progress(done / samples, f"mapped {done:,} of {samples:,} samples")
    mean = total / samples
    return mean, outer / samples - np.outer(mean, mean)


def projection_sigmas(covariance: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """The std of the samples' projections onto each unit vector: sqrt(v^T C v). The centre (w_avg or the
    sample mean) does not change a std, so the covariance is all that is needed."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return np.sqrt(np.maximum(np.einsum("kd,de,ke->k", vectors, covariance, vectors), 0.0))


def measured_sigmas(generator, vectors, samples: int = SIGMA_SAMPLES, ctx: JobContext | None = None) -> np.ndarray:
    return projection_sigmas(w_moments(generator, samples, ctx=ctx)[1], vectors)


def check_rows(generator, rows: tuple[int, int]) -> tuple[int, int]:
    first, last = rows
    if not 0 <= first <= last < generator.num_ws:
        raise UsageError(f"layer range {first}-{last} is outside the model's rows 0-{generator.num_ws - 1}")
    return first, last


def styled_affines(generator, rows: tuple[int, int]) -> list[torch.nn.Module]:
    """The ``affine`` layers of every synthesis layer styled by a row in ``rows`` (convolutions and toRGB).
    StyleGAN3's ``input`` affine gives the input transform, not a style, so it is left out."""
    first, last = rows
    affines = []
    for info in generator.layer_infos():
        if first <= info.w_index <= last and info.name != "input":
            affines.append(generator.synthesis.get_submodule(info.name).affine)
    return affines


def sefa_directions(model, rows: tuple[int, int], components: int | None = None,
                    sigma_samples: int = SIGMA_SAMPLES, ctx: JobContext | None = None,
                    covariance: np.ndarray | None = None) -> DirectionSet:
    """SeFa (Shen & Zhou 2021): the eigenvectors of A^T A in decreasing eigenvalue order, A being the stacked
    affine weights [sum C, w_dim] of the layers the rows style, each weight row normalised to unit length
    (genforce's definition). ``covariance`` (of ``sigma_samples`` mapped w) gives the sigmas without
    mapping the samples again."""
    g = model.generator
    rows = check_rows(g, rows)
    affines = styled_affines(g, rows)
    if not affines:
        raise UsageError(f"no synthesis layer is styled by rows {rows[0]}-{rows[1]}")
    with torch.no_grad():
        a = torch.cat([layer.weight.detach().double().cpu() for layer in affines]).numpy()
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    eigenvalues, eigenvectors = np.linalg.eigh(a.T @ a)  # ascending
    order = np.argsort(eigenvalues)[::-1][: components or g.w_dim]
    vectors = eigenvectors[:, order].T
    if covariance is None:
        covariance = w_moments(g, sigma_samples, ctx=ctx)[1]
    sigmas = projection_sigmas(covariance, vectors)
    return DirectionSet.build(vectors, sigmas, [f"sefa{i}" for i in range(len(vectors))], rows, "sefa",
                              {"layers": list(rows), "eigenvalues": eigenvalues[order].tolist(),
                               "sigma_samples": sigma_samples}, model.sha256)


def pca_directions(model, samples: int = 100_000, components: int = 20, seed: int = 0,
                   ctx: JobContext | None = None) -> DirectionSet:
    """GANSpace in W (Härkönen et al. 2020): principal components of mapped w in decreasing variance; each
    sigma is the std along its component over the same samples."""
    g = model.generator
    if not 1 <= components <= g.w_dim:
        raise UsageError(f"--components must be 1..{g.w_dim}, got {components}")
    _, covariance = w_moments(g, samples, seed, ctx)
    variances, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(variances)[::-1][:components]
    variances = np.maximum(variances[order], 0.0)
    return DirectionSet.build(eigenvectors[:, order].T, np.sqrt(variances), [f"pc{i}" for i in range(components)],
                              (0, g.num_ws - 1), "pca",
                              {"samples": samples, "seed": seed,
                               "explained_variance": (variances / np.trace(covariance)).tolist()}, model.sha256)


def seeds_mean_w(generator, seeds: list[int], class_idx: int = 0) -> np.ndarray:
    z = np.concatenate([seed_to_z(s, generator.z_dim) for s in seeds])
    return map_z(generator, z, class_idx)[:, 0].double().cpu().numpy().mean(axis=0)


def orthogonalize(vector: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Gram-Schmidt: ``vector`` with its components along ``others`` [K, w_dim] removed, unit length."""
    vector = np.asarray(vector, dtype=np.float64).copy()
    basis: list[np.ndarray] = []
    for other in np.asarray(others, dtype=np.float64).reshape(-1, vector.shape[-1]):
        for b in basis:
            other = other - (other @ b) * b
        norm = np.linalg.norm(other)
        if norm > 1e-9:  # a direction already spanned by earlier ones adds nothing
            basis.append(other / norm)
    for b in basis:
        vector -= (vector @ b) * b
    norm = np.linalg.norm(vector)
    if norm < 1e-9:
        raise UsageError("the direction lies in the span of the directions it should be orthogonal to")
    return vector / norm


def example_direction(model, positive: list[int], negative: list[int], name: str = "examples",
                      class_idx: int = 0, orthogonal_to: np.ndarray | None = None,
                      sigma_samples: int = SIGMA_SAMPLES, ctx: JobContext | None = None) -> DirectionSet:
    """The normalised difference of the mean w (psi 1) of the positive and the negative seeds, optionally
    made orthogonal to other directions (so "smile" does not also move "age")."""
    g = model.generator
    if not positive or not negative:
        raise UsageError("give at least one positive and one negative seed")
    difference = seeds_mean_w(g, positive, class_idx) - seeds_mean_w(g, negative, class_idx)
    if np.linalg.norm(difference) < 1e-12:
        raise UsageError("positive and negative seeds have the same mean w")
    vector = difference / np.linalg.norm(difference)
    if orthogonal_to is not None and len(orthogonal_to):
        vector = orthogonalize(vector, orthogonal_to)
    sigmas = measured_sigmas(g, vector[None], sigma_samples, ctx)
    return DirectionSet.build(vector[None], sigmas, [name], (0, g.num_ws - 1), "examples",
                              {"positive": positive, "negative": negative, "class": class_idx,
                               "orthogonal": orthogonal_to is not None, "sigma_samples": sigma_samples},
                              model.sha256)


def sefa_sets_at_open(model, ctx: JobContext | None = None) -> list[tuple[str, DirectionSet]]:
    """What the window finds when a model opens: SeFa over all rows, then over the coarse, middle and fine
    rows (engine/layers.py's groups), the samples for the sigmas mapped once for all four."""
    g = model.generator
    covariance = w_moments(g, SIGMA_SAMPLES, ctx=ctx)[1]
    rows = style_rows(g.layer_infos(), g.num_ws)
    ranges = [("all rows", (0, g.num_ws - 1))]
    for group in GROUPS:
        members = rows_in_group(rows, group)
        if members:
            ranges.append((group, (members[0], members[-1])))
    return [(label, sefa_directions(model, span, covariance=covariance)) for label, span in ranges]
