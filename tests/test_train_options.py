"""The one schema of `explorer train`'s options: parser, validation, command line and JSON agree."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.errors import UsageError
from explorer.train.options import TrainOptions, build_parser


def _value(meta):
    if meta.kind == "bool":
        return st.booleans()
    if meta.kind == "choice":
        return st.sampled_from(meta.choices)
    if meta.kind == "path":
        return st.sampled_from([Path("/data/a b.zip"), Path("runs"), Path("/x/y")])
    if meta.kind == "text":
        return st.sampled_from(["run-1", "a.b_c"])
    if meta.kind == "list":
        return st.sampled_from([("fid50k_full",), ("fid10", "kid2k")])
    if meta.power_of_two:
        return st.sampled_from([4, 64, 4096])
    low = meta.low if meta.low is not None else 0
    if meta.kind == "int":
        return st.integers(int(low) + (1 if meta.above else 0), int(min(meta.high, 10**6)))
    return st.floats(low, min(meta.high, 1e6), exclude_min=meta.above, allow_nan=False)


@st.composite
def train_options(draw):
    values = {}
    for f in fields(TrainOptions):
        meta = f.metadata["option"]
        if meta.required or draw(st.booleans()):
            values[f.name] = draw(_value(meta))
    return TrainOptions(**values)


@settings(max_examples=60, deadline=None)
@given(train_options())
def test_argv_and_json_round_trip(options):
    assert TrainOptions.from_argv(options.to_argv()) == options
    assert TrainOptions(**{k: v for k, v in options.to_json().items()}) == options


@pytest.mark.parametrize("argv, message", [
    (["--gpus", "0"], "--gpus 0: must be at least 1"),
    (["--kimg", "0"], "--kimg 0: must be above 0"),
    (["--target", "1.5"], "--target 1.5: must be between 0 and 1"),
    (["--seed", "-1"], "--seed -1"),
    (["--resolution", "48"], "not a power of two"),
    (["--desc", "../../escape"], "it names a folder"),
    (["--metrics", "fid1"], "at least 2 images"),
    (["--cfg", "huge"], "invalid choice"),
    (["--batch", "many"], "invalid int value"),
])
def test_absurd_values_are_one_line_errors(argv, message):
    with pytest.raises(UsageError) as info:
        TrainOptions.from_argv(["--data", "d", "--outdir", "o", *argv])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_parser_is_generated_from_the_schema():
    flags = {a.option_strings[0] for a in build_parser()._actions if a.option_strings} - {"-h"}
    assert flags == {"--" + f.name.replace("_", "-") for f in fields(TrainOptions)}
