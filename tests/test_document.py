"""The Qt-free document rules: fitting a state to another model, and parameter assignments."""

import subprocess
import sys
from pathlib import Path

import pytest

from explorer.engine.document import apply_assignments, fit_state
from explorer.engine.state import Blend, Edit, Latent, State
from explorer.errors import ExplorerError, ParamError, StateError
from explorer.formats import load_model


@pytest.fixture(scope="module")
def sg3():
    return load_model(Path(__file__).parent / "fixtures" / "nvidia" / "sg3t-32.pkl").generator


def test_a_switch_keeps_seeds_psi_fitting_edits_and_the_blend_and_says_what_changed(sg3):
    fits = Edit(vector=(1.0,) * sg3.w_dim, amount=1.0)
    misfit = Edit(vector=(1.0,) * (sg3.w_dim + 1), amount=1.0)
    state = State(a=Latent(seed=7, w_plus=((0.0,) * 3,) * 2), b=Latent(seed=9), psi=0.6, class_idx=4,
                  mix=(0.0,) * sg3.num_ws + (1.0, 1.0), cutoff=99, edits=(fits, misfit),
                  blend=Blend(model="b.pkl"))
    fitted = fit_state(state, sg3)
    s = fitted.state
    assert (s.a, s.b.seed, s.psi) == (Latent(seed=7), 9, 0.6)
    assert s.class_idx == 0 and len(s.mix) == sg3.num_ws and s.cutoff is None
    assert s.edits == (fits,) and s.blend == Blend(model="b.pkl")
    assert len(fitted.notes) == 4 and any("class 4" in n for n in fitted.notes)


def test_a_state_that_fits_is_left_alone(sg3):
    state = State(psi=0.5, mix=(1.0,) * sg3.num_ws)
    assert fit_state(state, sg3).state is state and fit_state(state, sg3).notes == ()


def test_assignments_go_through_the_registry(sg3):
    state = apply_assignments(State(), sg3, ["rotate=45", "mix/2=0.5"])
    assert state.rotate == 45.0 and state.mix[2] == 0.5
    with pytest.raises(ParamError, match="rotate: must be within -360..360"):
        apply_assignments(State(), sg3, ["rotate=400"])


