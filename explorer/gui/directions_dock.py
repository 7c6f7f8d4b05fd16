"""Dock "Directions": latent-direction sliders over the open model.

When a model opens, its SeFa directions (all rows, every component) are found in a background job and
listed, one slider per direction (-5 to +5 sigma). The selected direction gets a name field, a row range
(two handles over the W+ rows, with coarse / middle / fine presets from engine/layers.py), a reset button
and a strip of previews at -3, -1.5, 0, +1.5 and +3 sigma, rendered in the background (latest wins per
slot; the main render always goes first). More sets come from a PCA job, from other tools' files and
from example seeds; the shown set saves to our .npz.

Every slider and range is one ``Edit`` in the state (engine/directions/edits.py maps them): a direction's
edit is added when its slider or range first moves, kept while its amount passes 0 (so ``edit/K`` stays
put during a drag) and removed by "Reset". Moves go through the registry (``edit/K/amount``,
``edit/K/layers``), so a drag is one undo step and undo moves the controls back (they mirror the state).
The edit carries the vector and sigma, so the state renders exactly as ``explorer generate --edit`` does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

from explorer.engine.directions import (DirectionSet, combined, example_direction, import_directions,
                                        pca_directions, save_directions, sefa_sets_at_open)
from explorer.engine.directions.edits import (edit_position, renamed, set_edits, with_direction, with_set_names,
                                              without_direction)
from explorer.engine.layers import GROUPS, rows_in_group
from explorer.engine.seeds import parse_int_list
from explorer.errors import ExplorerError, StateError
from explorer.gui.range_slider import RangeSlider
from explorer.gui.widgets import ComboBox, Slider, SpinBox, Thumbnail, blocked

SLIDER_STEPS = 100  # slider units per sigma: -5..+5 sigma in steps of 0.01
AMOUNT_LIMIT = 5
PREVIEW_AMOUNTS = (-3.0, -1.5, 0.0, 1.5, 3.0)
PREVIEW_KEY = "directions:"  # + slot number
SHOWN_STEP = 20  # directions listed at first, and added by "Show more" (a SeFa set has w_dim of them)
PCA_SAMPLES = 100_000
PCA_COMPONENTS = 20
EXAMPLES = "Examples"  # the set that directions from example seeds are appended to
SEFA = "SeFa ({})"  # all rows / coarse / middle / fine: found again whenever the model opens, never kept
GROUP_SHADES = {"coarse": QColor(112, 86, 44), "middle": QColor(56, 98, 66), "fine": QColor(58, 78, 122)}


class DirectionRow(QWidget):
    """One direction in the list: its name (click to select) and its slider."""

    def __init__(self, dock: "DirectionsDock", index: int):
        super().__init__()
        self.index = index
        self._shown: tuple | None = None  # (name, amount, selected) last mirrored
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        self.select_button = QPushButton()
        self.select_button.setFlat(True)
        self.select_button.setCheckable(True)
        self.select_button.setObjectName(f"directionName{index}")
        self.select_button.setFixedWidth(90)
        self.select_button.setStyleSheet("text-align: left; padding: 1px 4px;")
        self.select_button.clicked.connect(lambda: dock.select(index))
        self.slider = Slider(Qt.Horizontal)
        self.slider.setObjectName(f"direction{index}")
        self.slider.setRange(-AMOUNT_LIMIT * SLIDER_STEPS, AMOUNT_LIMIT * SLIDER_STEPS)
        self.slider.setPageStep(SLIDER_STEPS // 2)
        self.slider.valueChanged.connect(lambda v: dock.move_slider(index, v / SLIDER_STEPS))
        self.slider.sliderPressed.connect(lambda: dock.press(index))
        self.slider.sliderReleased.connect(dock.ctx.end_gesture)
        self.value_label = QLabel()
        self.value_label.setFixedWidth(44)
        self.value_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        for widget, stretch in ((self.select_button, 0), (self.slider, 1), (self.value_label, 0)):
            layout.addWidget(widget, stretch)

    def show_direction(self, name: str, amount: float | None, selected: bool) -> None:
        """Mirror the state: ``amount`` None when the state has no edit for this direction. Unchanged rows
        are left alone: the dock mirrors every state change of a drag, wherever it comes from."""
        if self._shown == (name, amount, selected):
            return
        self._shown = (name, amount, selected)
        self.select_button.setText(name)
        self.select_button.setChecked(selected)
        with blocked(self.slider):
            self.slider.setValue(round((amount or 0.0) * SLIDER_STEPS))
        self.value_label.setText("" if amount is None else f"{amount:+.2f}")


class ExamplesDialog(QDialog):
    """Positive and negative seeds (typed, or the session's seeds A / B added with a click) and a name."""

    def __init__(self, parent, seed_a: int, seed_b: int, can_orthogonalize: bool):
        super().__init__(parent)
        self.setWindowTitle("New direction from examples")
        form = QFormLayout(self)
        self.positive, self.negative = QLineEdit(), QLineEdit()
        for edit, name, tip in ((self.positive, "positiveSeeds", "seeds that show the attribute, e.g. 1,5,9"),
                                (self.negative, "negativeSeeds", "seeds that do not, e.g. 2,4,8")):
            edit.setObjectName(name)
            edit.setPlaceholderText(tip)
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            for side, seed in (("A", seed_a), ("B", seed_b)):
                button = QPushButton(f"+ seed {side}")
                button.setObjectName(f"{name}Add{side}")
                button.setToolTip(f"Add seed {side} ({seed})")
                button.clicked.connect(lambda _=False, e=edit, s=seed: e.setText(",".join(
                    [t for t in e.text().split(",") if t.strip()] + [str(s)])))
                row.addWidget(button)
            form.addRow("Positive" if edit is self.positive else "Negative", row)
        self.name = QLineEdit("examples")
        self.name.setObjectName("exampleName")
        form.addRow("Name", self.name)
        self.orthogonal = QCheckBox("orthogonal to the shown set's directions")
        self.orthogonal.setObjectName("exampleOrthogonal")
        self.orthogonal.setEnabled(can_orthogonalize)
        form.addRow(self.orthogonal)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def seeds(self) -> tuple[list[int], list[int]]:
        """The two seed lists (a UsageError names a bad one)."""
        return parse_int_list(self.positive.text()), parse_int_list(self.negative.text())


class DirectionsDock(QWidget):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.sets: list[tuple[str, DirectionSet]] = []  # (label, set) in the combo's order
        self._restored: list[tuple[str, DirectionSet]] = []  # a session's sets, waiting for their model
        self.selected = 0
        self.shown = 0
        self.rows: list[DirectionRow] = []
        self.row_buttons = QButtonGroup(self)
        self._previews_asked: dict[int, object] = {}  # slot -> the state last asked for
        self._previews_shown: dict[int, object] = {}  # slot -> the state its thumbnail shows
        self._model_generation = 0  # models opened so far: a job's set is for the model it started on
        self._sefa_pending = False
        self._jobs: list = []  # JobHandles of this model's direction jobs
        self._build()
        ctx.modelLoaded.connect(self._on_model_loaded)
        ctx.stateChanged.connect(lambda state: self._mirror())
        ctx.rendered.connect(self._on_rendered)
        ctx.imageShown.connect(self._on_image_shown)

    # ---- layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.set_combo = ComboBox()
        self.set_combo.setObjectName("directionSet")
        self.set_combo.setToolTip("Direction set shown")
        self.set_combo.currentIndexChanged.connect(self._on_set_chosen)
        top.addWidget(self.set_combo, 1)
        layout.addLayout(top)

        buttons = QGridLayout()
        specs = [("computePca", "Compute PCA", self.compute_pca, "Principal components of mapped W (GANSpace)"),
                 ("importDirections", "Import\u2026", self.import_dialog,
                  "GANSpace .npz, InterFaceGAN / plain .npy, rosinality factor.pt, or our .npz"),
                 ("fromExamples", "From examples\u2026", self.examples_dialog,
                  "A direction from positive and negative seeds"),
                 ("saveDirections", "Save set\u2026", self.save_dialog, "Save the shown set as our .npz")]
        self.buttons: dict[str, QPushButton] = {}
        for i, (name, text, slot, tip) in enumerate(specs):
            button = QPushButton(text)
            button.setObjectName(name)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, slot=slot: slot())
            buttons.addWidget(button, i // 2, i % 2)
            self.buttons[name] = button
        pca_row = QHBoxLayout()
        pca_row.addWidget(QLabel("PCA samples"))
        self.pca_samples = SpinBox()
        self.pca_samples.setObjectName("pcaSamples")
        self.pca_samples.setRange(1_000, 1_000_000)
        self.pca_samples.setSingleStep(10_000)
        self.pca_samples.setValue(PCA_SAMPLES)
        self.pca_samples.setGroupSeparatorShown(True)
        pca_row.addWidget(self.pca_samples, 1)
        layout.addLayout(buttons)
        layout.addLayout(pca_row)
        self.status = QLabel("Open a model to see its directions.")
        self.status.setObjectName("directionsStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.other_edits = QLabel()
        self.other_edits.setObjectName("otherEdits")
        self.other_edits.setToolTip("Edits of directions from other sets (or older files) are in the image too; "
                                    "choose their set to see their sliders")
        self.other_edits.hide()
        layout.addWidget(self.other_edits)

        self.list_holder = QWidget()
        self.list_layout = QVBoxLayout(self.list_holder)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(1)
        self.more_button = QPushButton()
        self.more_button.setObjectName("moreDirections")
        self.more_button.clicked.connect(lambda: self._show_rows(self.shown + SHOWN_STEP))
        self.list_layout.addWidget(self.more_button)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(self.list_holder)
        layout.addWidget(scroll, 1)

        self.detail = QGroupBox("Direction")
        detail = QVBoxLayout(self.detail)
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel("Name"))
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("directionNameEdit")
        self.name_edit.editingFinished.connect(self._rename)
        name_row.addWidget(self.name_edit, 1)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("resetDirection")
        self.reset_button.setToolTip("Remove this direction's edit (amount 0)")
        self.reset_button.clicked.connect(lambda: self.reset(self.selected))
        name_row.addWidget(self.reset_button)
        detail.addLayout(name_row)
        range_row = QHBoxLayout()
        range_row.addWidget(QLabel("Rows"))
        self.range_slider = RangeSlider()
        self.range_slider.setObjectName("directionRows")
        self.range_slider.setToolTip("W+ rows this direction moves (drag either handle; Shift+arrows move both)")
        self.range_slider.rangeChanged.connect(lambda first, last: self.set_rows(self.selected, (first, last)))
        self.range_slider.sliderPressed.connect(self.ctx.begin_gesture)
        self.range_slider.sliderReleased.connect(self.ctx.end_gesture)
        range_row.addWidget(self.range_slider, 1)
        self.range_label = QLabel()
        self.range_label.setFixedWidth(40)
        range_row.addWidget(self.range_label)
        detail.addLayout(range_row)
        presets = QHBoxLayout()
        self.preset_buttons: dict[str, QPushButton] = {}
        for group in GROUPS + ("all",):
            button = QPushButton(group.capitalize())
            button.setObjectName(f"directionRows{group.capitalize()}")
            button.clicked.connect(lambda _=False, g=group: self.set_rows(self.selected, self._group_rows(g)))
            presets.addWidget(button)
            self.preset_buttons[group] = button
        detail.addLayout(presets)
        strip = QGridLayout()
        strip.setHorizontalSpacing(2)
        self.previews: list[Thumbnail] = []
        for slot, amount in enumerate(PREVIEW_AMOUNTS):
            thumb = Thumbnail(size=60)
            thumb.setObjectName(f"directionPreview{slot}")
            thumb.setToolTip(f"The image with this direction at {amount:+g} sigma")
            strip.addWidget(thumb, 0, slot, Qt.AlignCenter)
            strip.addWidget(QLabel(f"{amount:+g}\u03c3" if amount else "0", alignment=Qt.AlignCenter), 1, slot)
            self.previews.append(thumb)
        detail.addLayout(strip)
        layout.addWidget(self.detail)
        self._enable(False)

    def _enable(self, model_open: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(model_open)
        self.buttons["saveDirections"].setEnabled(model_open and bool(self.sets))

    # ---- sets -----------------------------------------------------------------------------------------
    @property
    def dset(self) -> DirectionSet | None:
        index = self.set_combo.currentIndex()
        return self.sets[index][1] if 0 <= index < len(self.sets) else None

    def add_set(self, label: str, dset: DirectionSet) -> None:
        """List ``dset`` (replacing a set of the same label) and show it."""
        labels = [existing for existing, _ in self.sets]
        if label in labels:
            position = labels.index(label)
            self.sets[position] = (label, dset)
        else:
            position = len(self.sets)
            self.sets.append((label, dset))
            with blocked(self.set_combo):
                self.set_combo.addItem(label)
        if position == self.set_combo.currentIndex():
            self._on_set_chosen(position)  # the same entry with new contents: no signal from the combo
        else:
            self.set_combo.setCurrentIndex(position)
        self._enable(True)

    def _on_set_chosen(self, position: int) -> None:
        self.selected = 0
        for row in self.rows:
            self.row_buttons.removeButton(row.select_button)
            row.deleteLater()
        self.rows = []
        self.shown = 0
        dset = self.dset
        self.more_button.hide()
        if dset is not None:
            self.status.setText(f"{len(dset)} directions ({dset.method}); amounts in sigma")
            self._show_rows(SHOWN_STEP)
        self._mirror()

    def _show_rows(self, count: int) -> None:
        dset = self.dset
        count = min(count, len(dset))
        for index in range(self.shown, count):
            row = DirectionRow(self, index)
            self.row_buttons.addButton(row.select_button)  # exclusive: a click never unselects
            self.list_layout.insertWidget(self.list_layout.indexOf(self.more_button), row)
            self.rows.append(row)
        self.shown = count
        rest = len(dset) - count
        self.more_button.setText(f"Show {min(rest, SHOWN_STEP)} more of {rest}")
        self.more_button.setVisible(rest > 0)
        self._mirror()

    # ---- the session: the sets that cannot be found again (PCA, imports, examples) ------------------------
    def session_json(self) -> list[dict]:
        found_at_open = {SEFA.format(label) for label in ("all rows", *GROUPS)}
        return [{"label": label, "set": dset.to_json()} for label, dset in self.sets if label not in found_at_open]

    def load_session_json(self, data) -> None:
        """Keep a session's sets for its model: shown now if that model is open, else once it opens."""
        if not isinstance(data, list):
            raise StateError("session", "directions must be a list of sets")
        self._restored = [(str(item.get("label", "set")), DirectionSet.from_json(item.get("set"), "session"))
                          for item in data if isinstance(item, dict)]
        info = self.ctx.model_info
        if info is not None:
            self._add_restored(info)

    def _add_restored(self, info) -> None:
        for label, dset in self._restored:
            if dset.model_sha256 in ("", info.sha256) and dset.w_dim == info.w_dim:
                self.add_set(label, dset)
        self._restored = []

    def _on_model_loaded(self, info) -> None:
        """A new model: its own directions only (other sets were found for another W)."""
        self.sets.clear()
        with blocked(self.set_combo):
            self.set_combo.clear()
        self._on_set_chosen(-1)
        self._model_generation += 1
        for handle in self._jobs:  # their sets would be for the model that was open
            handle.cancel()
        self._jobs = []
        self._previews_asked.clear()
        self._previews_shown.clear()
        for thumb in self.previews:
            thumb.clear()
        self._enable(True)
        self.status.setText("Finding SeFa directions\u2026")
        self._sefa_pending = True
        self._add_restored(info)

    def _on_image_shown(self, result) -> None:
        """The model's first image is up: now find its SeFa sets, all rows first (the job's copy of the model
        and its sampling would otherwise compete with the first render)."""
        if not self._sefa_pending:
            return
        self._sefa_pending = False
        self._run("SeFa directions", lambda job, model: sefa_sets_at_open(model, ctx=job), self._add_sefa_sets,
                  lambda sets: f"{len(sets)} sets of {len(sets[0][1])} directions")

    def _add_sefa_sets(self, sets: list[tuple[str, DirectionSet]]) -> None:
        shown = self.set_combo.currentText()
        for label, dset in sets:
            self.add_set(SEFA.format(label), dset)
        index = self.set_combo.findText(shown)  # a restored set stays in front; else SeFa over all rows
        self.set_combo.setCurrentIndex(index if shown and index >= 0 else self.set_combo.findText(SEFA.format("all rows")))

    def _run(self, name: str, fn, show, summary=lambda dset: f"{len(dset)} directions") -> None:
        """A direction-finding job ``fn(job_ctx, model) -> DirectionSet`` (or what ``show`` takes) on a
        private copy of the model; ``show(result)`` lists it when it ends, unless another model was opened
        meanwhile, and ``summary(result)`` says what was found. Progress goes to the status line; a failure
        to the banner, and nothing changes."""
        generation = self._model_generation

        def current() -> bool:
            return generation == self._model_generation

        def done(result) -> None:
            if current():
                show(result)
                self.ctx.show_status(f"{name}: {summary(result)}")

        def failed(text: str) -> None:
            if current():
                self.status.setText(f"{name} failed")
                self.ctx.show_error(text)

        def progress(fraction, message: str) -> None:
            if current():
                self.status.setText(f"{name}: {message}")

        self._jobs.append(self.ctx.run_job(name, fn, on_done=done, on_error=failed, on_progress=progress))

    def compute_pca(self) -> None:
        samples = self.pca_samples.value()
        self._run("PCA directions", lambda job, model: pca_directions(model, samples, PCA_COMPONENTS, ctx=job),
                  lambda dset: self.add_set(f"PCA ({samples:,} samples)", dset))

    def import_file(self, path: str | Path) -> None:
        path = Path(path)
        self._run("Import directions", lambda job, model: import_directions(path, model, ctx=job),
                  lambda dset: self.add_set(path.name, dset))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.ctx.widget, "Import directions", "",
                                              "Direction files (*.npz *.npy *.pt);;All files (*)")
        if path:
            self.import_file(path)

    def add_examples(self, positive: list[int], negative: list[int], name: str, orthogonal: bool = False) -> None:
        """Find a direction from example seeds (in the state's class) and append it to the "Examples" set."""
        others = self.dset.vectors if orthogonal and self.dset is not None else None
        class_idx = self.ctx.state.class_idx

        def find(job, model):
            return example_direction(model, positive, negative, name, class_idx, others, ctx=job)

        def show(dset: DirectionSet) -> None:
            existing = dict(self.sets).get(EXAMPLES)
            self.add_set(EXAMPLES, dset if existing is None else combined(existing, dset))
            self.select(len(self.dset) - 1)

        self._run("Direction from examples", find, show)

    def examples_dialog(self) -> None:
        state = self.ctx.state
        dialog = ExamplesDialog(self.ctx.widget, state.a.seed, state.b.seed, self.dset is not None)
        if dialog.exec() != QDialog.Accepted:
            return
        try:
            positive, negative = dialog.seeds()
        except ExplorerError as exc:
            self.ctx.show_error(str(exc))
            return
        self.add_examples(positive, negative, dialog.name.text().strip() or "examples", dialog.orthogonal.isChecked())

    def save_set(self, path: str | Path) -> bool:
        """Write the shown set to ``path`` (our .npz, atomically); asks before replacing a file."""
        path = Path(path)
        if path.exists() and not self.ctx.ask(f"Replace {path.name}?"):
            return False
        try:
            save_directions(path, self.dset, overwrite=True)
        except (OSError, ExplorerError) as exc:
            self.ctx.show_error(f"{path.name}: cannot save directions: {exc}")
            return False
        self.ctx.show_status(f"{path.name}: {len(self.dset)} directions saved")
        return True

    def save_dialog(self) -> None:
        if self.dset is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.ctx.widget, "Save directions", f"{self.dset.method}.npz",
                                              "Direction files (*.npz)", options=QFileDialog.DontConfirmOverwrite)
        if path:
            self.save_set(path if path.lower().endswith(".npz") else path + ".npz")

    # ---- one direction ------------------------------------------------------------------------------
    def select(self, index: int) -> None:
        self.selected = index
        self._mirror()

    def press(self, index: int) -> None:
        """A direction's slider is pressed: select it, and make the drag one undo step."""
        self.select(index)
        self.ctx.begin_gesture()

    def move_slider(self, index: int, amount: float) -> None:
        """Direction ``index`` to ``amount`` sigma: one undo step per drag (``edit/K/amount``)."""
        self._change(index, "amount", amount, lambda state: with_direction(state, self.dset, index, amount))

    def set_rows(self, index: int, rows: tuple[int, int]) -> None:
        self._change(index, "layers", rows, lambda state: with_direction(state, self.dset, index, rows=rows))

    def _change(self, index: int, field: str, value, add) -> None:
        dset, state = self.dset, self.ctx.state
        if dset is None:
            return
        k = edit_position(state, dset, index)
        if k is not None:
            self.ctx.set_param(f"edit/{k}/{field}", value)
        else:  # the first move adds the edit, under the address later moves use, so a drag merges into one
            name = dset.names[index]
            self.ctx.set_state(add(state), f"{name} {value}", f"edit/{len(state.edits)}/{field}")

    def reset(self, index: int) -> None:
        dset = self.dset
        if dset is not None and edit_position(self.ctx.state, dset, index) is not None:
            self.ctx.set_state(without_direction(self.ctx.state, dset, index), f"Reset {dset.names[index]}")

    def _rename(self) -> None:
        dset, name = self.dset, self.name_edit.text().strip()
        if dset is None or not name or name == dset.names[self.selected]:
            return
        position = self.set_combo.currentIndex()
        self.sets[position] = (self.sets[position][0], renamed(dset, self.selected, name))
        state = with_set_names(self.ctx.state, self.dset)
        if state != self.ctx.state:
            self.ctx.set_state(state, f"Rename {dset.names[self.selected]} to {name}")
        self._mirror()

    def _group_rows(self, group: str) -> tuple[int, int]:
        info = self.ctx.model_info
        rows = list(range(info.num_ws)) if group == "all" else rows_in_group(info.rows, group)
        return min(rows), max(rows)

    # ---- mirroring the state ------------------------------------------------------------------------
    def _mirror(self) -> None:
        """Show the state's edits of the shown set in the sliders, the selected direction's range and name,
        and ask for the previews that changed."""
        dset, info = self.dset, self.ctx.model_info
        if dset is None or info is None:
            self.detail.setEnabled(False)
            self.other_edits.hide()
            return
        edits = set_edits(self.ctx.state, dset)
        others = len(self.ctx.state.edits) - len(edits)
        self.other_edits.setText(f"+ {others} edit{'s' if others > 1 else ''} from other sets in the image")
        self.other_edits.setVisible(others > 0)
        for row in self.rows:
            edit = edits.get(row.index)
            row.show_direction(dset.names[row.index], None if edit is None else edit.amount, row.index == self.selected)
        i = self.selected
        edit = edits.get(i)
        rows = (edit.rows or (0, info.num_ws - 1)) if edit is not None else dset.rows(i)
        self.detail.setEnabled(True)
        self.detail.setTitle(f"{dset.names[i]} (direction {i}, sigma {float(dset.sigmas[i]):.3g})")
        if not self.name_edit.hasFocus():
            self.name_edit.setText(dset.names[i])
        if self.range_slider.maximum() != info.num_ws - 1:
            self.range_slider.set_bounds(0, info.num_ws - 1)
            groups = [row.group for row in info.rows]
            self.range_slider.set_step_shades([GROUP_SHADES[g] for g in groups])
        self.range_slider.set_values(*rows)
        self.range_label.setText(f"{rows[0]}-{rows[1]}")
        self.reset_button.setEnabled(edit is not None)
        self._ask_previews(i, rows)

    def _ask_previews(self, index: int, rows: tuple[int, int]) -> None:
        state = self.ctx.state
        for slot, amount in enumerate(PREVIEW_AMOUNTS):
            preview = with_direction(state, self.dset, index, amount, rows)
            if self._previews_asked.get(slot) != preview:
                self._previews_asked[slot] = preview
                self.ctx.request_render(preview, f"{PREVIEW_KEY}{slot}")

    def _on_rendered(self, result) -> None:
        if not result.key.startswith(PREVIEW_KEY):
            return
        slot = int(result.key[len(PREVIEW_KEY):])
        if self._previews_asked.get(slot) == result.state:  # not a result for an earlier selection
            self.previews[slot].set_array(result.image)
            self._previews_shown[slot] = result.state

    def previews_current(self) -> bool:
        """Whether every preview shows the state last asked for (a new selection or range re-asks)."""
        return bool(self._previews_asked) and self._previews_shown == self._previews_asked


def install(ctx) -> DirectionsDock:
    dock = DirectionsDock(ctx)
    ctx.add_dock(dock, "Directions", "directionsDock", area="right", scroll=False)
    ctx.register_session_part("directions", dock.session_json, dock.load_session_json)
    return dock
