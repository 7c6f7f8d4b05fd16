"""The registry side of control: which parameters a source can drive, in what range, and setting them.

Every value from outside (an OSC message, a mapping's output) reaches a State only through
``ParamRegistry.set``, which checks it; a value it refuses is counted by the caller, never raised past it.
"""

from __future__ import annotations

from typing import Any, Iterable

from explorer.engine.params import Param, ParamRegistry
from explorer.engine.state import State
from explorer.errors import ParamError

MODULATABLE_KINDS = ("continuous", "integer", "bool", "choice")  # a row range is two numbers: not one knob


def output_ranges(registry: ParamRegistry) -> dict[str, tuple[float, float]]:
    """{address: (low, high)} of every parameter a mapping can drive (a choice is its index range)."""
    ranges = {}
    for param in registry:
        if param.kind in ("continuous", "integer"):
            ranges[param.address] = (float(param.low), float(param.high))
        elif param.kind == "bool":
            ranges[param.address] = (0.0, 1.0)
        elif param.kind == "choice":
            ranges[param.address] = (0.0, float(len(param.choices) - 1))
    return ranges


def param_value(param: Param, number: float) -> Any:
    """A mapping's output (a float) as a value of ``param``'s kind: integers round, a bool is on from 0.5,
    a choice is picked by index."""
    if param.kind == "integer":
        return int(round(number))
    if param.kind == "bool":
        return number >= 0.5
    if param.kind == "choice":
        return param.choices[min(len(param.choices) - 1, max(0, int(round(number))))]
    return float(number)


def apply_values(registry: ParamRegistry, state: State, values: Iterable[tuple[str, Any]]) -> tuple[State, list[str]]:
    """``state`` with each (address, value) set in order; returns it and one line per refused value."""
    refused = []
    for address, value in values:
        try:
            state = registry.set(state, address, value)
        except ParamError as exc:
            refused.append(str(exc))
    return state, refused


def apply_outputs(registry: ParamRegistry, state: State, outputs: dict[str, float]) -> tuple[State, list[str]]:
    """A matrix's outputs (floats by address) converted to each parameter's kind and applied."""
    values = []
    refused = []
    for address, number in outputs.items():
        if address not in registry:
            refused.append(f"{address}: unknown parameter for this model")
        else:
            values.append((address, param_value(registry[address], number)))
    state, more = apply_values(registry, state, values)
    return state, refused + more
