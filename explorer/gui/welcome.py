"""Shown instead of the canvas when no model is open: Open, drag & drop, and the recent files."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget


class WelcomeView(QWidget):
    openRequested = Signal()
    recentChosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("welcome")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("StyleGAN Explorer")
        title.setAlignment(Qt.AlignCenter)
        title.setStyleSheet("font-size: 22pt; font-weight: bold;")
        hint = QLabel("Open a StyleGAN model (.pkl, .pt, .safetensors) or drop one onto the window.\n"
                      "Dropping an exported PNG brings back its settings.")
        hint.setAlignment(Qt.AlignCenter)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #aaa;")
        self.open_button = QPushButton("Open model\u2026")
        self.open_button.setObjectName("welcomeOpen")
        self.open_button.setFixedWidth(200)
        self.open_button.clicked.connect(self.openRequested.emit)
        self.recent = QListWidget()
        self.recent.setObjectName("welcomeRecent")
        self.recent.setMaximumWidth(520)
        self.recent.setMinimumWidth(240)
        self.recent.setTextElideMode(Qt.ElideMiddle)
        self.recent.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.recent.setMaximumHeight(170)
        self.recent.itemActivated.connect(lambda item: self.recentChosen.emit(item.data(Qt.UserRole)))
        self.recent_label = QLabel("Recent models")
        for w in (title, hint):
            layout.addWidget(w)
        layout.addSpacing(12)
        layout.addWidget(self.open_button, 0, Qt.AlignHCenter)
        layout.addSpacing(12)
        layout.addWidget(self.recent_label, 0, Qt.AlignHCenter)
        layout.addWidget(self.recent, 0, Qt.AlignHCenter)
        layout.addStretch(2)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{Path(p).name}  \u2014  {Path(p).parent}")
            item.setData(Qt.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.recent_label.setVisible(bool(paths))
