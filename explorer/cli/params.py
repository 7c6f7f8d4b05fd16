"""``explorer params [NETWORK] [--json]``: every parameter address of a model, with kind, range and default.

These are the addresses that ``--set ADDRESS=VALUE`` (generate, video, gui) and live controllers accept.
"""

from __future__ import annotations

import json

from explorer.cli.common import add_network_arg, resolve_network
from explorer.engine.params import ParamRegistry
from explorer.engine.state import State
from explorer.formats import load_model


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("params", help="list the parameter addresses of a model", description=__doc__)
    add_network_arg(parser, positional=True)
    parser.add_argument("--state", help="also list the parameters of this state's edits")
    parser.add_argument("--json", action="store_true", help="print JSON (a list of objects)")
    parser.set_defaults(func=run)


def run(args) -> int:
    model = load_model(resolve_network(args.network), "cpu")
    state = State.load(args.state) if args.state else State()
    registry = ParamRegistry.for_model(model.generator, state)
    if args.json:
        print(json.dumps({"model": str(model.path), "sha256": model.sha256, "params": registry.to_json()}, indent=1))
        return 0
    print(f"{model.name}: {len(registry)} parameters")
    for param in registry:
        default = "-" if param.default is None else param.default
        print(f"  {param.address:<18} {param.kind:<10} {param.range_text:<36} default {default}  ({param.group})")
    return 0
