"""``explorer blend A B --mode step|sigmoid --mid RES --output C.safetensors``: two models made into one.

Synthesis layers below the resolution ``--mid`` come from A, those above from B (``step``: a hard switch;
``sigmoid``: a smooth change ``--width`` resolution steps wide, 0.5 at ``--mid``). The mapping network
comes from ``--mapping``. The output is our native .safetensors; its provenance names both parents
(file and sha256) and the curve. See docs/blend.md.
"""

from __future__ import annotations

from pathlib import Path

from explorer.cli.common import check_writable
from explorer.engine.blend import identify_model_file, save_blended_model
from explorer.engine.jobs import text_progress
from explorer.engine.state import Blend
from explorer.errors import UsageError
from explorer.formats import load_model


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("blend", help="blend two models of one architecture layer by layer",
                                   description=__doc__)
    parser.add_argument("model_a", type=Path, metavar="A", help="model for the low resolutions")
    parser.add_argument("model_b", type=Path, metavar="B", help="model for the high resolutions")
    parser.add_argument("--mode", choices=("step", "sigmoid"), default="sigmoid", help="curve (default: sigmoid)")
    parser.add_argument("--mid", type=int, required=True, metavar="RES",
                        help="resolution in pixels where B takes over (step) or weighs 0.5 (sigmoid)")
    parser.add_argument("--width", type=float, default=1.0, metavar="LAYERS",
                        help="sigmoid width in resolution steps (default 1; smaller is sharper)")
    parser.add_argument("--mapping", choices=("a", "b"), default="a", help="whose mapping network and w_avg (default a)")
    parser.add_argument("--output", type=Path, required=True, metavar="C.safetensors", help="the blended model")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.output.suffix.lower() != ".safetensors":
        raise UsageError(f"{args.output.name}: output must end in .safetensors")
    if args.mid < 1:
        raise UsageError(f"--mid {args.mid}: must be a resolution in pixels (1 or more)")
    if args.width <= 0:
        raise UsageError(f"--width {args.width}: must be positive")
    check_writable(args.output, args.force)
    model_a = load_model(args.model_a)
    path_b, sha256_b = identify_model_file(args.model_b)
    blend = Blend(model=path_b, sha256=sha256_b, mode=args.mode, mid=args.mid, width=args.width, mapping=args.mapping)
    warning = save_blended_model(text_progress(), model_a, blend, args.output)
    if warning:
        print(f"warning: {warning}")
    print(f"{args.output}: blended {model_a.name} (below {args.mid} px) and {args.model_b.name} ({args.mode})")
    return 0
