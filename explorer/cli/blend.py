"""``explorer blend A B --mode step|sigmoid --mid RES --output C.safetensors``: two models made into one.

Synthesis layers below the resolution ``--mid`` come from A, those above from B (``step``: a hard switch;
``sigmoid``: a smooth change ``--width`` resolution steps wide, 0.5 at ``--mid``). The mapping network
comes from ``--mapping``. The output is our native .safetensors; its provenance names both parents
(file and sha256) and the curve. See docs/blend.md.
"""

from __future__ import annotations

from pathlib import Path

from explorer.cli.common import check_writable
from explorer.engine.blend import ModelBlend, ancestry_warning, check_same_architecture, layer_weights
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
    model_a, model_b = load_model(args.model_a), load_model(args.model_b)
    check_same_architecture(model_a.generator, model_b.generator, model_a.path, model_b.path)
    warning = ancestry_warning(model_a.generator, model_b.generator, model_a.name, model_b.name)
    if warning:
        print(f"warning: {warning}")
    blend = ModelBlend(model_a.generator, model_b.generator)
    weights = layer_weights(blend.layer_infos, args.mode, args.mid, args.width)
    blend.set_curve(weights, args.mapping)

    from explorer.formats import native

    curve = {"mode": args.mode, "mid": args.mid, "width": args.width, "mapping": args.mapping,
             "layers": {info.name: w for info, w in zip(blend.layer_infos, weights)}}
    provenance = {
        "source_file": f"blend of {model_a.name} and {model_b.name}",
        "sha256": model_a.sha256,  # the base model: its mapping, buffers and architecture
        "source_format": "blend",
        "parents": [{"role": role, "source_file": m.name, "sha256": m.sha256}
                    for role, m in (("a", model_a), ("b", model_b))],
        "blend": curve,
    }
    native.write(args.output, {native.RENDER_NET: (model_a.config, blend.generator.state_dict())}, provenance)
    print(f"{args.output}: blended {model_a.name} (below {args.mid} px) and {model_b.name} ({args.mode})")
    return 0
