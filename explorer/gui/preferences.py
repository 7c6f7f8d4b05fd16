"""Preferences: compute device and CPU threads (kept in QSettings)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox

from explorer.gui import settings as prefs

DEVICES = ("auto", "cpu", "cuda", "mps")


class PreferencesDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        form = QFormLayout(self)
        self.device = QComboBox()
        self.device.setObjectName("prefDevice")
        self.device.addItems(DEVICES)
        self.device.setCurrentText(prefs.device_preference())
        self.device.setToolTip("auto: CUDA if present, else Apple MPS, else CPU. The model reloads on change.")
        self.threads = QSpinBox()
        self.threads.setObjectName("prefThreads")
        self.threads.setRange(1, 256)
        self.threads.setValue(prefs.thread_preference())
        self.threads.setToolTip("Threads torch may use on the CPU. Leaving one core free keeps the window smooth.")
        form.addRow("Device", self.device)
        form.addRow("CPU threads", self.threads)
        form.addRow(QLabel(f"Suggested: {prefs.default_threads()} (all cores but one)"))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, int]:
        return self.device.currentText(), self.threads.value()
