"""Hostile and broken model files: every reader refuses them in one line, in bounded time and memory,
and nothing in them runs.

Crafted regression cases for each class of attack (aliased containers, huge dimensions and declared
lengths, wrong dtypes, meta tensors, calls outside the allow-list), then seeded fuzzing of every reader
(byte flips, truncations, splices of real files) asserting that only ExplorerError escapes.
"""

from __future__ import annotations

import errno
import io
import pickle
import random
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_safetensors

import explorer.fileio
import explorer.formats
from explorer.cli import main
from explorer.errors import CorruptModel, ExplorerError, ModelError, UnsafeModel, UnsupportedArchitecture
from explorer.formats import BUNDLED_MODEL, build_model, native, read_model_data
from explorer.formats.nvidia_pickle import safe_load
from test_formats_tf_rosinality import (random_generator, rosinality_state_from, sg2_config, tf_static_kwargs,
                                        tf_variables_from, write_tf_pickle)
from test_nvidia_pickle import FakeGlobal, _Reduce, nvidia_dumps

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"
SG2 = FIXTURES / "sg2-skip-32.pkl"
MEMORY_CAP = 256 * 2**20  # what any one refusal may allocate (tracemalloc peak)


@pytest.fixture(autouse=True)
def unexpected_errors_surface(monkeypatch):
    """A reader's programming error must fail these tests, not hide behind the dispatch boundary."""
    monkeypatch.setattr(explorer.formats, "RAISE_UNEXPECTED", True)


