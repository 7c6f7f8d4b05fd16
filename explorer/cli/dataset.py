"""``explorer dataset``: turn a folder or zip of images into a training dataset zip (NVIDIA's layout).

Images are centre-cropped (or letterboxed with --transform center-crop-wide, or padded with --transform
pad) and resized to --resolution. Files that cannot be used are listed with the reason and left out:
unreadable files, CMYK / 16-bit / float images (convert them first), images with transparent pixels
(flatten them onto the background you want). The zip is written atomically and never over a file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from explorer.train.dataset import LABEL_SOURCES, TRANSFORMS, make_dataset


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("dataset", help="make a training dataset zip from images", description=__doc__)
    parser.add_argument("--source", type=Path, required=True, help="folder (searched recursively) or zip of images")
    parser.add_argument("--dest", type=Path, required=True, help="output .zip (must not exist)")
    parser.add_argument("--resolution", type=int, required=True, help="output size, a power of two (e.g. 64, 256)")
    parser.add_argument("--transform", choices=TRANSFORMS, default="center-crop",
                        help="how to make images square (default center-crop)")
    parser.add_argument("--labels", choices=LABEL_SOURCES,
                        help="class labels from top-level sub-folder names, or from the source's dataset.json "
                             "(default: carry a source dataset.json through if there is one)")
    parser.add_argument("--max-images", type=int, help="stop after this many usable images")
    parser.set_defaults(func=run)


def run(args) -> int:
    report = make_dataset(args.source, args.dest, args.resolution, transform=args.transform,
                          labels=args.labels, max_images=args.max_images)
    for name, reason in report.skipped:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    labels = f", {report.num_classes} classes" if report.labelled and report.num_classes else (", labelled" if report.labelled else "")
    print(f"wrote {report.dest}: {report.written} images, {report.resolution}x{report.resolution}, "
          f"{report.channels} channel(s){labels}; {len(report.skipped)} skipped")
    return 0
