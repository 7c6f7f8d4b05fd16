"""The Qt-free document rules: fitting a state to another model, and parameter assignments."""

import subprocess
import sys
from pathlib import Path

import pytest

from explorer.engine.document import apply_assignments, fit_state
from explorer.engine.state import Blend, Edit, Latent, State
from explorer.errors import ParamError
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
