"""Direction sliders as state edits: the one mapping between "direction i of a set, at an amount, over a
row range" and the ``Edit`` in ``state.edits`` that does it. The window's Directions dock and its tests use
it; the CLI's ``--edit`` builds the same ``Edit`` with ``DirectionSet.edit``.

An edit belongs to direction i of a set when its ``index`` is i and its vector is the set's vector i (the
exact float32 values, which survive JSON). The set's hash is not compared: renaming a direction changes
the hash, and the edit should still belong to it.

A slider's edit is added when it first moves and kept while its amount passes through 0 (a drag must
keep the edit's position, the ``K`` of ``edit/K/amount``); "reset" removes it.
"""

from __future__ import annotations

import dataclasses

from explorer.engine.directions.dset import DirectionSet
from explorer.engine.state import Edit, State


def belongs_to(edit: Edit, dset: DirectionSet, index: int) -> bool:
    return edit.index == index and index < len(dset) and edit.vector == tuple(dset.vectors[index].tolist())


def edit_position(state: State, dset: DirectionSet, index: int) -> int | None:
    """Where direction ``index``'s edit is in ``state.edits`` (its ``K``), None if the state has none."""
    for k, edit in enumerate(state.edits):
        if belongs_to(edit, dset, index):
            return k
    return None


def set_edits(state: State, dset: DirectionSet) -> dict[int, Edit]:
    """The edits of ``state`` that belong to ``dset``, by direction index."""
    return {edit.index: edit for edit in state.edits if belongs_to(edit, dset, edit.index)}


def with_direction(state: State, dset: DirectionSet, index: int, amount: float | None = None,
                   rows: tuple[int, int] | None = None) -> State:
    """``state`` with direction ``index`` at ``amount`` over ``rows`` (None: keep what the edit has, or
    the direction's defaults: amount 0, its own rows); the edit is appended if the state has none."""
    k = edit_position(state, dset, index)
    if k is None:
        edit = dset.edit(index, amount or 0.0, rows)
        return state.replace(edits=state.edits + (edit,))
    changes = {name: value for name, value in (("amount", amount), ("rows", rows)) if value is not None}
    edits = list(state.edits)
    edits[k] = dataclasses.replace(edits[k], **changes)
    return state.replace(edits=tuple(edits))


def without_direction(state: State, dset: DirectionSet, index: int) -> State:
    """``state`` with direction ``index``'s edit removed (the slider's reset)."""
    return state.replace(edits=tuple(e for e in state.edits if not belongs_to(e, dset, index)))


def renamed(dset: DirectionSet, index: int, name: str) -> DirectionSet:
    names = list(dset.names)
    names[index] = name
    return dataclasses.replace(dset, names=tuple(names))


def with_set_names(state: State, dset: DirectionSet) -> State:
    """``state`` whose edits from ``dset`` carry the set's current names and hash (after a rename)."""
    digest = dset.content_hash
    edits = tuple(dataclasses.replace(e, name=dset.names[e.index], set_hash=digest) if belongs_to(e, dset, e.index)
                  else e for e in state.edits)
    return state.replace(edits=edits)
