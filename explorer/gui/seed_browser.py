"""The seed browser: a dock with a page of seed thumbnails, the artist's "generate 500 and look".

Each tile is the current state with seed A set to the tile's seed (psi, class, noise, mix, edits and blend
as they are), so a tile shows what clicking it gives. Tiles are background renders (``browse:<tile number>``
keys of ``FeatureContext.request_render``): the main render always goes first and interrupts them, and
turning the page cancels the old page's pending tiles, so only the page on screen is rendered. The render
thread's mapping cache keeps seeds it has seen, and finished tiles are kept here too (paging back is free).

Click: seed A (one undo step). Shift+click: seed B. Right-click: add to favourites, or use as A / B.
A state change that alters the tiles (psi, edits, ...) re-renders the page once the change has settled
(``SETTLE_MS``), so dragging a slider never queues pages of tiles behind the canvas.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QMenu, QPushButton,
                               QVBoxLayout, QWidget)

from explorer.engine.seeds import random_seed, step_seed
from explorer.engine.state import Latent, State
from explorer.gui.seed_spin import SeedSpinBox
from explorer.gui.widgets import ComboBox, Slider, blocked

KEY_PREFIX = "browse:"
PAGE_SIZES = (12, 24, 48, 96)
TILE_SIZES = (48, 256)  # the size slider's range, pixels
SETTLE_MS = 150
PLACEHOLDER = QColor(40, 40, 44)
KEPT_TILES = 512  # finished tile images kept for paging back


def tile_state(state: State, seed: int) -> State:
    """What a tile shows: the state with seed A at ``seed`` (exactly what clicking the tile sets)."""
    return state.replace(a=Latent(seed=seed))


class SeedPages:
    """Which seeds each page shows: consecutive from a first seed (wrapping at 2**32), or random pages
    kept in order so that going back shows the same random seeds again."""

    def __init__(self, size: int = 24):
        self.size = size
        self.mode = "consecutive"
        self.first = 0
        self._random: list[list[int]] = []
        self._random_index = 0

    def seeds(self) -> list[int]:
        if self.mode == "random":
            while len(self._random) <= self._random_index:
                self._random.append([random_seed() for _ in range(self.size)])
            page = self._random[self._random_index]
            return page[:self.size] + [random_seed() for _ in range(self.size - len(page))]
        return [step_seed(self.first, i) for i in range(self.size)]

    def turn(self, pages: int) -> None:
        if self.mode == "random":
            self._random_index = max(0, self._random_index + pages)
        else:
            self.first = step_seed(self.first, pages * self.size)

    def jump(self, seed: int) -> None:
        """Consecutive pages starting at ``seed``."""
        self.mode, self.first = "consecutive", seed

    def set_mode(self, mode: str) -> None:
        if mode == "random" and self.mode != "random":
            self._random, self._random_index = [], 0  # fresh random seeds each time random is chosen
        self.mode = mode


class TileGrid(QListWidget):
    """The page of tiles; reports clicks with their modifiers (Shift picks seed B)."""

    tileClicked = Signal(int, object)  # seed, Qt.KeyboardModifiers

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("seedBrowserGrid")
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)  # every tile has an icon of the same size (a placeholder until rendered)
        self.setSelectionMode(QListWidget.SingleSelection)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.setSpacing(2)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        item = self.itemAt(event.position().toPoint())
        if item is not None and event.button() == Qt.LeftButton:
            self.tileClicked.emit(item.data(Qt.UserRole), event.modifiers())

    def tile(self, seed: int) -> QListWidgetItem | None:
        return next((self.item(i) for i in range(self.count()) if self.item(i).data(Qt.UserRole) == seed), None)


class SeedBrowser(QWidget):
    """The dock's widget (see the module docstring)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.pages = SeedPages(PAGE_SIZES[1])
        self._requested: dict[str, State] = {}  # key -> the tile state asked for and not yet back
        self._images: OrderedDict[State, QImage] = OrderedDict()  # finished tiles, newest last
        self._base: State | None = None  # the state the page's tiles were made from (seed A aside)
        self._placeholder_icon: QIcon | None = None
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.refresh)

        self.mode = ComboBox()
        self.mode.setObjectName("seedBrowserMode")
        self.mode.addItems(["Consecutive", "Random"])
        self.mode.setToolTip("Consecutive seeds from the first one, or pages of random seeds")
        self.previous = QPushButton("<")
        self.previous.setObjectName("seedBrowserPrevious")
        self.previous.setToolTip("Previous page (Page Up)")
        self.next = QPushButton(">")
        self.next.setObjectName("seedBrowserNext")
        self.next.setToolTip("Next page (Page Down)")
        self.jump_box = SeedSpinBox()
        self.jump_box.setObjectName("seedBrowserJump")
        self.jump_box.setToolTip("Jump to seed N: the page starts there")
        self.page_size = ComboBox()
        self.page_size.setObjectName("seedBrowserPageSize")
        self.page_size.addItems([str(n) for n in PAGE_SIZES])
        self.page_size.setCurrentIndex(PAGE_SIZES.index(self.pages.size))
        self.page_size.setToolTip("Tiles per page")
        self.size_slider = Slider(Qt.Horizontal)
        self.size_slider.setObjectName("seedBrowserTileSize")
        self.size_slider.setRange(*TILE_SIZES)
        self.size_slider.setValue(96)
        self.size_slider.setToolTip("Thumbnail size")
        self.page_label = QLabel()
        self.page_label.setObjectName("seedBrowserPage")
        self.grid = TileGrid()

        top = QHBoxLayout()
        top.addWidget(self.mode)
        top.addWidget(self.previous)
        top.addWidget(self.next)
        top.addWidget(QLabel("Jump"))
        top.addWidget(self.jump_box, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.page_label, 1)
        bottom.addWidget(QLabel("Per page"))
        bottom.addWidget(self.page_size)
        bottom.addWidget(QLabel("Size"))
        bottom.addWidget(self.size_slider, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.grid, 1)
        layout.addLayout(bottom)

        self.mode.currentIndexChanged.connect(lambda i: self._set_mode("random" if i else "consecutive"))
        self.previous.clicked.connect(lambda: self.turn(-1))
        self.next.clicked.connect(lambda: self.turn(1))
        self.jump_box.valueChanged.connect(self.jump)
        self.page_size.currentIndexChanged.connect(self._set_page_size)
        self.size_slider.valueChanged.connect(self._set_tile_size)
        for key, pages in ((Qt.Key_PageUp, -1), (Qt.Key_PageDown, 1)):
            QShortcut(QKeySequence(key), self, lambda pages=pages: self.turn(pages),
                      context=Qt.WidgetWithChildrenShortcut)
        self.grid.tileClicked.connect(self._clicked)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        ctx.rendered.connect(self._on_rendered)
        ctx.stateChanged.connect(self._on_state_changed)
        ctx.modelLoaded.connect(self._on_model_loaded)
        self._set_tile_size(self.size_slider.value())

    # ---- paging ---------------------------------------------------------------------------------------
    def seeds(self) -> list[int]:
        """The seeds of the page on screen, in order."""
        return [self.grid.item(i).data(Qt.UserRole) for i in range(self.grid.count())]

    def turn(self, pages: int) -> None:
        self.pages.turn(pages)
        self.refresh()

    def jump(self, seed: int) -> None:
        self.pages.jump(int(seed))
        with blocked(self.mode):
            self.mode.setCurrentIndex(0)
        self.refresh()

    def _set_mode(self, mode: str) -> None:
        self.pages.set_mode(mode)
        self.refresh()

    def _set_page_size(self, index: int) -> None:
        self.pages.size = PAGE_SIZES[index]
        self.refresh()

    # ---- tiles ----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the current page for the current state, asking for the tiles not kept (latest page wins).
        Tiles already on screen keep their old picture until the new one is back."""
        self._settle.stop()
        self.ctx.cancel_renders(KEY_PREFIX)
        self._requested.clear()
        state = self.ctx.state
        self._base = state.replace(a=Latent())
        seeds = self.pages.seeds()
        if seeds != self.seeds():
            self._relabel(seeds)
        for index, seed in enumerate(seeds):
            wanted = tile_state(state, seed)
            image = self._images.get(wanted)
            if image is not None:
                self._images.move_to_end(wanted)
                self._show(self.grid.item(index), image)
            elif self.ctx.model_info is not None:
                key = f"{KEY_PREFIX}{index}"  # by position: the next page's tile replaces this one's request
                self._requested[key] = wanted
                self.ctx.request_render(wanted, key)
        self._mark_seed_a()
        kind = "random seeds" if self.pages.mode == "random" else f"seeds {seeds[0]}-{seeds[-1]}"
        self.page_label.setText(f"{kind} ({len(seeds)})")

    def _relabel(self, seeds: list[int]) -> None:
        """Put ``seeds`` on the tiles, reusing the items (a page turn then costs no new layout)."""
        while self.grid.count() > len(seeds):
            self.grid.takeItem(self.grid.count() - 1)
        while self.grid.count() < len(seeds):
            self.grid.addItem(QListWidgetItem())
        placeholder = self._placeholder()
        for index, seed in enumerate(seeds):
            item = self.grid.item(index)
            item.setText(str(seed))
            item.setData(Qt.UserRole, seed)
            item.setToolTip(f"seed {seed}: click for A, Shift+click for B, right-click to add to favourites")
            item.setIcon(placeholder)

    def _refresh_when_seen(self) -> None:
        """Re-render soon if the browser is on screen; a hidden browser renders nothing until it is shown."""
        if self.isVisible():
            self._settle.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._base != self.ctx.state.replace(a=Latent()) or self._requested:
            self.refresh()

    def pending(self) -> int:
        """Tiles of this page still being rendered."""
        return len(self._requested)

    def _on_rendered(self, result) -> None:
        if self._requested.get(result.key) != result.state:
            return  # another feature's render, or a tile of a page (or a state) no longer shown
        del self._requested[result.key]
        self._images[result.state] = result.qimage
        while len(self._images) > KEPT_TILES:
            self._images.popitem(last=False)
        index = int(result.key.removeprefix(KEY_PREFIX))
        item = self.grid.item(index)
        if item is not None and item.data(Qt.UserRole) == result.state.a.seed:
            self._show(item, result.qimage)

    def _show(self, item: QListWidgetItem, image: QImage) -> None:
        side = self.grid.iconSize().width()
        mode = Qt.FastTransformation if image.width() <= side else Qt.SmoothTransformation  # crisp pixels up close
        item.setIcon(QPixmap.fromImage(image.scaled(side, side, Qt.KeepAspectRatio, mode)))

    def _placeholder(self) -> QIcon:
        """A dark square where a tile is still being rendered (keeps the grid's layout steady)."""
        side = self.grid.iconSize().width()
        if self._placeholder_icon is None or self._placeholder_icon.availableSizes()[0].width() != side:
            pixmap = QPixmap(side, side)
            pixmap.fill(PLACEHOLDER)
            self._placeholder_icon = QIcon(pixmap)
        return self._placeholder_icon

    def image(self, seed: int) -> QImage | None:
        """The finished tile of ``seed`` for the current state (tests compare it with the engine's image)."""
        return self._images.get(tile_state(self.ctx.state, seed))

    def _set_tile_size(self, side: int) -> None:
        self.grid.setIconSize(QSize(side, side))
        self.grid.setGridSize(QSize(side + 12, side + self.fontMetrics().height() + 10))
        state = self.ctx.state
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            image = self._images.get(tile_state(state, item.data(Qt.UserRole)))
            if image is not None:
                self._show(item, image)
            else:
                item.setIcon(self._placeholder())

    def _mark_seed_a(self) -> None:
        """Select the tile that is seed A now (none if seed A is not on this page)."""
        item = self.grid.tile(self.ctx.state.a.seed)
        with blocked(self.grid):
            if item is None:
                self.grid.clearSelection()
            else:
                self.grid.setCurrentItem(item)

    def _on_state_changed(self, state: State) -> None:
        self._mark_seed_a()
        if state.replace(a=Latent()) != self._base:
            self._refresh_when_seen()  # the tiles' settings changed: re-render once the change settles

    def _on_model_loaded(self, info) -> None:
        self._images.clear()  # another model's tiles
        self._base = None
        for i in range(self.grid.count()):
            self.grid.item(i).setIcon(self._placeholder())
        self._refresh_when_seen()

    # ---- acting on a tile -------------------------------------------------------------------------------
    def _clicked(self, seed: int, modifiers) -> None:
        side = "b" if modifiers & Qt.ShiftModifier else "a"
        self.use_seed(seed, side)

    def use_seed(self, seed: int, side: str = "a") -> None:
        self.ctx.set_state(self.ctx.state.replace(**{side: Latent(seed=seed)}), f"Seed {side.upper()} {seed}")

    def add_favourite(self, seed: int) -> None:
        favourites = self.ctx.feature("favourites_panel")
        if favourites is None:
            self.ctx.show_error("favourites are not available in this window")
            return
        image = self.image(seed)
        favourites.add(tile_state(self.ctx.state, seed), f"seed {seed}", image)

    def _context_menu(self, point) -> None:
        item = self.grid.itemAt(point)
        if item is None:
            return
        seed = item.data(Qt.UserRole)
        menu = QMenu(self)
        menu.addAction(f"Add seed {seed} to favourites", lambda: self.add_favourite(seed))
        menu.addAction("Use as seed A", lambda: self.use_seed(seed, "a"))
        menu.addAction("Use as seed B", lambda: self.use_seed(seed, "b"))
        menu.exec(self.grid.viewport().mapToGlobal(point))


def install(ctx) -> SeedBrowser:
    browser = SeedBrowser(ctx)
    browser.dock = ctx.add_dock(browser, "Seeds", "seedBrowserDock", area="right", scroll=False)
    return browser
