"""Latent directions in W: sets of unit vectors with a sigma each, found from a model or imported.

``dset`` holds the ``DirectionSet`` and its .npz file; ``methods`` finds directions (SeFa, GANSpace PCA,
from example seeds) and measures sigmas; ``imports`` reads other tools' files; ``edits`` maps a direction slider to the
state's edit and back. The window and the CLI
(``explorer directions``) both drive these; nothing here imports Qt.
"""

from explorer.engine.directions.dset import DirectionSet, combined, load_directions, save_directions
from explorer.engine.directions.imports import import_directions
from explorer.engine.directions.methods import (
    example_direction,
    orthogonalize,
    pca_directions,
    projection_sigmas,
    sefa_directions,
    sefa_sets_at_open,
    w_moments,
)

__all__ = ["DirectionSet", "combined", "load_directions", "save_directions", "import_directions", "example_direction",
           "orthogonalize", "pca_directions", "projection_sigmas", "sefa_directions", "sefa_sets_at_open", "w_moments"]
