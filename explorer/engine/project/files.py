"""What a projection leaves on disk besides the W+ file: the PTI model and the per-step loss log."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from explorer.engine.project.optimize import ProjectionResult
from explorer.engine.images import upscale_nearest, watchable_factor
from explorer.errors import UsageError
from explorer.fileio import atomic_write_text
from explorer.formats import Model, sha256_of


def save_tuned_model(path: str | Path, model: Model, result: ProjectionResult, target_file: str | Path) -> None:
    """Write the PTI-tuned generator as a native model whose provenance names the original and the target.

    The original model file is never the output, whatever ``--force`` says.
    """
    from explorer.formats import native

    path, target_file = Path(path), Path(target_file)
    if result.generator is None:
        raise ValueError("the projection ran no PTI stage")
    if path.resolve() == model.path.resolve():
        raise UsageError(f"{path.name}: is the model being tuned; the tuned model must go to a new file")
    o = result.options
    provenance = {
        "source_file": f"{model.name} tuned on {target_file.name}",
        "sha256": model.sha256,
        "source_format": "pti",
        "parents": [
            {"role": "model", "source_file": model.name, "sha256": model.sha256, "source_format": model.source_format},
            {"role": "target", "source_file": target_file.name,
             "sha256": sha256_of(target_file) if target_file.is_file() else ""},
        ],
        "pti": {"steps": o.pti_steps, "lr": o.pti_lr, "losses": list(o.losses),
                "locality_weight": o.locality_weight, "locality_radius": o.locality_radius},
    }
    native.write(path, {native.RENDER_NET: (model.config, result.generator.state_dict())}, provenance)


def loss_log_csv(result: ProjectionResult) -> str:
    """The loss of every step as CSV: stage, step, lr, loss, then each term (empty where a stage has none)."""
    columns = ["stage", "step", "lr", "loss"]
    for entry in result.log:
        columns += [key for key in entry if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for entry in result.log:
        writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in entry.items()})
    return buffer.getvalue()


def write_loss_log(path: str | Path, result: ProjectionResult) -> None:
    atomic_write_text(path, loss_log_csv(result))


class ProjectionVideo:
    """NVIDIA's proj.mp4: [target | reconstruction] after every step at 10 fps; small models' frames are
    enlarged by pixel repetition to at least 256 pixels high so that the video is watchable."""

    FPS = 10

    def __init__(self, path: str | Path, resolution: int, overwrite: bool):
        from explorer.video.encoders import open_writer

        self.factor = watchable_factor(resolution)
        side = resolution * self.factor
        self.writer = open_writer(Path(path), "mp4", self.FPS, 2 * side, side, overwrite=overwrite)

    def add(self, frame) -> None:
        rgb = frame if frame.shape[-1] == 3 else frame.repeat(3, axis=-1)
        self.writer.write(upscale_nearest(rgb, self.factor))

    def finish(self) -> Path:
        return self.writer.finish()

    def abort(self) -> None:
        self.writer.abort()


def loss_networks(losses, model: Model, discriminator_file: str | Path | None = None,
                  vgg_file: str | Path | None = None):
    """(discriminator features, VGG16 features) that ``losses`` need, None for those not chosen. D comes
    from ``discriminator_file``, else from the model's file or the training snapshot it was exported from
    (``discriminator.discriminator_file_for``); the VGG16 loss needs its weights file."""
    from explorer.engine.project.losses import DiscriminatorFeatures

    d_features = vgg = None
    if "d" in losses:
        from explorer.engine.project.discriminator import discriminator_file_for, load_discriminator

        source = discriminator_file or discriminator_file_for(model)
        d_features = DiscriminatorFeatures(load_discriminator(source, model.device))
    if "vgg" in losses:
        from explorer.engine.project.vgg import VGG16Features

        if not vgg_file:
            raise UsageError("the vgg loss needs torchvision's VGG16 weights file (vgg16-397923af.pth)")
        vgg = VGG16Features.from_file(vgg_file).to(model.device)
    return d_features, vgg


def run_with_video(video: ProjectionVideo | None, work):
    """``work(on_frame)`` with the video's frames going in; the video is finished on success, else removed."""
    try:
        result = work(None if video is None else video.add)
    except BaseException:
        if video is not None:
            video.abort()
        raise
    if video is not None:
        video.finish()
    return result
