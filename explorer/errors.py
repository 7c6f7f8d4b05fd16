"""The exceptions a user can meet. Each carries one line that names the file and the problem.

The CLI prints ``str(error)`` and exits with status 2; the window shows it in a dialog. Nothing in
here may ever be shown as a traceback.
"""

from __future__ import annotations

from pathlib import Path


class ExplorerError(Exception):
    """Base of every user-facing error: ``str()`` is one complete line."""


class ModelError(ExplorerError):
    """A model file could not be opened. ``path`` is the file, ``reason`` the problem."""

    kind = "cannot open model"

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = " ".join(str(reason).split())  # always a single line
        super().__init__(f"{self.path.name}: {self.kind}: {self.reason}")


class ModelFileMissing(ModelError):
    kind = "file not found"


class NotAModel(ModelError):
    kind = "not a StyleGAN model"


class CorruptModel(ModelError):
    kind = "truncated or corrupt"


class UnsupportedArchitecture(ModelError):
    kind = "unsupported architecture"


class UnsafeModel(ModelError):
    kind = "unsafe content refused"


class StateError(ExplorerError):
    """A state / session / latent file is malformed."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = Path(path) if path is not None else None
        self.reason = " ".join(str(reason).split())
        where = f"{self.path.name}: " if self.path is not None else ""
        super().__init__(f"{where}{self.reason}")


class UsageError(ExplorerError):
    """A command-line value that cannot work (bad seed list, missing output folder, ...)."""


class ParamError(UsageError):
    """A parameter address that does not exist, or a value outside its range (``psi: 50 is not -1..2``)."""

    def __init__(self, address: str, reason: str):
        self.address = address
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{address}: {self.reason}")


class ImageFileError(ExplorerError):
    """An image given as input (a projection target) cannot be read or used."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path.name}: {self.reason}")
