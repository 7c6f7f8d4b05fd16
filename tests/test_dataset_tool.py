"""The dataset tool (explorer dataset) and the training loader: NVIDIA's layout, skipped files with
reasons, atomic output, labels, mirroring."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from explorer.cli import main
from explorer.errors import ExplorerError, UsageError
from explorer.train.dataset import ImageDataset, InfiniteSampler, make_dataset


def make_shapes(folder: Path, count: int = 12, size=(40, 36), classes=("circles", "squares")) -> Path:
    """Random-coloured circles and squares, one class per sub-folder."""
    rng = np.random.default_rng(0)
    for i in range(count):
        cls = classes[i % len(classes)]
        (folder / cls).mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(image)
        x, y = (int(v) for v in rng.integers(0, 16, 2))
        shape = draw.ellipse if cls == "circles" else draw.rectangle
        shape([x, y, x + 15, y + 15], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        image.save(folder / cls / f"shape{i:03d}.png")
    return folder


def test_dataset_tool_skips_bad_files_and_writes_nvidia_layout(tmp_path):
    src = make_shapes(tmp_path / "src")
    (src / "circles" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    Image.new("CMYK", (32, 32)).save(src / "squares" / "print.jpg")
    Image.new("I;16", (32, 32)).save(src / "squares" / "depth.png")
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(src / "circles" / "cutout.png")
    Image.new("RGBA", (32, 32), (0, 255, 0, 255)).save(src / "circles" / "opaque_alpha.png")  # used
    Image.new("L", (32, 32), 128).save(src / "squares" / "grey.png")  # used, expanded to RGB
    (src / "notes.txt").write_text("not an image")  # ignored silently

    dest = tmp_path / "out.zip"
    report = make_dataset(src, dest, 32, labels="subfolders")
    reasons = dict(report.skipped)
    assert set(reasons) == {"circles/broken.png", "squares/print.jpg", "squares/depth.png", "circles/cutout.png"}
    assert "cannot read" in reasons["circles/broken.png"]
    assert "CMYK" in reasons["squares/print.jpg"]
    assert "16-bit" in reasons["squares/depth.png"]
    assert "transparent" in reasons["circles/cutout.png"]
    assert report.written == 14 and report.channels == 3 and report.num_classes == 2

    with zipfile.ZipFile(dest) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
        names = sorted(n for n in infos if n.endswith(".png"))
        assert names == [f"00000/img{i:08d}.png" for i in range(14)]
        meta = json.loads(zf.read("dataset.json"))
        assert [n for n, _ in meta["labels"]] == names
        assert {label for _, label in meta["labels"]} == {0, 1}
        assert meta["class_names"] == ["circles", "squares"]
        image = Image.open(zf.open(names[0]))
        assert image.size == (32, 32) and image.mode == "RGB"

    with pytest.raises(UsageError, match="already exists"):  # never over an existing file
        make_dataset(src, dest, 32)
    assert not list(tmp_path.glob(".out.zip.*"))  # no temporary left behind


def test_dataset_tool_errors_leave_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ExplorerError, match="no image files"):
        make_dataset(empty, tmp_path / "a.zip", 32)
    with pytest.raises(UsageError, match="power of two"):
        make_dataset(empty, tmp_path / "a.zip", 48)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"garbage")
    with pytest.raises(ExplorerError, match="no usable images"):
        make_dataset(bad, tmp_path / "a.zip", 32)
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".a.zip*"))


def test_dataset_cli_reports_skips_and_exit_codes(tmp_path, capsys):
    src = make_shapes(tmp_path / "src", count=4)
    (src / "circles" / "broken.jpg").write_bytes(b"nope")
    assert main(["dataset", "--source", str(src), "--dest", str(tmp_path / "d.zip"), "--resolution", "16",
                 "--transform", "pad"]) == 0
    captured = capsys.readouterr()
    assert "skipped circles/broken.jpg: cannot read image" in captured.err
    assert "4 images, 16x16" in captured.out
    assert main(["dataset", "--source", str(tmp_path / "missing"), "--dest", str(tmp_path / "e.zip"),
                 "--resolution", "16"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing" in err


def test_transforms_keep_geometry(tmp_path):
    src = tmp_path / "wide"
    src.mkdir()
    pixels = np.zeros((20, 60, 3), np.uint8)
    pixels[:, :30] = 255  # left half white
    Image.fromarray(pixels).save(src / "w.png")
    for transform in ("center-crop", "center-crop-wide", "pad"):
        dest = tmp_path / f"{transform}.zip"
        make_dataset(src, dest, 16, transform=transform)
        with zipfile.ZipFile(dest) as zf:
            out = np.asarray(Image.open(zf.open("00000/img00000000.png")))
        assert out.shape == (16, 16, 3)
        if transform == "center-crop-wide":
            assert out[0].max() == 0 and out[-1].max() == 0  # letterbox bands
        if transform == "pad":
            assert out[0].max() == 0 and out[8, 2].min() > 200  # padded top, white left


def test_loader_reads_zip_and_folder_with_labels_and_mirror(tmp_path):
    src = make_shapes(tmp_path / "src", count=6)
    dest = tmp_path / "d.zip"
    make_dataset(src, dest, 16, labels="subfolders")
    ds = ImageDataset(dest, use_labels=True, xflip=True)
    assert len(ds) == 12 and ds.resolution == 16 and ds.label_dim == 2
    img, label = ds[0]
    flipped, label2 = ds[6]
    assert img.shape == (3, 16, 16) and img.dtype == np.uint8
    assert np.array_equal(flipped, img[:, :, ::-1]) and np.array_equal(label, label2)
    assert label.sum() == 1

    folder = ImageDataset(src, resolution=16)  # a raw folder of 40x36 images, cropped on load
    assert folder[0][0].shape == (3, 16, 16) and not folder.has_labels
    with pytest.raises(ExplorerError, match="square power-of-two"):
        ImageDataset(src)
    with pytest.raises(ExplorerError, match="needs labels"):
        ImageDataset(src, resolution=16, use_labels=True)


def test_infinite_sampler_resumes_mid_stream():
    full = InfiniteSampler(10, seed=3)
    stream = [i for _, i in zip(range(35), iter(full))]
    later = InfiniteSampler(10, seed=3, start=17)
    assert [i for _, i in zip(range(18), iter(later))] == stream[17:]
    ranks = [InfiniteSampler(10, rank=r, num_replicas=2, seed=3) for r in range(2)]
    r0, r1 = ([i for _, i in zip(range(10), iter(s))] for s in ranks)
    assert [x for pair in zip(r0, r1) for x in pair] == stream[:20]


def test_dataset_json_labels_are_carried_through(tmp_path):
    src = make_shapes(tmp_path / "src", count=4)
    names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*.png"))
    labels = {name: [float(i), 0.5] for i, name in enumerate(names[:3])}  # float vectors; the 4th unlabelled
    (src / "dataset.json").write_text(json.dumps({"labels": [[n, v] for n, v in labels.items()]}))
    report = make_dataset(src, tmp_path / "d.zip", 16, labels="dataset.json")
    assert report.written == 3 and report.skipped[0][1].startswith("has no label")
    ds = ImageDataset(tmp_path / "d.zip", use_labels=True)
    assert ds.label_dim == 2 and sorted(ds.label(i)[0] for i in range(3)) == [0.0, 1.0, 2.0]


# ------------------------------------------------------------------------ hostile and broken inputs


def _zip_of(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _png(size=(16, 16), mode="RGB") -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="png")
    return buffer.getvalue()


def test_hostile_zip_members_are_skipped_with_reasons(tmp_path):
    import io

    good = _png()
    bomb = _zip_of(tmp_path / "bomb.zip", {"ok.png": good, "bomb.png": b"\0" * (8 * 2**20)}, zipfile.ZIP_DEFLATED)
    crc = bytearray(_zip_of(tmp_path / "crc.zip", {"ok.png": good, "bad.png": good}).read_bytes())
    second = crc.find(good, crc.find(good) + 1)
    crc[second + len(good) // 2] ^= 0xFF  # the stored bytes no longer match their CRC
    (tmp_path / "crc.zip").write_bytes(bytes(crc))
    enc = bytearray(_zip_of(tmp_path / "enc.zip", {"ok.png": good, "secret.png": good}).read_bytes())
    for offset in (enc.find(b"PK\x03\x04", 1), enc.rfind(b"PK\x01\x02")):  # mark the second member encrypted
        flag = offset + (6 if enc[offset + 2] == 3 else 8)
        enc[flag] |= 1
    (tmp_path / "enc.zip").write_bytes(bytes(enc))
    frames = io.BytesIO()
    Image.new("RGB", (16, 16), (255, 0, 0)).save(frames, format="gif", save_all=True,
                                                 append_images=[Image.new("RGB", (16, 16), (0, 0, 255))], duration=100)
    huge = io.BytesIO()
    Image.new("1", (20000, 20000)).save(huge, format="png")  # 400 Mpx, a few kB on disk
    odd = _zip_of(tmp_path / "odd.zip", {"ok.png": good, "anim.gif": frames.getvalue(), "huge.png": huge.getvalue(),
                                         "deep.png": _png(mode="I;16"), "../../escape.png": good})
    cases = {bomb: ("bomb.png", "zip bomb"), tmp_path / "crc.zip": ("bad.png", "CRC"),
             tmp_path / "enc.zip": ("secret.png", "encrypted"), odd: ("anim.gif", "animated")}
    for source, (name, reason) in cases.items():
        out = tmp_path / f"out-{source.stem}.zip"
        report = make_dataset(source, out, 16)
        skipped = dict(report.skipped)
        assert reason in skipped[name], (source.name, skipped)
        assert "ok.png" not in skipped
    skipped = dict(make_dataset(odd, tmp_path / "odd-again.zip", 16).skipped)
    assert f"more than {8192 * 8192} pixels" in skipped["huge.png"] and "16-bit" in skipped["deep.png"]
    with zipfile.ZipFile(tmp_path / "out-odd.zip") as zf:  # every member lands inside the output's own layout
        assert all(n == "dataset.json" or n.startswith("00000/img") for n in zf.namelist())
    assert not (tmp_path.parent / "escape.png").exists()
    dataset = ImageDataset(bomb, resolution=16)  # the training reader applies the same limits
    assert dataset.names == ["ok.png"] and "zip bomb" in dict(dataset.skipped)["bomb.png"]


def test_damaged_zip_and_dataset_json_are_one_line_errors(tmp_path):
    src = _zip_of(tmp_path / "src.zip", {"a.png": _png(), "dataset.json": b"{\"labels\": [[\"a.png\", 1e400]]}"})
    with pytest.raises(ExplorerError, match="dataset.json") as info:
        ImageDataset(src, use_labels=True)
    assert "\n" not in str(info.value)
    data = bytearray(src.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 28 : central + 30] = b"\xff\xff"  # a file-name length running past the directory
    (tmp_path / "torn.zip").write_bytes(bytes(data))
    with pytest.raises(ExplorerError) as info:
        make_dataset(tmp_path / "torn.zip", tmp_path / "out.zip", 16)
    assert "torn.zip" in str(info.value) and "\n" not in str(info.value)


def test_fuzzed_dataset_zips_never_crash(tmp_path):
    """Seeded random byte mutations of a small labelled dataset zip: each is readable, or one line."""
    from explorer.train.dataset import SkipImage

    src = make_shapes(tmp_path / "src", count=4)
    make_dataset(src, tmp_path / "clean.zip", 8, labels="subfolders")
    clean = (tmp_path / "clean.zip").read_bytes()
    rng = np.random.default_rng(22)
    for case in range(60):
        data = bytearray(clean)
        for _ in range(int(rng.integers(1, 12))):
            data[int(rng.integers(len(data)))] = int(rng.integers(256))
        path = tmp_path / f"mutant{case}.zip"
        path.write_bytes(bytes(data))
        try:
            dataset = ImageDataset(path, use_labels=bool(case % 2))
            for i in range(len(dataset)):
                dataset[i]
        except ExplorerError as exc:
            assert "\n" not in str(exc)
        except SkipImage:
            raise AssertionError("a skipped image escaped the reader")
        try:
            make_dataset(path, tmp_path / f"out{case}.zip", 8)
        except ExplorerError as exc:
            assert "\n" not in str(exc)
