"""The open document, Qt-free: ``Document`` holds the state on screen, the open model's description, the
undo history and the named session parts; the window binds its widgets to it, and the CLI, tests and
live controllers can drive one without a window. Beside it, the rules it applies: fitting a state to a
model and applying parameter assignments.

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
from typing import Any, Callable, Iterable

from explorer.engine.describe import ModelDescription
from explorer.engine.history import History
from explorer.engine.params import ParamRegistry
from explorer.engine.session import Session
from explorer.engine.state import Latent, State
from explorer.errors import ExplorerError


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


StateListener = Callable[[State, State], None]  # (old, new)


class Document:
    """State + model description + undo history + session parts.

    Every change of the state goes through ``set_state`` / ``set_param`` (one undo step, merged within a
    gesture) or ``open_model`` (not undoable: it clears the history, whose states may not fit the new
    model); listeners hear ``(old, new)`` after each change, undo and redo included.
    """

    def __init__(self, state: State | None = None):
        self.state = state if state is not None else State()
        self.model: ModelDescription | None = None
        self.history = History(self._apply)
        self._listeners: list[StateListener] = []
        self._parts: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {}
        self._recipe_parts: set[str] = set()

    # ---- the state -----------------------------------------------------------------------------------
    def add_listener(self, fn: StateListener) -> None:
        self._listeners.append(fn)

    def set_state(self, new: State, text: str = "Change", control: str = "") -> None:
        """Make ``new`` the state as one undo step (a no-op when nothing changes)."""
        if new != self.state:
            self.history.push(self.state, new, text, control)

    def set_param(self, address: str, value) -> None:
        """Set a parameter by its registry address; a bad address or value raises a one-line
        ``ExplorerError`` and changes nothing. The undo step is named after the parameter and merged
        per address within a gesture."""
        if self.model is None:
            raise ExplorerError("no model is open")
        registry = ParamRegistry.for_model(self.model, self.state)
        new = registry.set(self.state, address, value)
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        self.set_state(new, f"{registry[address].label} {shown}", address)

    def fit(self, state: State) -> FittedState:
        """``state`` made renderable by the open model (unchanged without one)."""
        return fit_state(state, self.model) if self.model is not None else FittedState(state, ())

    def open_model(self, model: ModelDescription, state: State | None = None,
                   assignments: Iterable[str] = ()) -> tuple[str, ...]:
        """The model is now ``model``: ``state`` (or the current one) fitted to it, then ``ADDRESS=VALUE``
        ``assignments`` applied; the history starts afresh. Returns what fitting changed; a bad
        assignment raises after the fitted state is in place."""
        self.model = model
        fitted = fit_state(state if state is not None else self.state, model)
        self.history.clear()
        try:  # one change for the listeners (one render), whatever the assignments are
            final = apply_assignments(fitted.state, model, assignments)
        except ExplorerError:
            self._apply(fitted.state)
            raise
        self._apply(final)
        return fitted.notes

    def _apply(self, state: State) -> None:
        old, self.state = self.state, state
        for fn in self._listeners:
            fn(old, state)

    # ---- session parts ---------------------------------------------------------------------------------
    def register_part(self, name: str, get: Callable[[], Any], set: Callable[[Any], None],
                      in_recipes: bool = False) -> None:
        """A panel's own JSON kept in the session file under ``name`` (the timeline's is "timeline") and,
        with ``in_recipes``, in exported PNGs' recipes too (the live controls' mappings)."""
        self._parts[name] = (get, set)
        if in_recipes:
            self._recipe_parts.add(name)

    def recipe_parts(self) -> dict[str, Any]:
        """The JSON of the parts that travel in recipes, by name."""
        return {name: self._parts[name][0]() for name in self._recipe_parts}

    def restore_recipe_parts(self, parts: dict[str, Any], source: str) -> list[str]:
        """Give the recipe parts their JSON from a recipe (``source`` names it in the error lines)."""
        errors = []
        for name in self._recipe_parts & set(parts):
            try:
                self._parts[name][1](parts[name])
            except ExplorerError as exc:
                errors.append(f"{source}: {name}: {exc}")
        return errors

    def session(self, model_path: str | None) -> Session:
        parts = {name: get() for name, (get, _) in self._parts.items()}
        timeline = parts.pop("timeline", None)
        return Session(model=model_path, state=self.state, timeline=timeline, extra=parts)

    def restore_parts(self, session: Session) -> list[str]:
        """Give each registered part its JSON from ``session``; returns one line per part that refused
        (a damaged timeline must not lose the rest)."""
        errors = []
        for name, (_, set_part) in self._parts.items():
            value = session.timeline if name == "timeline" else session.extra.get(name)
            if value is not None:
                try:
                    set_part(value)
                except ExplorerError as exc:
                    errors.append(f"session {name}: {exc}")
        return errors
