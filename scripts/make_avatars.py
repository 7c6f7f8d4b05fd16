"""Render the avatar training set of the bundled model, reproducibly from seeds.

Faces come from DiceBear's "open-peeps" style (CC0 1.0, a remix of Pablo Stanley's Open Peeps): of the
CC0 styles it varies most in shape (hair, head, accessories, expressions) and colour (skin, hair, shirt).
Each SVG is rasterised with Qt's SVG renderer onto a plain light background and stored in NVIDIA's
dataset layout (an uncompressed zip of NNNNN/imgNNNNNNNN.png), ready for ``explorer train --data``.

Needs ``pip install dicebear-core dicebear-styles`` (the script's own dependencies, not the app's):

    python scripts/make_avatars.py --count 20000 --size 64 --dest datasets/avatars-64.zip
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from explorer.fileio import atomic_write  # noqa: E402

STYLE = "open-peeps"
BACKGROUND = "#eef0f2"


def avatar_svg(style, seed: str) -> bytes:
    from dicebear import Avatar

    return Avatar(style, {"seed": seed}).to_string().encode("utf-8")


def rasterise(svg: bytes, size: int) -> bytes:
    """PNG bytes of the SVG drawn at size x size on the plain background, antialiased."""
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor(BACKGROUND))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    QSvgRenderer(QByteArray(svg)).render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.convertToFormat(QImage.Format.Format_RGB888).save(buffer, "PNG", 0)  # compression 0, as NVIDIA's tool
    return bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000, help="number of avatars (default 20000)")
    parser.add_argument("--size", type=int, default=64, help="pixels per side, a power of two (default 64)")
    parser.add_argument("--first-seed", type=int, default=0, help="avatar i uses the DiceBear seed 'avatar-<first+i>'")
    parser.add_argument("--dest", type=Path, required=True, help="output dataset .zip")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    args = parser.parse_args(argv)
    if args.size < 4 or args.size & (args.size - 1):
        parser.error("--size must be a power of two >= 4")
    if args.dest.exists() and not args.force:
        parser.error(f"{args.dest} already exists (use --force)")
    try:
        from dicebear import Style
    except ImportError:
        print("make_avatars: needs `pip install dicebear-core dicebear-styles`", file=sys.stderr)
        return 2

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (Qt needs it for fonts and SVG)
    definition = json.loads(files("dicebear_styles").joinpath(f"{STYLE}.json").read_text("utf-8"))
    style = Style(definition)
    with atomic_write(args.dest) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for i in range(args.count):
            png = rasterise(avatar_svg(style, f"avatar-{args.first_seed + i}"), args.size)
            archive.writestr(f"{i // 1000:05d}/img{i:08d}.png", png)
            if (i + 1) % 1000 == 0:
                print(f"{i + 1}/{args.count}", flush=True)
        archive.writestr("dataset.json", json.dumps({"labels": None}))
        archive.writestr("LICENSE.txt", f"{definition['meta']['license']['text']}\nRendered by scripts/make_avatars.py\n")
    print(f"{args.dest}: {args.count} avatars at {args.size}x{args.size} ({STYLE}, {definition['meta']['license']['name']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
