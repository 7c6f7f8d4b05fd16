"""Rules of the open document that do not depend on a window: fitting a state to a model, and applying
parameter assignments to it. Qt-free, so the CLI, tests and the window share them.

What a model switch keeps and what it changes (the artist reads it in the status line):

- kept: seeds A and B, psi, noise settings, the input transform (ignored by models without one), and
  edits whose vectors fit the new model's W;
- cut to the new model: per-row mix weights and per-row psis beyond its rows, a cutoff beyond its rows
  (which then means "all rows"), edit row ranges (cut where they are used);
- reset: a class the model does not have (to 0), an imported W+ of another shape (back to its seed),
  edits of another w_dim (dropped).

A blend is kept: its per-layer weights are padded or cut to the model's layers where they are used, and
a model B of another architecture is refused when the blend is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from explorer.engine.params import ParamRegistry
from explorer.engine.state import Latent, State


@dataclass(frozen=True)
class FittedState:
    state: State
    notes: tuple[str, ...]  # what changed, one short phrase each, for the status line


def fit_state(state: State, model) -> FittedState:
    """``state`` made renderable by ``model`` (anything with num_ws, w_dim, c_dim: a generator or a
    model description), and what had to change."""
    changes, notes = {}, []
    num_ws, w_dim, c_dim = model.num_ws, model.w_dim, model.c_dim
    if state.class_idx and state.class_idx >= max(c_dim, 1):
        changes["class_idx"] = 0
        notes.append(f"class {state.class_idx} reset to 0 ({'no classes' if not c_dim else f'{c_dim} classes'})")
    for side in ("a", "b"):
        latent = getattr(state, side)
        if latent.w_plus is not None and (len(latent.w_plus), len(latent.w_plus[0])) != (num_ws, w_dim):
            changes[side] = Latent(seed=latent.seed)
            notes.append(f"imported W+ of {side.upper()} does not fit; back to seed {latent.seed}")
    if any(state.mix[num_ws:]) or len(state.mix) > num_ws:
        changes["mix"] = state.mix[:num_ws]
        if any(state.mix[num_ws:]):
            notes.append(f"mix of rows beyond {num_ws - 1} dropped")
    if len(state.layer_psi) > num_ws:
        changes["layer_psi"] = state.layer_psi[:num_ws]
        if any(v is not None for v in state.layer_psi[num_ws:]):
            notes.append(f"row psis beyond row {num_ws - 1} dropped")
    if state.cutoff is not None and state.cutoff >= num_ws:
        changes["cutoff"] = None
    edits = tuple(e for e in state.edits if len(e.vector) == w_dim)
    if len(edits) != len(state.edits):
        changes["edits"] = edits
        notes.append(f"{len(state.edits) - len(edits)} edit(s) for another W size dropped")
    return FittedState(state.replace(**changes) if changes else state, tuple(notes))


def apply_assignments(state: State, model, assignments: Iterable[str]) -> State:
    """``state`` with ``ADDRESS=VALUE`` assignments applied through the model's parameter registry."""
    return ParamRegistry.for_model(model, state).apply(state, assignments)
