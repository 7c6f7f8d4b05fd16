"""The ``explorer`` command. Each sub-command lives in its own module of this package.

A sub-command module defines ``add_parser(subparsers)``, which adds its parser and sets
``func=run`` (a function taking the parsed namespace and returning an exit status). The modules only
parse, call the engine and print; the logic is in the engine. Errors the user can cause are
``ExplorerError``s: printed as one line on stderr, exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

from explorer import __version__
from explorer.errors import ExplorerError

# Sub-command modules, in the order --help lists them.
COMMANDS = ("gui", "info", "params", "generate", "grid", "mix", "directions", "project", "drag", "convert", "blend",
            "bench", "monitor", "video", "dataset", "train")


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes as one line pointing to --help, not argparse's usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="explorer",
        description="Explore StyleGAN models: with no command, opens the window where you left off "
                    "(the last session's model and state), or on the bundled model the first time.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"explorer.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv or ["gui"])
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # here, not at exit: a reader that left early must meet the handler below
        return status
    except ExplorerError as exc:
        print(f"explorer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"explorer {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``explorer info | head``): stop quietly, as Unix tools
        # do. Point stdout at /dev/null so that flushing it at exit cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # the machine, not the program: a full disk, a folder that is a file, no permission
        print(f"explorer {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2


def describe_os_error(exc: OSError) -> str:
    """One line naming the file and what the system said (and what to do about a full disk)."""
    where = f"{exc.filename}: " if exc.filename else ""
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        text += "; nothing was overwritten: free some space and run it again"
    return where + " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