def test_the_document_rules_import_without_qt():
    code = ("import sys; sys.modules['PySide6'] = None\n"
            "import explorer.engine.document, explorer.engine.params, explorer.engine.jobs\n"
            "assert not any(m.startswith('PySide6.') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- the Document and its history, driven without a window -----------------------------------------------
class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_one_control_within_a_gesture_is_one_step_and_a_pause_ends_it():
    from explorer.engine.history import GESTURE_GAP_S, History

    values, clock = [], Clock()
    history = History(values.append, clock=clock)
    for v in (1, 2, 3):  # a burst on one control
        clock.now += 0.1
        history.push(v - 1, v, f"x {v}", "x")
    assert len(history) == 1 and history.undo_text == "x 3"
    clock.now += GESTURE_GAP_S + 0.1  # a pause ends the gesture
    history.push(3, 4, "x 4", "x")
    history.push(4, 5, "y 5", "y")  # another control
    assert len(history) == 3
    history.undo(), history.undo(), history.undo()
    assert values[-1] == 0 and not history.can_undo and history.redo_text == "x 3"
    history.redo()
    assert values[-1] == 3


def test_a_held_control_never_times_out_and_a_gesture_back_to_the_start_is_dropped():
    from explorer.engine.history import GESTURE_GAP_S, History

    clock = Clock()
    history = History(lambda v: None, clock=clock)
    history.begin_gesture()
    history.push(0, 1, "x", "x")
    clock.now += 10 * GESTURE_GAP_S
    history.push(1, 0, "x", "x")  # dragged back to where it began
    history.end_gesture()
    assert len(history) == 0
    history.push(0, 1, "x", "x")
    history.undo()
    history.push(0, 2, "x", "x")  # after an undo, a new step (the redo is gone)
    assert len(history) == 1 and not history.can_redo


def test_document_set_param_open_model_and_listeners(sg3):
    from explorer.engine.describe import describe_generator
    from explorer.engine.document import Document

    seen = []
    document = Document(State(class_idx=3, psi=0.7))
    document.add_listener(lambda old, new: seen.append((old, new)))
    with pytest.raises(ExplorerError, match="no model is open"):
        document.set_param("psi", 0.5)
    notes = document.open_model(describe_generator(sg3), assignments=["mix/1=1"])
    assert document.state.class_idx == 0 and document.state.mix[1] == 1.0 and notes
    assert len(document.history) == 0  # opening a model is not undoable
    document.set_param("psi", 0.5)
    document.set_param("psi", 0.6)  # the same address, the same gesture: one step
    assert document.state.psi == 0.6 and len(document.history) == 1
    assert document.history.undo_text.endswith("0.6")
    with pytest.raises(ParamError):
        document.set_param("psi", 9.0)
    assert document.state.psi == 0.6
    document.history.undo()
    assert document.state.psi == 0.7 and seen[-1][1] is document.state


def test_document_session_parts_round_trip_and_a_bad_part_is_one_line():
    from explorer.engine.document import Document
    from explorer.engine.session import parse_session

    kept = {}
    document = Document(State(psi=0.4))
    document.register_part("timeline", lambda: {"keys": 2}, lambda v: kept.update(timeline=v))
    document.register_part("favourites", lambda: [1], lambda v: kept.update(favourites=v))

    def refuse(value):
        raise StateError("x.json", "damaged")

    document.register_part("broken", lambda: "x", refuse)
    session = parse_session(document.session("/m.pkl").to_json())
    assert session.model == "/m.pkl" and session.state.psi == 0.4
    errors = document.restore_parts(session)
    assert kept == {"timeline": {"keys": 2}, "favourites": [1]}
    assert len(errors) == 1 and errors[0].startswith("session broken:")


def test_recipe_plans_follow_the_opening_rules(sg3, tmp_path):
    from dataclasses import replace

    from explorer.engine.describe import describe_generator
    from explorer.engine.opening import APPLY, ASK_APPLY, ASK_OPEN, REFUSE, plan_recipe
    from explorer.engine.recipe import Recipe

    model = replace(describe_generator(sg3), path=Path("/m/a.pkl"), sha256="aa")
    recipe = Recipe(State(), "a.pkl", "aa", "nvidia")
    assert plan_recipe("x.png", recipe, model, []).action == APPLY
    assert plan_recipe("x.png", replace(recipe, model_sha256="bb"), model, []).action == ASK_APPLY
    other = replace(recipe, model_file="b.pkl", model_sha256="bb")
    plan = plan_recipe("x.png", other, model, ["/r/b.pkl"])
    assert plan.action == ASK_OPEN and plan.model_path == "/r/b.pkl" and plan.then.action == ASK_APPLY
    assert plan_recipe("x.png", other, None, ["/r/b.pkl"]).then is None
    refused = plan_recipe("x.png", other, None, [])
    assert refused.action == REFUSE and "b.pkl" in refused.message


def test_startup_plan(tmp_path):
    from explorer.engine.opening import plan_startup
    from explorer.engine.session import Session

    model = tmp_path / "m.pkl"
    model.write_bytes(b"")
    session = Session(model=str(model), state=State(psi=0.3))
    assert plan_startup(model, session, []).state == State(psi=0.3)  # the same file: its last state
    assert plan_startup(tmp_path / "other.pkl", session, []).state is None
    assert plan_startup(None, session, []).action == "restore"
    assert plan_startup(None, Session(model=str(tmp_path / "gone.pkl")), [None, model]).model_path == str(model)
    assert plan_startup(None, None, [tmp_path / "gone.pkl"]).action == "welcome"
