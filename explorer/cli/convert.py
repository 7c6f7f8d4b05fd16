"""``explorer convert IN OUT``: any supported model to our .safetensors (or rosinality's .pt).

The output records where it came from (source file name, its sha256, source format). Nothing in the
input is executed, and the input is validated exactly as the loaders do (config bounds, every tensor's
name, shape and dtype) before anything is written: a model that ``info`` or ``generate`` refuse is never
converted into an unusable file.
"""

from __future__ import annotations

from pathlib import Path

from explorer.cli.common import check_writable
from explorer.errors import UsageError
from explorer.formats import read_model_data, resolve_model_path, sha256_of
from explorer.formats.validate import check_generator


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("convert", help="convert a model to .safetensors (or rosinality .pt)",
                                   description=__doc__)
    parser.add_argument("input", type=Path, help="model file or training-run folder")
    parser.add_argument("output", type=Path, help="OUT.safetensors, or OUT.pt for rosinality's format")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.set_defaults(func=run)


def run(args) -> int:
    suffix = args.output.suffix.lower()
    if suffix not in (".safetensors", ".pt"):
        raise UsageError(f"{args.output.name}: output must end in .safetensors or .pt")
    if args.output.is_dir():
        raise UsageError(f"{args.output}: is a folder; give a file name to write")
    check_writable(args.output, args.force)
    source = resolve_model_path(args.input)
    data = read_model_data(source)
    check_generator(source, data.config, data.tensors)
    provenance = data.provenance or {
        "source_file": source.name,
        "sha256": sha256_of(source),
        "source_format": data.source_format,
    }
    try:
        if suffix == ".pt":
            from explorer.formats import rosinality

            rosinality.write(args.output, data)
        else:
            from explorer.formats import native

            native.write(args.output, {native.RENDER_NET: (data.config, data.tensors)}, provenance)
    except OSError as exc:  # full disk, read-only folder: atomic_write has removed its temporary file
        raise UsageError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    print(f"{args.output}: written from {source.name} ({data.source_format})")
    return 0
