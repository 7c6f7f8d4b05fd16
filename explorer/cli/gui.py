"""``explorer gui [NETWORK]``: open the main window (until the window lands: a placeholder message)."""

from __future__ import annotations

from explorer.cli.common import add_network_arg


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="open the explorer window", description=__doc__)
    add_network_arg(parser, positional=True)
    parser.set_defaults(func=run)


def run(args) -> int:
    print("The explorer window is not built yet; use `explorer generate` and `explorer mix`.")
    return 0