def write(tmp_path: Path, data: bytes, name: str = "model.pkl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refuse(path: Path, kind: type[ModelError] = ModelError, *words: str) -> ModelError:
    """Read ``path`` through the loader (read + build) and return the one-line refusal."""
    with pytest.raises(kind) as info:
        build_model(read_model_data(path), path)
    message = str(info.value)
    assert message.startswith(path.name) and "\n" not in message, message
    for word in words:
        assert word in message, message
    return info.value


def snapshot():
    return safe_load(SG2)


# ------------------------------------------------------------------------------------------------------
# pickle-level resources


def test_list_that_contains_itself_is_refused(tmp_path):
    loop: list = []
    loop.append(loop)
    refuse(write(tmp_path, pickle.dumps({"G_ema": loop}, protocol=4)), CorruptModel, "nests deeper")


def test_exponentially_aliased_lists_are_refused_quickly(tmp_path):
    level: list = [0]
    for _ in range(60):  # 2**60 paths through 60 small lists: a recursive walk would never finish
        level = [level, level]
    raw = pickle.dumps({"G_ema": level}, protocol=4)
    assert len(raw) < 2000
    refuse(write(tmp_path, raw), CorruptModel, "object graph")


@pytest.mark.parametrize("opcode", [pickle.BINBYTES8, pickle.BINUNICODE8, pickle.BYTEARRAY8, pickle.FRAME])
def test_declared_lengths_beyond_the_file_are_refused(tmp_path, opcode):
    raw = b"\x80\x05" + opcode + struct.pack("<Q", 2**60) + b"x" * 16
    tracemalloc.start()
    try:
        refuse(write(tmp_path, raw), CorruptModel, "bytes")
        assert tracemalloc.get_traced_memory()[1] < MEMORY_CAP
    finally:
        tracemalloc.stop()


def test_deeply_nested_tuple_as_dict_key_is_refused(tmp_path):
    raw = b"\x80\x04}" + b"N" + b"\x85" * 200_000 + b"Ns."  # {((((None,),),)...): None}
    refuse(write(tmp_path, raw), UnsafeModel, "dict key")


def test_too_many_open_marks_are_refused(tmp_path):
    refuse(write(tmp_path, b"\x80\x04" + b"(" * 5000), CorruptModel, "MARK")


def test_reduce_on_data_and_globals_outside_the_allow_list(tmp_path):
    refuse(write(tmp_path, b"\x80\x04X\x01\x00\x00\x00a)R.", "r.pkl"), UnsafeModel, "refused to call a str")
    for module, name in (("os", "system"), ("builtins", "eval"), ("torch", "load"), ("torch.jit", "load"),
                         ("builtins", "getattr"), ("torch.serialization", "load")):
        raw = nvidia_dumps({"G_ema": _Reduce(FakeGlobal(module, name), "touch MARKER")})
        refuse(write(tmp_path, raw, f"{name}.pkl"), UnsafeModel, f"'{module}.{name}'")
    # INST names its class inline (protocol 0): the same allow-list applies.
    refuse(write(tmp_path, b"\x80\x02(S'touch x'\nios\nsystem\n.", "inst.pkl"), UnsafeModel, "os.system")
    assert not Path("MARKER").exists() and not Path("x").exists()


# ------------------------------------------------------------------------------------------------------
# configs and tensors


@pytest.mark.parametrize("field, value, words", [
    ("z_dim", 10**9, ("z_dim", "0..8192")),
    ("w_dim", -1, ("w_dim",)),
    ("img_resolution", 2**40, ("img_resolution",)),
    ("c_dim", True, ("c_dim",)),
])
def test_absurd_dimensions_are_refused_before_building(tmp_path, field, value, words):
    snap = snapshot()
    snap["G_ema"].state["_init_kwargs"][field] = value
    snap["G_ema"].state.pop(field, None)
    snap["G_ema"].state.pop("num_ws", None)  # so that the bounds, not the num_ws cross-check, speak
    refuse(write(tmp_path, nvidia_dumps(snap)), ModelError, *words)


def test_parameter_budget_is_checked_before_allocation(tmp_path):
    snap = snapshot()
    kwargs = snap["G_ema"].state["_init_kwargs"]
    kwargs["channel_base"], kwargs["channel_max"] = 2**24, 16384  # 16384 channels at every resolution
    with torch.device("meta"):
        torch.randn(1)  # the first meta-device op imports torch's reference kernels: not the model's memory
    tracemalloc.start()
    try:
        refuse(write(tmp_path, nvidia_dumps(snap)), UnsupportedArchitecture, "parameters")
        assert tracemalloc.get_traced_memory()[1] < MEMORY_CAP
    finally:
        tracemalloc.stop()


def test_mapping_layers_and_tensor_valued_kwargs_name_the_field(tmp_path):
    snap = snapshot()
    snap["G_ema"].state["_init_kwargs"]["mapping_kwargs"]["num_layers"] = 10**6
    refuse(write(tmp_path, nvidia_dumps(snap), "layers.pkl"), ModelError, "num_layers")
    snap = snapshot()
    snap["G_ema"].state["_init_kwargs"]["channel_max"] = torch.ones(3)
    refuse(write(tmp_path, nvidia_dumps(snap), "tensor.pkl"), ModelError, "channel_max")


def test_non_float_tensor_is_refused_naming_it(tmp_path):
    snap = snapshot()
    const = snap["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b4"].state["_parameters"]
    const["const"] = const["const"].to(torch.int32)
    refuse(write(tmp_path, nvidia_dumps(snap)), CorruptModel, "synthesis.b4.const", "int32")


def _rosinality_file(tmp_path: Path, name: str = "r.pt", **changes) -> Path:
    config = sg2_config(z_dim=32, w_dim=32)
    state = rosinality_state_from(random_generator(config), config)
    state.update(changes)
    path = tmp_path / name
    torch.save({"g_ema": state, "latent_avg": torch.zeros(32)}, path)
    return path


def test_rosinality_meta_and_expanded_tensors_are_refused(tmp_path):
    refuse(_rosinality_file(tmp_path, "meta.pt", **{"conv1.activate.bias": torch.empty(32, device="meta")}),
           CorruptModel, "conv1.activate.bias", "meta")
    # One stored value claiming a 10**5 x 10**5 mapping layer: refused by the bounds, never reshaped.
    huge = torch.zeros(1).expand(100_000, 100_000)
    tracemalloc.start()
    try:
        refuse(_rosinality_file(tmp_path, "wide.pt", **{"style.1.weight": huge}), ModelError, "dim")
        assert tracemalloc.get_traced_memory()[1] < MEMORY_CAP
    finally:
        tracemalloc.stop()


def test_rosinality_compressed_zip_is_refused(tmp_path):
    path = _rosinality_file(tmp_path)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            dst.writestr(entry.filename, src.read(entry))
    refuse(bomb, CorruptModel, "compressed")


# ------------------------------------------------------------------------------------------------------
# native .safetensors


def _native_with_header(tmp_path: Path, header: bytes, name: str) -> Path:
    return write(tmp_path, struct.pack("<Q", len(header)) + header + b"\x00" * 8, name)


def test_native_bad_header_bytes(tmp_path):
    refuse(_native_with_header(tmp_path, b'{"\xff\xfe": 1}', "utf8.safetensors"), CorruptModel, "UTF-8")
    refuse(_native_with_header(tmp_path, b"[" * 100_000 + b"]" * 100_000, "deep.safetensors"), ModelError)
    refuse(_native_with_header(tmp_path, b'{"__metadata__": [1, 2]}', "list.safetensors"), CorruptModel)
    huge = write(tmp_path, struct.pack("<Q", 2**62) + b"{" + b" " * 64, "len.safetensors")
    refuse(huge, ModelError)  # content sniffing already says it is no safetensors file
    with pytest.raises(CorruptModel, match="declares"):
        native.read_metadata(huge)


def _native(tmp_path: Path, name: str, config: dict, tensors: dict, networks: str | None = None) -> Path:
    metadata = {"format": native.FORMAT_NAME, "format_version": native.FORMAT_VERSION, "config": "{}",
                "networks": networks if networks is not None else __import__("json").dumps({"G_ema": config}),
                "provenance": "{}"}
    prefixed = {f"G_ema.{k}": v.contiguous() for k, v in tensors.items()}
    return write(tmp_path, save_safetensors(prefixed, metadata=metadata), name)


def test_native_wrong_dtypes_configs_and_offsets(tmp_path):
    data = read_model_data(BUNDLED_MODEL)
    ints = dict(data.tensors, **{"mapping.w_avg": data.tensors["mapping.w_avg"].to(torch.int64)})
    refuse(_native(tmp_path, "int.safetensors", data.config, ints), CorruptModel, "mapping.w_avg", "int64")
    wide = dict(data.config, w_dim=10**8)
    refuse(_native(tmp_path, "wide.safetensors", wide, data.tensors), UnsupportedArchitecture, "w_dim")
    refuse(_native(tmp_path, "nets.safetensors", data.config, data.tensors, networks="[1]"), CorruptModel,
           "networks")
    good = _native(tmp_path, "good.safetensors", data.config, data.tensors).read_bytes()
    size = int.from_bytes(good[:8], "little")
    header = good[8:8 + size].replace(b'"data_offsets":[0,', b'"data_offsets":[1,', 1)
    assert header != good[8:8 + size]
    refuse(write(tmp_path, good[:8] + header + good[8 + size:], "offsets.safetensors"), CorruptModel)


# ------------------------------------------------------------------------------------------------------
# convert


def test_convert_validates_like_the_loaders_and_writes_nothing(tmp_path, capsys):
    data = read_model_data(BUNDLED_MODEL)
    empty = _native(tmp_path, "empty.safetensors", data.config, {})
    out = tmp_path / "out.safetensors"
    assert main(["info", str(empty)]) == 2
    assert main(["convert", str(empty), str(out)]) == 2
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    assert "missing" in capsys.readouterr().err


def test_convert_force_onto_a_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "out.safetensors"
    folder.mkdir()
    assert main(["convert", str(SG2), str(folder), "--force"]) == 2
    err = capsys.readouterr().err
    assert "folder" in err and err.count("\n") == 1


def test_convert_on_a_full_disk_keeps_the_previous_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.safetensors"
    out.write_bytes(b"previous")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(explorer.fileio.os, "fsync", full)
    assert main(["convert", str(SG2), str(out), "--force"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and err.count("\n") == 1
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.safetensors"]


# ------------------------------------------------------------------------------------------------------
# fuzzing: seeded mutants of real files through every reader


def _mutants(data: bytes, seed: int, count: int):
    rng = random.Random(seed)
    for i in range(count):
        buf = bytearray(data)
        kind = i % 4
        if kind == 0:  # byte flips
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == 1:  # truncation
            del buf[rng.randrange(1, len(buf)):]
        elif kind == 2:  # splice: a chunk of the file copied over another place
            n = rng.randint(1, 256)
            a, b = rng.randrange(len(buf) - n), rng.randrange(len(buf) - n)
            buf[b:b + n] = data[a:a + n]
        else:  # a length field blown up: 8 bytes of 0xff somewhere in the first kilobytes
            at = rng.randrange(min(len(buf) - 8, 4096))
            buf[at:at + 8] = b"\xff" * 8
        yield bytes(buf)


def _fuzz(tmp_path: Path, source: bytes, suffix: str, seed: int, count: int) -> None:
    tracemalloc.start()
    try:
        for i, mutant in enumerate(_mutants(source, seed, count)):
            path = write(tmp_path, mutant, f"mutant{i}{suffix}")
            tracemalloc.reset_peak()
            try:
                build_model(read_model_data(path), path)
            except ExplorerError as exc:
                assert "\n" not in str(exc) and str(exc).startswith(path.name), str(exc)
            peak = tracemalloc.get_traced_memory()[1]
            assert peak < MEMORY_CAP + 4 * len(source), f"mutant {i}: {peak:,} bytes"
            path.unlink()
    finally:
        tracemalloc.stop()


def _small_nvidia_pickle() -> bytes:
    snap = snapshot()
    return nvidia_dumps({"G_ema": snap["G_ema"]})


def test_fuzz_nvidia_pickle(tmp_path):
    _fuzz(tmp_path, _small_nvidia_pickle(), ".pkl", seed=1, count=24)


def test_fuzz_native(tmp_path):
    _fuzz(tmp_path, BUNDLED_MODEL.read_bytes(), ".safetensors", seed=2, count=24)


def test_fuzz_tf_pickle(tmp_path):
    config = sg2_config()
    path = write_tf_pickle(tmp_path / "tf.pkl", tf_static_kwargs(config),
                           *tf_variables_from(random_generator(config), config))
    _fuzz(tmp_path, path.read_bytes(), ".pkl", seed=3, count=24)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_fuzz_rosinality(tmp_path, legacy):
    config = sg2_config(z_dim=32, w_dim=32)
    buffer = io.BytesIO()
    state = rosinality_state_from(random_generator(config), config)
    torch.save({"g_ema": state, "latent_avg": torch.zeros(32)}, buffer, _use_new_zipfile_serialization=not legacy)
    _fuzz(tmp_path, buffer.getvalue(), ".pt", seed=4 + legacy, count=24)


def test_rosinality_legacy_storage_declaring_more_than_the_file_is_refused(tmp_path):
    buffer = io.BytesIO()
    torch.save({"g_ema": {"w": torch.zeros(4)}}, buffer, _use_new_zipfile_serialization=False)
    raw = buffer.getvalue()
    at = raw.index(b"K\x04", raw.index(b"cpu"))  # the storage record's element count, 4
    path = write(tmp_path, raw[:at] + b"J\x00\x00\x00\x40" + raw[at + 2:], "legacy.pt")  # 2**30 elements
    refuse(path, CorruptModel, "declares")
