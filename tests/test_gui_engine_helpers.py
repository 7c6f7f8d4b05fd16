"""The Qt-free helpers the window relies on (explorer.engine.layers / seeds / session)."""

from __future__ import annotations

import json

import pytest

from explorer.engine.latents import lattice_seeds
from explorer.engine.layers import rows_in_group, style_rows
from explorer.engine.seeds import pad_latent, pad_position, random_seed, step_seed
from explorer.engine.session import Session, load_session, save_session
from explorer.engine.state import MAX_SEED, Latent, State
from explorer.errors import StateError
from explorer.models import LayerInfo


def sg2_layer_infos(resolution: int) -> list[LayerInfo]:
    """The layer list of a StyleGAN2 generator (b4.conv1, b4.torgb, b8.conv0, ...), as its layer_infos()."""
    infos = [LayerInfo("b4.conv1", 0, 4, 512), LayerInfo("b4.torgb", 1, 4, 3)]
    w, res = 1, 8
    while res <= resolution:
        infos += [LayerInfo(f"b{res}.conv0", w, res, 512), LayerInfo(f"b{res}.conv1", w + 1, res, 512),
                  LayerInfo(f"b{res}.torgb", w + 2, res, 3)]
        w += 2
        res *= 2
    return infos


def test_1024_groups_are_the_papers():
    rows = style_rows(sg2_layer_infos(1024), 18)
    by_group = {g: sorted({rows[i].resolution for i in rows_in_group(rows, g)}) for g in ("coarse", "middle", "fine")}
    assert by_group == {"coarse": [4, 8], "middle": [16, 32], "fine": [64, 128, 256, 512, 1024]}
    assert rows[0].layers == ("b4.conv1",) and rows[1].layers == ("b8.conv0", "b4.torgb")
    assert rows[17].resolution == 1024 and rows[17].group == "fine"


@pytest.mark.parametrize("resolution,num_ws", [(32, 8), (256, 14), (512, 16)])
def test_groups_scale_to_smaller_models(resolution, num_ws):
    rows = style_rows(sg2_layer_infos(resolution), num_ws)
    assert len(rows) == num_ws
    groups = [r.group for r in rows]
    assert groups == sorted(groups, key=("coarse", "middle", "fine").index)  # coarse first, fine last
    assert {"coarse", "fine"} <= set(groups)


def test_seed_helpers():
    assert 0 <= random_seed() <= MAX_SEED
    assert step_seed(0, -1) == MAX_SEED and step_seed(MAX_SEED, 1) == 0
    for x, y in [(5.3, 0.7), (-0.3, 0.0), (12.5, -1.25), (3.0, 0.0)]:
        latent = pad_latent(x, y)
        assert abs(latent.offset[0]) <= 0.5 and abs(latent.offset[1]) <= 0.5
        same = sorted(lattice_seeds(latent.seed, latent.offset))
        direct = sorted(lattice_seeds(0, (x, y)))
        assert [s for s, _ in same] == [s for s, _ in direct]
        assert [w for _, w in same] == pytest.approx([w for _, w in direct])
    assert pad_latent(5.4, 0.2, snap=True) == Latent(seed=5)
    assert pad_position(Latent(seed=7, offset=(0.25, -0.5))) == (7.25, -0.5)


def test_session_round_trip_keeps_unknown_parts(tmp_path):
    path = tmp_path / "session.json"
    session = Session(model="/models/a.pkl", state=State(a=Latent(seed=9), psi=0.5),
                      timeline={"keys": [1, 2]}, extra={"future": True})
    save_session(path, session)
    again = load_session(path)
    assert again == session
    bare = tmp_path / "state.json"
    bare.write_text(State(a=Latent(seed=3)).dumps())
    assert load_session(bare) == Session(None, State(a=Latent(seed=3)))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"version": 99, "state": {}}))
    with pytest.raises(StateError, match="broken.json"):
        load_session(broken)


@pytest.mark.parametrize("resolution,num_ws,expected", [
    (64, 10, {"coarse": [4, 8], "middle": [16, 32], "fine": [64]}),  # the bundled model: rows 0-2 / 3-6 / 7-9
    (128, 12, {"coarse": [4, 8], "middle": [16, 32], "fine": [64, 128]}),
    (32, 8, {"coarse": [4], "middle": [8], "fine": [16, 32]}),
])
def test_small_models_get_every_group_on_their_own_ladder(resolution, num_ws, expected):
    rows = style_rows(sg2_layer_infos(resolution), num_ws)
    by_group = {g: sorted({rows[i].resolution for i in rows_in_group(rows, g)}) for g in ("coarse", "middle", "fine")}
    assert by_group == expected
