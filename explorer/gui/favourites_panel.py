"""The favourites dock: whole states the artist liked, each with a thumbnail, a name, tags and a note.

Favourites live in the session (part "favourites", the favourites-file JSON of engine/favourites.py), so
they survive a restart, and File > Export / Import favourites writes and reads the same format, which
``explorer generate --state`` renders. F (or the seed browser's context menu) adds one.

Using a favourite: double-click shows it (the whole state), the context menu uses its seed A or B, or adds
it to the video timeline as a keyframe. Dragging a favourite out of the list gives a PNG with its recipe
(the thumbnail's pixels: the full image for models up to 256 px). A favourite of another model is fitted
to the open one (engine/favourites.fit_favourite) and the status line says what that changed.
"""

from __future__ import annotations

import io
import itertools
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QDrag, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem,
                               QMenu, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from explorer.engine.favourites import (Favourite, favourites_to_json, file_stem, fit_favourite, parse_favourites,
                                        read_favourites, thumbnail_png, unique_name, write_favourites)
from explorer.engine.recipe import Recipe, write_png
from explorer.engine.state import State
from explorer.errors import ExplorerError
from explorer.gui.state_drag import state_mime

ICON_SIDE = 64
KEY_PREFIX = "favourite:"


def qimage_to_array(image: QImage) -> np.ndarray:
    """[H, W, 3] uint8 copy of a QImage."""
    rgb = image.convertToFormat(QImage.Format_RGB888)
    row = np.frombuffer(rgb.constBits(), np.uint8, rgb.bytesPerLine() * rgb.height()).reshape(rgb.height(), -1)
    return row[:, :rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).copy()


class FavouriteList(QListWidget):
    """The list; dragging an entry carries its state (seed A / B, the timeline take it) and, for other
    applications, a PNG file with its recipe."""

    def __init__(self, panel: "FavouritesPanel"):
        super().__init__(panel)
        self.panel = panel
        self.setObjectName("favouritesList")
        self.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
        self.setDragEnabled(True)
        self.setContextMenuPolicy(Qt.CustomContextMenu)

    def startDrag(self, actions) -> None:
        row = self.currentRow()
        if row < 0:
            return
        try:
            path = self.panel.drag_file(row)
        except (ExplorerError, OSError) as exc:
            self.panel.ctx.show_error(f"cannot drag the favourite out: {exc}")
            return
        mime = state_mime(self.panel.fitted(row), path)  # onto seed A / B or the timeline; a PNG elsewhere
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self.item(row).icon().pixmap(ICON_SIDE, ICON_SIDE))
        drag.exec(Qt.CopyAction)


