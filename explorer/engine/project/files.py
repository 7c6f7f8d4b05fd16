"""What a projection leaves on disk besides the W+ file: the PTI model and the per-step loss log."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from explorer.engine.project.optimize import ProjectionResult
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
