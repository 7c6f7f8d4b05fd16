"""Dark Fusion theme. Artists judge colour on the canvas, so the chrome around it stays neutral and dark."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

CANVAS_BACKGROUND = QColor(24, 24, 26)


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    base, window, text, mid = QColor(30, 30, 33), QColor(43, 43, 47), QColor(220, 220, 222), QColor(70, 70, 76)
    accent = QColor(88, 140, 220)
    for group in (QPalette.Active, QPalette.Inactive):
        p.setColor(group, QPalette.Window, window)
        p.setColor(group, QPalette.WindowText, text)
        p.setColor(group, QPalette.Base, base)
        p.setColor(group, QPalette.AlternateBase, window)
        p.setColor(group, QPalette.ToolTipBase, QColor(50, 50, 55))
        p.setColor(group, QPalette.ToolTipText, text)
        p.setColor(group, QPalette.Text, text)
        p.setColor(group, QPalette.Button, QColor(52, 52, 57))
        p.setColor(group, QPalette.ButtonText, text)
        p.setColor(group, QPalette.BrightText, QColor(255, 90, 90))
        p.setColor(group, QPalette.Highlight, accent)
        p.setColor(group, QPalette.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.Link, accent)
        p.setColor(group, QPalette.PlaceholderText, QColor(130, 130, 135))
        p.setColor(group, QPalette.Mid, mid)
        p.setColor(group, QPalette.Dark, QColor(25, 25, 28))
        p.setColor(group, QPalette.Light, QColor(75, 75, 80))
    disabled = QColor(110, 110, 115)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, disabled)
    p.setColor(QPalette.Disabled, QPalette.Base, window)
    p.setColor(QPalette.Disabled, QPalette.Button, QColor(45, 45, 49))
    app.setPalette(p)
    app.setStyleSheet(
        "QToolTip { color: #ddd; background: #323237; border: 1px solid #555; }"
        "QDockWidget::title { padding: 4px; background: #2f2f34; }"
        "QGroupBox { font-weight: bold; margin-top: 10px; }"
        "QGroupBox::title { subcontrol-origin: margin; left: 6px; padding: 0 3px; }"
    )
