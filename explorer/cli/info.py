"""``explorer info NETWORK``: what a model file is, and which W+ row drives which layer."""

from __future__ import annotations

import json

from explorer.cli.common import add_network_arg, resolve_network
from explorer.engine.describe import describe
from explorer.formats import load_model


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("info", help="describe a model file", description=__doc__)
    add_network_arg(parser, positional=True)
    parser.add_argument("--json", action="store_true", help="print the description as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    info = describe(load_model(resolve_network(args.network))).to_json()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"file:          {info['file']}")
    print(f"format:        {info['source_format']}")
    print(f"sha256:        {info['sha256']}")
    print(f"architecture:  {info['architecture']}")
    print(f"resolution:    {info['img_resolution']}x{info['img_resolution']}, {info['img_channels']} channels")
    print(f"z / w / c dim: {info['z_dim']} / {info['w_dim']} / {info['c_dim']}")
    print(f"num_ws:        {info['num_ws']}")
    print(f"mapping:       {info['mapping_layers']} layers")
    print(f"parameters:    {info['parameters']:,}")
    for note in info["notes"]:
        print(f"note:          {note}")
    print("\nW+ row  resolution  group   layers")
    for row in info["w_rows"]:
        print(f"{row['w_index']:>6}  {row['resolution']:>10}  {row['group']:<6}  {', '.join(row['layers'])}")
    print("\nlayer                 size  channels  sampling rate")
    for layer in info["layers"]:
        rate = layer["sampling_rate"] if layer["sampling_rate"] is not None else "-"
        print(f"{layer['name']:<20} {layer['resolution']:>5}  {layer['channels']:>8}  {rate:>13}")
    return 0