class FavouritesPanel(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.favourites: list[Favourite] = []
        self._waiting: dict[str, int] = {}  # render key -> index of the favourite whose thumbnail it makes
        self._drag_dir: Path | None = None
        self._render_numbers = itertools.count()

        self.list = FavouriteList(self)
        self.name = QLineEdit()
        self.name.setObjectName("favouriteName")
        self.tags = QLineEdit()
        self.tags.setObjectName("favouriteTags")
        self.tags.setPlaceholderText("comma, separated")
        self.note = QPlainTextEdit()
        self.note.setObjectName("favouriteNote")
        self.note.setFixedHeight(60)
        add = QPushButton("Add current (F)")
        add.setObjectName("favouriteAdd")
        remove = QPushButton("Remove")
        remove.setObjectName("favouriteRemove")

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Tags", self.tags)
        form.addRow("Note", self.note)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)

        add.clicked.connect(self.add_current)
        remove.clicked.connect(lambda: self.remove(self.list.currentRow()))
        self.list.currentRowChanged.connect(self._show_details)
        self.list.itemDoubleClicked.connect(lambda item: self.show_favourite(self.list.row(item)))
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.name.editingFinished.connect(self._details_edited)
        self.tags.editingFinished.connect(self._details_edited)
        self.note.textChanged.connect(self._details_edited)
        ctx.rendered.connect(self._on_rendered)
        self._show_details(-1)

    # ---- the list -------------------------------------------------------------------------------------
    def add(self, state: State, name: str, image: QImage | None = None) -> Favourite:
        """Add ``state`` as a favourite of the open model; its thumbnail is ``image`` or rendered now."""
        info = self.ctx.model_info
        favourite = Favourite(
            name=unique_name(name, (f.name for f in self.favourites)), state=state,
            model_file=info.name if info is not None else "", model_sha256=info.sha256 if info is not None else "",
            thumbnail=thumbnail_png(qimage_to_array(image)) if image is not None else None)
        self.favourites.append(favourite)
        index = len(self.favourites) - 1
        if image is None and info is not None:
            key = f"{KEY_PREFIX}{next(self._render_numbers)}"
            self._waiting[key] = index
            self.ctx.request_render(state, key)
        self._rebuild(select=index)
        self.ctx.show_status(f"Added favourite {favourite.name!r}")
        return favourite

    def add_current(self) -> None:
        """The state on screen as a favourite, named after its seeds."""
        state = self.ctx.state
        name = f"seed {state.a.seed}" + (f" + {state.b.seed}" if any(state.mix) else "")
        shown = self.ctx.last_result
        self.add(state, name, shown.qimage if shown is not None and shown.state == state else None)

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.favourites):
            del self.favourites[index]
            self._waiting = {k: i - (i > index) for k, i in self._waiting.items() if i != index}
            self._rebuild(select=min(index, len(self.favourites) - 1))

    def _rebuild(self, select: int = -1) -> None:
        with_signals_blocked = self.list.blockSignals(True)
        self.list.clear()
        for favourite in self.favourites:
            item = QListWidgetItem(self._label(favourite))
            item.setToolTip(favourite.note or favourite.name)
            if favourite.thumbnail is not None:
                item.setIcon(QIcon(QPixmap.fromImage(QImage.fromData(favourite.thumbnail))))
            self.list.addItem(item)
        self.list.blockSignals(with_signals_blocked)
        self.list.setCurrentRow(select)
        self._show_details(select)

    @staticmethod
    def _label(favourite: Favourite) -> str:
        return favourite.name + (f"\n{', '.join(favourite.tags)}" if favourite.tags else "")

    def _on_rendered(self, result) -> None:
        index = self._waiting.pop(result.key, None)
        if index is None or index >= len(self.favourites) or self.favourites[index].state != result.state:
            return
        self.favourites[index] = self._replaced(index, thumbnail=thumbnail_png(result.image))
        self._rebuild(select=self.list.currentRow())

    def _replaced(self, index: int, **changes) -> Favourite:
        return replace(self.favourites[index], **changes)

    # ---- details --------------------------------------------------------------------------------------
    def _show_details(self, index: int) -> None:
        favourite = self.favourites[index] if 0 <= index < len(self.favourites) else None
        for box in (self.name, self.tags, self.note):
            box.blockSignals(True)
            box.setEnabled(favourite is not None)
        self.name.setText(favourite.name if favourite else "")
        self.tags.setText(", ".join(favourite.tags) if favourite else "")
        self.note.setPlainText(favourite.note if favourite else "")
        for box in (self.name, self.tags, self.note):
            box.blockSignals(False)

    def _details_edited(self) -> None:
        index = self.list.currentRow()
        if not 0 <= index < len(self.favourites):
            return
        others = (f.name for i, f in enumerate(self.favourites) if i != index)
        name = unique_name(self.name.text(), others)
        tags = tuple(dict.fromkeys(t.strip()[:100] for t in self.tags.text().split(",") if t.strip()))
        changed = self._replaced(index, name=name, tags=tags, note=self.note.toPlainText()[:10_000])
        if changed != self.favourites[index]:
            self.favourites[index] = changed
            item = self.list.item(index)
            item.setText(self._label(changed))
            item.setToolTip(changed.note or changed.name)

    # ---- using a favourite ----------------------------------------------------------------------------
    def fitted(self, index: int) -> State:
        """The favourite's state fitted to the open model; what that changed goes to the status line."""
        favourite = self.favourites[index]
        info = self.ctx.model_info
        if info is None:
            return favourite.state
        result = fit_favourite(favourite, info, info.sha256)
        if result.notes:
            self.ctx.show_status("; ".join(result.notes), 10_000)
        return result.state

    def show_favourite(self, index: int) -> None:
        if 0 <= index < len(self.favourites):
            self.ctx.set_state(self.fitted(index), f"Favourite {self.favourites[index].name}")

    def use_as(self, index: int, side: str) -> None:
        if 0 <= index < len(self.favourites):
            latent = self.fitted(index).a
            self.ctx.set_state(self.ctx.state.replace(**{side: latent}),
                               f"Seed {side.upper()} from {self.favourites[index].name}")

    def add_keyframe(self, index: int) -> None:
        """Show the favourite and add it to the video timeline (undone in two steps: keyframe, then state)."""
        timeline = self.ctx.feature("timeline_panel")
        if timeline is None:
            self.ctx.show_error("there is no video timeline in this window")
            return
        if 0 <= index < len(self.favourites):
            self.show_favourite(index)
            timeline.add_current()

    def drag_file(self, index: int) -> Path | None:
        """A PNG of the favourite (its thumbnail's pixels) with its recipe, in a folder of this session."""
        favourite = self.favourites[index]
        if favourite.thumbnail is None:
            return None
        if self._drag_dir is None:
            self._drag_dir = Path(tempfile.mkdtemp(prefix="explorer-favourites-"))
        pixels = np.asarray(Image.open(io.BytesIO(favourite.thumbnail)).convert("RGB"))
        path = self._drag_dir / f"{file_stem(favourite.name)}.png"
        write_png(path, pixels, Recipe(favourite.state, favourite.model_file, favourite.model_sha256))
        return path

    def _context_menu(self, point) -> None:
        item = self.list.itemAt(point)
        if item is None:
            return
        index = self.list.row(item)
        menu = QMenu(self)
        menu.addAction("Show", lambda: self.show_favourite(index))
        menu.addAction("Use as seed A", lambda: self.use_as(index, "a"))
        menu.addAction("Use as seed B", lambda: self.use_as(index, "b"))
        menu.addAction("Add as keyframe", lambda: self.add_keyframe(index))
        menu.addSeparator()
        menu.addAction("Remove", lambda: self.remove(index))
        menu.exec(self.list.viewport().mapToGlobal(point))

    # ---- files and the session ------------------------------------------------------------------------
    def session_json(self) -> dict:
        return favourites_to_json(self.favourites)

    def load_session_json(self, data) -> None:
        self.favourites = list(parse_favourites(data, "session favourites"))
        self._waiting.clear()
        self._rebuild(select=0 if self.favourites else -1)

    def export_to(self, path: str | Path) -> None:
        write_favourites(path, self.favourites, overwrite=True)  # the save dialog has asked about overwriting
        self.ctx.show_status(f"Exported {len(self.favourites)} favourites to {Path(path).name}")

    def import_from(self, path: str | Path) -> None:
        """Add a file's favourites (names made unique); a bad file is one banner and nothing changes."""
        try:
            incoming = read_favourites(path)
        except ExplorerError as exc:
            self.ctx.show_error(str(exc))
            return
        for favourite in incoming:
            name = unique_name(favourite.name, (f.name for f in self.favourites))
            self.favourites.append(replace(favourite, name=name))
        self._rebuild(select=len(self.favourites) - 1)
        self.ctx.show_status(f"Imported {len(incoming)} favourites from {Path(path).name}")

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export favourites", "favourites.json", "Favourites (*.json)")
        if path:
            self.export_to(path)

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import favourites", "", "Favourites (*.json)")
        if path:
            self.import_from(path)


def install(ctx) -> FavouritesPanel:
    panel = FavouritesPanel(ctx)
    panel.dock = ctx.add_dock(panel, "Favourites", "favouritesDock", area="right", scroll=False)
    ctx.register_session_part("favourites", panel.session_json, panel.load_session_json)
    ctx.add_action("edit", "Add to favourites", panel.add_current, shortcut="F",
                   tip="Keep the current state as a favourite", name="actionAddFavourite")
    ctx.add_action("file", "Export favourites...", panel.export_dialog, name="actionExportFavourites")
    ctx.add_action("file", "Import favourites...", panel.import_dialog, name="actionImportFavourites")
    return panel
