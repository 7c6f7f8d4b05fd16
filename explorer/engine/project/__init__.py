"""Projecting an image into a model's latent space: target preparation, losses, the staged optimisation.

``project(generator, target, options, ctx)`` runs the stages (W, W+, PTI) as a job; the result is a W+
latent in NVIDIA's projected_w.npz layout and, after PTI, a tuned copy of the generator that
``save_tuned_model`` writes as a new model file. See docs/projection.md.
"""

from explorer.engine.project.optimize import (
    LOSSES,
    STAGES,
    ProjectionOptions,
    ProjectionPreview,
    ProjectionResult,
    project,
)
from explorer.engine.project.target import Crop, fit_target, load_target, read_image

__all__ = ["LOSSES", "STAGES", "Crop", "ProjectionOptions", "ProjectionPreview", "ProjectionResult", "fit_target",
           "load_target", "project", "read_image"]
