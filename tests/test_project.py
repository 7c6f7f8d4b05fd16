"""Projection (explorer/engine/project, explorer project): few steps on the bundled and fixture models."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.engine.jobs import JobCancelled, JobContext
from explorer.engine.latents import load_wplus_file
from explorer.engine.project import Crop, ProjectionOptions, fit_target, load_target, project, read_image
from explorer.engine.project.discriminator import NoDiscriminator, load_discriminator
from explorer.engine.project.losses import DiscriminatorFeatures, ms_ssim, psnr, psnr_uint8
from explorer.engine.project.optimize import image_tensor, lr_ramp, noise_regularization
from explorer.engine.project.vgg import NotVGG16, VGG16Features, feature_names, read_vgg16_features
from explorer.engine.recipe import read_recipe
from explorer.engine.render import Renderer
from explorer.engine.state import Latent, State
from explorer.errors import ExplorerError, ImageFileError, UsageError
from explorer.formats import BUNDLED_MODEL, load_model, sha256_of
from explorer.formats.native import read_metadata

SG2 = Path(__file__).parent / "fixtures" / "nvidia" / "sg2-skip-32.pkl"


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL)


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def save_png(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


# ---- the command line ------------------------------------------------------------------------------------

def test_cli_projection_round_trips_through_generate(tmp_path, bundled, capsys, one_torch_thread):
    renderer = Renderer(bundled)
    target = save_png(tmp_path / "seed5.png", renderer.render(State(a=Latent(seed=5))))
    out = tmp_path / "out"
    assert main(["project", "--target", str(target), "--outdir", str(out), "--steps", "8", "--save-video"]) == 0
    printed = capsys.readouterr().out
    assert "W: 8 steps, about" in printed and "W+: 8 steps, about" in printed  # estimates before each stage

    w = load_wplus_file(out / "projected_w.npz")
    assert w.shape == (1, bundled.generator.num_ws, bundled.generator.w_dim)
    assert main(["generate", "--projected-w", str(out / "projected_w.npz"), "--outdir", str(out / "gen")]) == 0
    assert np.array_equal(pixels(out / "gen" / "proj00.png"), pixels(out / "proj.png"))

    recipe = read_recipe(out / "proj.png")
    assert recipe.state.a.w_plus is not None and not recipe.state.a.follow_psi
    assert recipe.model_sha256 == bundled.sha256
    assert np.array_equal(pixels(out / "target.png"), pixels(target))  # already the model's size: unchanged
    mean_image = renderer.render(State(psi=0.0))
    assert psnr_uint8(pixels(out / "proj.png"), pixels(target)) > psnr_uint8(mean_image, pixels(target)) + 3
    log = (out / "log.csv").read_text().splitlines()
    assert log[0].startswith("stage,step,lr,loss") and len(log) == 1 + 16
    assert (out / "proj.mp4").stat().st_size > 0

    assert main(["project", "--target", str(target), "--outdir", str(out), "--steps", "1"]) == 2  # no --force
    assert "already exists" in capsys.readouterr().err


def test_cli_pti_beats_its_pivot_and_names_its_parents(tmp_path, bundled, one_torch_thread):
    target = save_png(tmp_path / "seed9.png", Renderer(bundled).render(State(a=Latent(seed=9))))
    before = sha256_of(BUNDLED_MODEL)
    out = tmp_path / "out"
    assert main(["project", "--target", str(target), "--outdir", str(out), "--stages", "w,wplus,pti",
                 "--w-steps", "5", "--wplus-steps", "5", "--pti-steps", "8"]) == 0
    goal = pixels(target)
    assert psnr_uint8(pixels(out / "proj.png"), goal) > psnr_uint8(pixels(out / "proj-wplus.png"), goal)
    provenance = json.loads(read_metadata(out / "model-pti.safetensors")["provenance"])
    roles = {p["role"]: p for p in provenance["parents"]}
    assert roles["model"]["sha256"] == before and roles["target"]["source_file"] == "seed9.png"
    assert sha256_of(BUNDLED_MODEL) == before
    assert main(["generate", "--network", str(out / "model-pti.safetensors"), "--projected-w",
                 str(out / "projected_w.npz"), "--outdir", str(out / "gen")]) == 0
    assert np.array_equal(pixels(out / "gen" / "proj00.png"), pixels(out / "proj.png"))


def test_cli_refuses_the_d_loss_without_a_discriminator(tmp_path, capsys):
    render_only = tmp_path / "render-only.safetensors"
    assert main(["convert", str(SG2), str(render_only)]) == 0
    target = save_png(tmp_path / "t.png", np.full((32, 32, 3), 200, np.uint8))
    capsys.readouterr()
    assert main(["project", "--network", str(render_only), "--target", str(target), "--outdir", str(tmp_path / "o"),
                 "--loss", "pixel,d"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "render-only.safetensors: no discriminator" in err


def test_the_bundled_model_takes_d_from_its_training_snapshot(bundled):
    from explorer.engine.project.discriminator import discriminator_file_for

    source = discriminator_file_for(bundled)
    assert source.parent.parent.name == "training" and source.name.startswith("network-snapshot-")
    assert load_discriminator(source).img_resolution == 64


def truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()[:2000]


@pytest.mark.parametrize("content, expected", [
    (b"not an image at all", "not an image file"),
    (truncated_png(), "damaged or truncated"),
])
def test_cli_unreadable_image_is_one_line(tmp_path, capsys, content, expected):
    target = tmp_path / "photo.png"
    target.write_bytes(content)
    assert main(["project", "--target", str(target), "--outdir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "photo.png" in err and expected in err


# ---- targets ---------------------------------------------------------------------------------------------

def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares a canvas and holds almost no data (what a decompression bomb looks like)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("size", [(10_000, 6_000), (100_000, 100_000)])
def test_huge_canvas_is_refused_before_decoding(tmp_path, size):
    with pytest.raises(ImageFileError, match="decompression bomb"):
        read_image(png_header_only(tmp_path / "bomb.png", *size))


def test_greyscale_alpha_and_16_bit_are_converted(tmp_path):
    grey = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    source = read_image(tmp_path / "grey.png")
    assert np.array_equal(source.pixels, np.repeat(grey[..., None], 3, axis=2)) and "greyscale" in source.notes[0]

    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0], rgba[:4, ..., 3] = 255, 255  # red, the bottom half fully transparent
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    source = read_image(tmp_path / "alpha.png")
    assert (source.pixels[:4] == (255, 0, 0)).all() and (source.pixels[4:] == 255).all()
    assert "white" in source.notes[0]

    deep = (np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 257)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    source = read_image(tmp_path / "deep.png")
    assert np.array_equal(source.pixels[..., 0], (deep // 257).astype(np.uint8)) and "16-bit" in source.notes[0]


def test_float_image_is_refused(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ImageFileError, match="32-bit float"):
        read_image(tmp_path / "f.tif")


def test_crop_and_resize(tmp_path):
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 50:150] = 255  # a white centre square
    save_png(tmp_path / "wide.png", image)
    centre, _ = load_target(tmp_path / "wide.png", 32)
    assert centre.shape == (32, 32, 3) and centre.min() == 255
    left = fit_target(read_image(tmp_path / "wide.png"), 16, crop=Crop(0, 0, 50))
    assert left.max() == 0
    with pytest.raises(ImageFileError, match="does not lie inside"):
        fit_target(read_image(tmp_path / "wide.png"), 16, crop=Crop(180, 0, 50))


# ---- losses, schedule, options ---------------------------------------------------------------------------

def test_metrics_and_ms_ssim():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    assert float(ms_ssim(a, a)) == pytest.approx(1.0, abs=1e-5)
    slightly = (a + 0.03 * torch.randn(a.shape, generator=g)).clamp(-1, 1)
    badly = (a + 0.3 * torch.randn(a.shape, generator=g)).clamp(-1, 1)
    assert float(ms_ssim(badly, a)) < float(ms_ssim(slightly, a)) < 1.0
    assert float(psnr(badly, a)) < float(psnr(slightly, a))
    assert float(psnr(slightly, a)) == pytest.approx(psnr_uint8(((slightly + 1) * 127.5).numpy(), ((a + 1) * 127.5).numpy()), abs=1e-3)


def test_schedule_and_noise_penalty():
    assert lr_ramp(0.0, 0.05, 0.25) == 0.0 and lr_ramp(0.5, 0.05, 0.25) == 1.0 and lr_ramp(0.99, 0.05, 0.25) < 0.01
    white = torch.randn(32, 32, generator=torch.Generator().manual_seed(0))
    smooth = torch.nn.functional.avg_pool2d(white[None, None], 5, stride=1, padding=2)[0, 0]
    smooth = (smooth - smooth.mean()) / smooth.std()
    assert float(noise_regularization([smooth])) > 100 * float(noise_regularization([white]))


def test_options_refuse_nonsense():
    with pytest.raises(UsageError, match="order"):
        ProjectionOptions(stages=("wplus", "w"))
    with pytest.raises(UsageError, match="unknown loss"):
        ProjectionOptions(losses=("pixel", "clip"))
    with pytest.raises(UsageError, match="steps"):
        ProjectionOptions(w_steps=0)


def test_cancel_stops_the_job(bundled):
    ctx = JobContext()
    target = Renderer(bundled).render(State(a=Latent(seed=1)))
    frames = []

    def frame(image):
        frames.append(image)
        if len(frames) == 3:
            ctx.cancel()

    with pytest.raises(JobCancelled):
        project(bundled.generator, target, ProjectionOptions(w_steps=50, w_avg_samples=1000), ctx, on_frame=frame)
    assert len(frames) == 3 and frames[0].shape == (64, 128, 3)


# ---- the discriminator and VGG16 losses ------------------------------------------------------------------

def test_d_loss_from_an_nvidia_pickle_lowers_the_d_distance():
    model = load_model(SG2)
    features = DiscriminatorFeatures(load_discriminator(SG2))
    target = Renderer(model).render(State(a=Latent(seed=3)))
    options = ProjectionOptions(stages=("w", "wplus"), w_steps=5, wplus_steps=20, losses=("pixel", "d"),
                                w_avg_samples=1000)
    result = project(model.generator, target, options, d_features=features)
    d = [entry["d"] for entry in result.log]
    assert d[-1] < d[0]
    assert len(features(image_tensor(target, "cpu"))) == len(features.discriminator.block_resolutions)


def test_render_only_files_have_no_discriminator():
    with pytest.raises(NoDiscriminator, match="holds only a generator"):
        load_discriminator(BUNDLED_MODEL)


def vgg16_state(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for index, cin, cout in feature_names():
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * (2 / (9 * cin)) ** 0.5
        state[f"features.{index}.bias"] = torch.zeros(cout)
    return state


def test_vgg16_weights_load_and_give_a_distance(tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save(vgg16_state(), path, _use_new_zipfile_serialization=False)  # torchvision's file is this old format
    vgg = VGG16Features.from_file(path)
    a = torch.rand(1, 3, 64, 64) * 2 - 1
    features = vgg(a)
    assert [f.shape[1] for f in features] == [64, 128, 256, 512, 512] and features[-1].shape[-1] == 4
    from explorer.engine.project.losses import feature_distance

    assert float(feature_distance(vgg(a), vgg(a))) == 0.0
    assert float(feature_distance(vgg(a), vgg(-a))) > 0.0


def test_files_that_are_not_vgg16_are_refused(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(NotVGG16, match="garbage.pth"):
        read_vgg16_features(garbage)
    torch.save({"features.0.weight": torch.zeros(32, 3, 3, 3)}, tmp_path / "slim.pth")  # a slimmer net
    with pytest.raises(NotVGG16, match=r"features.0.weight is .*\(32, 3, 3, 3\)"):
        read_vgg16_features(tmp_path / "slim.pth")
    # VGG19 has a fourth conv where VGG16 pools (features.16), so VGG16's conv at 17 is missing from it
    vgg19 = {k: v for k, v in vgg16_state().items() if int(k.split(".")[1]) < 16}
    vgg19["features.16.weight"] = torch.zeros(256, 256, 3, 3)
    torch.save(vgg19, tmp_path / "vgg19.pth")
    with pytest.raises(NotVGG16, match="has no features.17.weight"):
        read_vgg16_features(tmp_path / "vgg19.pth")
    torch.save({"weights": [1, 2, 3]}, tmp_path / "other.pth")
    with pytest.raises(ExplorerError) as info:
        read_vgg16_features(tmp_path / "other.pth")
    assert "\n" not in str(info.value)
