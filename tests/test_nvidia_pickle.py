"""NVIDIA network pickles: the fixtures read correctly, and nothing in a pickle ever runs.

Malicious pickles are built here, in the test, and every one of them would create a marker file if any
part of it were executed; each test checks that the marker does not exist afterwards.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import types
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

import explorer.formats
from explorer.errors import CorruptModel, NotAModel, UnsafeModel, UnsupportedArchitecture
from explorer.formats import nvidia_pickle, read_model_data
from explorer.formats.nvidia_pickle import EasyDict, PersistentNode, TFNetworkStub, safe_load

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"
NAMES = ("sg2-skip-32", "sg2-cond-32", "sg3t-32")


# ------------------------------------------------------------------------------------------------------
# helpers: an NVIDIA-style pickler that can name any global without importing it


class FakeGlobal:
    """Pickles as the global ``module.name`` (nothing is imported); used to craft NVIDIA-like files."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # save_reduce insists that the callable is callable
        raise AssertionError("never called")


RECONSTRUCT = FakeGlobal("torch_utils.persistence", "_reconstruct_persistent_obj")


class NvidiaStylePickler(pickle._Pickler):
    """Writes PersistentNodes back the way NVIDIA's persistence does, EasyDicts as dnnlib's; tensors as torch."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_fake_global(self, obj: FakeGlobal) -> None:
        if self.proto >= 4:
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[FakeGlobal] = save_fake_global

    def reducer_override(self, obj):
        if isinstance(obj, PersistentNode):
            meta = {"type": "class", "version": obj.version, "module_src": obj.module_src,
                    "class_name": obj.class_name, "state": obj.state}
            return RECONSTRUCT, (meta,)
        if type(obj) is EasyDict:
            return FakeGlobal("dnnlib.util", "EasyDict"), (), None, None, iter(obj.items())
        if type(obj) is TFNetworkStub:
            return FakeGlobal("dnnlib.tflib.network", "Network"), (), dict(obj)
        return NotImplemented


def nvidia_dumps(obj, protocol: int = 4) -> bytes:
    buffer = io.BytesIO()
    NvidiaStylePickler(buffer, protocol=protocol).dump(obj)
    return buffer.getvalue()


def write(tmp_path: Path, data: bytes, name: str = "model.pkl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.pkl"


# ------------------------------------------------------------------------------------------------------
# the fixtures


def _mapping_reference(tensors: dict, config: dict, z: np.ndarray, c: np.ndarray | None, psi: float) -> torch.Tensor:
    """NVIDIA's mapping network written out (FC: weight * lr/sqrt(in), bias * lr, lrelu * sqrt 2)."""

    def norm2(x):
        return x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()

    def fc(x, name, lr, act):
        weight, bias = tensors[f"{name}.weight"], tensors[f"{name}.bias"]
        x = x @ (weight * (lr / weight.shape[1] ** 0.5)).t() + bias * lr
        return torch.nn.functional.leaky_relu(x, 0.2) * 2**0.5 if act else x

    x = norm2(torch.from_numpy(z).float())
    if config["c_dim"]:
        y = norm2(fc(torch.from_numpy(c).float(), "mapping.embed", 1.0, False))
        x = torch.cat([x, y], dim=1)
    for i in range(config["mapping_kwargs"]["num_layers"]):
        x = fc(x, f"mapping.fc{i}", 0.01, True)
    w_avg = tensors["mapping.w_avg"]
    return w_avg + psi * (x - w_avg)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_reads_with_right_config_and_tensors(name):
    ref = json.loads((FIXTURES / f"{name}.ref.json").read_text())
    data = nvidia_pickle.read(fixture(name))
    config = data.config
    assert data.source_format == "nvidia-pickle"
    assert json.loads(json.dumps(config)) == config  # plain JSON types only
    for key in ("z_dim", "w_dim", "c_dim", "img_resolution"):
        assert config[key] == ref[key]
    assert config["img_channels"] == 3
    assert set(config) == {"arch", "z_dim", "c_dim", "w_dim", "img_resolution", "img_channels",
                           "mapping_kwargs", "synthesis_kwargs"}
    t = data.tensors
    w = config["w_dim"]
    assert all(v.dtype == torch.float32 for v in t.values())
    assert t["mapping.w_avg"].shape == (w,)
    assert t["mapping.fc0.weight"].shape == (w, config["z_dim"] + (w if config["c_dim"] else 0))
    if config["arch"] == "stylegan2":
        num_ws = 2 * 5 - 2  # 2 log2(R) - 2 at R = 32
        syn = config["synthesis_kwargs"]
        channels = {r: min(syn["channel_base"] // r, syn["channel_max"]) for r in (4, 8, 16, 32)}
        assert channels == {4: 64, 8: 64, 16: 64, 32: 32}
        assert t["synthesis.b4.const"].shape == (channels[4], 4, 4)
        assert t["synthesis.b4.conv1.noise_strength"].shape == ()
        for r in (8, 16, 32):
            assert t[f"synthesis.b{r}.conv0.weight"].shape == (channels[r], channels[r // 2], 3, 3)
            assert t[f"synthesis.b{r}.conv1.noise_const"].shape == (r, r)
            assert t[f"synthesis.b{r}.torgb.weight"].shape == (3, channels[r], 1, 1)
            assert t[f"synthesis.b{r}.conv0.affine.weight"].shape == (channels[r // 2], w)
        assert config["synthesis_kwargs"]["architecture"] == "skip"
        assert not any(name.startswith("synthesis.L") for name in t)
    else:
        num_ws = config["synthesis_kwargs"].get("num_layers", 14) + 2
        assert t["synthesis.input.freqs"].shape == (64, 2)
        assert t["synthesis.input.transform"].shape == (3, 3)
        assert t["synthesis.L0_36_64.up_filter"].shape == (12,)
        assert t["synthesis.L14_32_3.weight"].shape == (3, 64, 1, 1)
        assert "synthesis.L14_32_3.up_filter" not in t  # None in the file: skipped
        layers = sorted({name.split(".")[1] for name in t if name.startswith("synthesis.L")})
        assert len(layers) == 15
    assert num_ws == ref["num_ws"]
    assert safe_load(fixture(name))["G_ema"].state["num_ws"] == num_ws
    # The tensor values are right, not just the shapes: NVIDIA's mapping reproduces the reference ws.
    refs = np.load(FIXTURES / f"{name}.ref.npz")
    for i, case in enumerate(ref["cases"]):
        if case["cutoff"] is not None:
            continue
        z = np.random.RandomState(case["seed"]).randn(1, config["z_dim"])
        c = np.eye(max(config["c_dim"], 1))[[case["class_idx"]]] if config["c_dim"] else None
        ws = _mapping_reference(t, config, z, c, case["psi"])
        expected = torch.from_numpy(refs[f"case{i}_ws"])
        assert torch.allclose(ws[:, None, :].expand_as(expected), expected, atol=1e-4)


def test_fixture_configs_and_notes():
    skip = nvidia_pickle.read(fixture("sg2-skip-32"))
    assert skip.config["mapping_kwargs"] == {"num_layers": 2}
    assert skip.config["synthesis_kwargs"]["num_fp16_res"] == 2
    assert "fp16 layers at the 2 highest resolutions run in fp32 on CPU" in skip.notes
    cond = nvidia_pickle.read(fixture("sg2-cond-32"))
    assert cond.config["mapping_kwargs"] == {"num_layers": 3}
    assert cond.tensors["mapping.embed.weight"].shape == (64, 4)
    sg3 = nvidia_pickle.read(fixture("sg3t-32"))
    assert sg3.config["arch"] == "stylegan3"
    assert sg3.config["synthesis_kwargs"]["conv_kernel"] == 3
    assert any("StyleGAN3-T" in note for note in sg3.notes)


def test_fixture_snapshot_structure_is_kept_as_data():
    snapshot = safe_load(fixture("sg3t-32"))
    assert list(snapshot) == ["G", "D", "G_ema", "augment_pipe", "training_set_kwargs"]
    assert snapshot["D"].class_name == "Discriminator"
    assert snapshot["augment_pipe"].class_name == "AugmentPipe"
    assert snapshot["G_ema"].module_src.startswith("#")  # source kept as text only
    assert snapshot["training_set_kwargs"]["resolution"] == 32
    layer = snapshot["G_ema"].state["_modules"]["synthesis"].state["_modules"]["L0_36_64"].state
    assert isinstance(layer["in_size"], np.ndarray) and layer["in_size"].tolist() == [36, 36]
    assert isinstance(layer["in_cutoff"], np.floating)
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules


def test_registry_reads_pickles_and_run_directories(tmp_path):
    assert read_model_data(fixture("sg2-cond-32")).config["c_dim"] == 4
    run = tmp_path / "00000-run"
    run.mkdir()
    shutil.copy(fixture("sg2-skip-32"), run / "network-snapshot-000100.pkl")
    shutil.copy(fixture("sg3t-32"), run / "network-snapshot-000200.pkl")
    (run / "log.txt").write_text("not a model")
    assert read_model_data(run).config["arch"] == "stylegan3"  # the latest snapshot


def test_ada_layout_and_old_numpy_names_protocol_2(tmp_path):
    """An ada-style snapshot: nested synthesis_kwargs, ada key order, numpy.core names, protocol 2."""
    snapshot = safe_load(fixture("sg2-skip-32"))
    for key in ("G", "G_ema"):
        kwargs = snapshot[key].state["_init_kwargs"]
        synthesis = EasyDict({k: kwargs.pop(k) for k in ("channel_base", "channel_max", "num_fp16_res",
                                                           "conv_clamp", "architecture")})
        kwargs["synthesis_kwargs"] = synthesis
        kwargs["mapping_kwargs"] = EasyDict(kwargs["mapping_kwargs"])
    ada = {k: snapshot[k] for k in ("training_set_kwargs", "G", "D", "G_ema", "augment_pipe")}
    raw = nvidia_dumps(ada, protocol=2).replace(b"numpy._core", b"numpy.core")
    assert b"numpy.core.multiarray\nscalar" in raw and b"_codecs\nencode" in raw
    data = nvidia_pickle.read(write(tmp_path, raw))
    expected = nvidia_pickle.read(fixture("sg2-skip-32"))
    assert data.config == expected.config
    assert data.tensors.keys() == expected.tensors.keys()
    assert all(torch.equal(data.tensors[k], expected.tensors[k]) for k in data.tensors)
    assert any("stylegan2-ada-pytorch" in note for note in data.notes)


def test_g_used_when_there_is_no_g_ema(tmp_path):
    snapshot = safe_load(fixture("sg2-skip-32"))
    snapshot["G"].state["_modules"]["mapping"].state["_buffers"]["w_avg"] = torch.full((64,), 7.0)
    del snapshot["G_ema"]
    data = nvidia_pickle.read(write(tmp_path, nvidia_dumps(snapshot)))
    assert torch.equal(data.tensors["mapping.w_avg"], torch.full((64,), 7.0))


# ------------------------------------------------------------------------------------------------------
# tensors: storages, views, strides, dtypes


def test_tensor_storages_views_strides_and_dtypes(tmp_path):
    base = torch.arange(24, dtype=torch.float32)
    tensors = {
        "base": base,
        "slice": base[2:10],  # storage offset
        "transposed": base.view(4, 6).t(),  # non-contiguous strides
        "stepped": base.view(4, 6)[:, 1::2],
        "scalar": torch.tensor(3.5),
        "empty": torch.empty(0, 3),
        "param": torch.nn.Parameter(torch.ones(2, 2)),
    }
    for dtype in (torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32, torch.int16,
                  torch.int8, torch.uint8, torch.bool):
        tensors[str(dtype)] = (torch.arange(-3, 7) % 5).to(dtype)
    path = write(tmp_path, pickle.dumps(tensors, protocol=4))
    loaded = safe_load(path)
    assert loaded.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype, name
        assert loaded[name].shape == tensor.shape, name
        assert torch.equal(loaded[name], tensor.detach()), name
    assert loaded["transposed"].stride() == (1, 6)


class _Storage:
    """One storage, pickled the way torch does (legacy container bytes), referenced by several tensors."""

    def __init__(self, values: torch.Tensor):
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TypedStorage is deprecated, but it is what tensors pickle
            torch.save(values.storage(), buffer, _use_new_zipfile_serialization=False)
        self.raw = buffer.getvalue()

    def __reduce__(self):
        return FakeGlobal("torch.storage", "_load_from_bytes"), (self.raw,)


class _TensorOf:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self):
        return FakeGlobal("torch._utils", "_rebuild_tensor_v2"), self.args


def test_tensors_sharing_one_storage_share_it(tmp_path):
    storage = _Storage(torch.arange(12, dtype=torch.float32))
    value = {"all": _TensorOf(storage, 0, (12,), (1,)), "grid": _TensorOf(storage, 2, (2, 3), (1, 4))}
    loaded = safe_load(write(tmp_path, nvidia_dumps(value)))
    assert torch.equal(loaded["grid"], torch.tensor([[2.0, 6.0, 10.0], [3.0, 7.0, 11.0]]))
    assert loaded["all"].untyped_storage().data_ptr() == loaded["grid"].untyped_storage().data_ptr()
    loaded["all"][7] = -1.0
    assert loaded["grid"][1, 1] == -1.0


class _ContainerPickler(NvidiaStylePickler):
    """Writes a legacy storage record whose persistent id is a *view* into a root storage (old torch)."""

    def persistent_id(self, obj):
        if obj == "VIEW":
            return ("storage", FakeGlobal("torch", "FloatStorage"), "root", "cpu", 6, ("view", 2, 3))
        return None


def _legacy_view_container(values: list[float]) -> bytes:
    out = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True, "protocol_version": 1001}):
        pickle.dump(header, out, protocol=2)
    _ContainerPickler(out, protocol=2).dump("VIEW")
    pickle.dump(["root"], out, protocol=2)
    out.write(len(values).to_bytes(8, "little") + np.asarray(values, dtype="<f4").tobytes())
    return out.getvalue()


def test_legacy_storage_views(tmp_path):
    class Blob:
        def __reduce__(self):
            return FakeGlobal("torch.storage", "_load_from_bytes"), (_legacy_view_container([0, 1, 2, 3, 4, 5]),)

    tensor = _TensorOf(Blob(), 1, (2,), (1,))
    loaded = safe_load(write(tmp_path, nvidia_dumps(tensor)))
    assert torch.equal(loaded, torch.tensor([3.0, 4.0]))  # view starts at element 2, tensor at 1 in it


def test_numpy_arrays_scalars_and_plain_containers(tmp_path):
    value = {
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
        "scalar": np.float64(0.25),
        "set": {1, 2},
        "frozen": frozenset({3}),
        "ordered": OrderedDict(a=1),
        "bytes": b"\x00\xff",
    }
    for protocol in (2, 4, 5):
        loaded = safe_load(write(tmp_path, pickle.dumps(value, protocol=protocol)))
        assert np.array_equal(loaded["array"], value["array"]) and loaded["array"].dtype == np.float32
        assert np.array_equal(loaded["fortran"], value["fortran"])
        assert loaded["scalar"] == 0.25 and isinstance(loaded["scalar"], np.float64)
        assert loaded["set"] == {1, 2} and loaded["frozen"] == frozenset({3})
        assert loaded["ordered"] == OrderedDict(a=1) and loaded["bytes"] == b"\x00\xff"


def test_tensor_reaching_outside_its_storage_is_corrupt(tmp_path):
    raw = pickle.dumps(torch.arange(4.0).view(2, 2), protocol=4)
    # Same pickle, but the tensor claims size (2, 3): the last element would lie outside the storage.
    bad = raw.replace(pickle.BININT1 + b"\x02" + pickle.BININT1 + b"\x02" + pickle.TUPLE2,
                      pickle.BININT1 + b"\x02" + pickle.BININT1 + b"\x03" + pickle.TUPLE2, 1)
    assert bad != raw
    with pytest.raises(CorruptModel):
        safe_load(write(tmp_path, bad))


# ------------------------------------------------------------------------------------------------------
# safety: nothing in a pickle runs


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER-code-ran"
    yield path
    assert not path.exists(), "code embedded in a pickle was executed"


class _Reduce:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _snapshot_around(obj) -> dict:
    """Put ``obj`` where a network would be, so that a loader has to look at it."""
    return {"G": obj, "D": None, "G_ema": obj, "augment_pipe": None, "training_set_kwargs": {}}


def _expect_refusal(path: Path, global_name: str, marker: Path) -> None:
    with pytest.raises(UnsafeModel) as info:
        nvidia_pickle.read(path)
    assert f"refused global '{global_name}'" in str(info.value)
    assert str(info.value).startswith(path.name) and "\n" not in str(info.value)
    assert not marker.exists()


def test_os_system_is_refused(tmp_path, marker):
    command = f"touch {marker}"
    path = write(tmp_path, pickle.dumps(_snapshot_around(_Reduce(os.system, command)), protocol=4))
    _expect_refusal(path, f"{os.system.__module__}.system", marker)  # 'posix.system' on Linux
    # Hand-written protocol-0 opcodes behind a protocol-2 header, naming 'os.system' literally.
    literal = b"\x80\x02cos\nsystem\n(V" + command.encode() + b"\ntR."
    _expect_refusal(write(tmp_path, literal, "literal.pkl"), "os.system", marker)


def test_builtins_eval_exec_getattr_import_are_refused(tmp_path, marker):
    code = f"open({str(marker)!r}, 'w').close()"
    for func in (eval, exec):
        path = write(tmp_path, pickle.dumps(_snapshot_around(_Reduce(func, code))))
        _expect_refusal(path, f"builtins.{func.__name__}", marker)
    path = write(tmp_path, pickle.dumps(_Reduce(getattr, "os", "system")))
    with pytest.raises(UnsafeModel, match="refused global 'builtins.getattr'"):
        safe_load(path)
    path = write(tmp_path, nvidia_dumps(_Reduce(FakeGlobal("builtins", "__import__"), "os")))
    with pytest.raises(UnsafeModel, match="refused global 'builtins.__import__'"):
        safe_load(path)
    assert not marker.exists()


@pytest.mark.parametrize("func", [subprocess.Popen, subprocess.check_call, subprocess.run])
def test_subprocess_is_refused(tmp_path, marker, func):
    path = write(tmp_path, pickle.dumps(_snapshot_around(_Reduce(func, ["touch", str(marker)]))))
    _expect_refusal(path, f"subprocess.{func.__name__}", marker)


def test_arbitrary_torch_globals_are_refused(tmp_path):
    path = write(tmp_path, pickle.dumps(torch.nn.Linear(2, 2)))
    with pytest.raises(UnsafeModel, match="refused global 'torch.nn.modules.linear.Linear'"):
        nvidia_pickle.read(path)
    path = write(tmp_path, nvidia_dumps(_Reduce(FakeGlobal("torch", "load"), "x.pt")))
    with pytest.raises(UnsafeModel, match="refused global 'torch.load'"):
        nvidia_pickle.read(path)


def _evil_meta(class_name: str, marker: Path) -> dict:
    """A real NVIDIA-style persistence meta whose module source would create ``marker`` if executed."""
    source = (
        "import os\n"
        f"open({str(marker)!r}, 'w').close()\n"
        f"class {class_name}:\n"
        "    def __setstate__(self, state):\n"
        f"        open({str(marker)!r}, 'w').close()\n"
    )
    state = {"training": False, "_parameters": {}, "_buffers": {}, "_modules": {},
             "_init_args": (), "_init_kwargs": EasyDict(z_dim=1)}
    return {"type": "class", "version": 6, "module_src": source, "class_name": class_name, "state": state}


def test_persistent_object_with_unknown_class_is_refused_unrun(tmp_path, marker):
    evil = _Reduce(RECONSTRUCT, _evil_meta("Evil", marker))
    path = write(tmp_path, nvidia_dumps(_snapshot_around(evil)))
    with pytest.raises(UnsafeModel, match="refused embedded class 'Evil'"):
        nvidia_pickle.read(path)
    path = write(tmp_path, nvidia_dumps(evil), "bare.pkl")  # the object alone, not in a snapshot dict
    with pytest.raises(UnsafeModel):
        nvidia_pickle.read(path)
    assert "torch_utils" not in sys.modules


def test_persistent_object_under_a_known_class_name_is_read_as_data(tmp_path, marker):
    """Malicious source behind the name 'Generator' is only text to us: the file fails as a network."""
    evil = _Reduce(RECONSTRUCT, _evil_meta("Generator", marker))
    path = write(tmp_path, nvidia_dumps(_snapshot_around(evil)))
    node = safe_load(path)["G_ema"]
    assert isinstance(node, PersistentNode) and "open(" in node.module_src
    with pytest.raises(UnsupportedArchitecture):
        nvidia_pickle.read(path)


def test_build_on_foreign_objects_is_refused(tmp_path, marker):
    # GLOBAL torch._utils._rebuild_parameter, then BUILD {'a': 1} on that function.
    raw = b"\x80\x02ctorch._utils\n_rebuild_parameter\n}X\x01\x00\x00\x00aK\x01sb."
    with pytest.raises(UnsafeModel, match="refused to set the state"):
        safe_load(write(tmp_path, raw))
    raw = nvidia_dumps(_ReduceState(FakeGlobal("collections", "OrderedDict"), {"__class__": 1}))
    with pytest.raises(UnsafeModel, match="refused to set the state"):
        safe_load(write(tmp_path, raw))


class _ReduceState:
    def __init__(self, func, state):
        self.func, self.state = func, state

    def __reduce__(self):
        return self.func, (), self.state


def test_numpy_object_arrays_are_refused(tmp_path, marker):
    path = write(tmp_path, pickle.dumps({"a": np.array([1, "x"], dtype=object)}))
    with pytest.raises(UnsafeModel, match="object"):
        safe_load(path)


# ------------------------------------------------------------------------------------------------------
# files that are not network snapshots


def test_truncated_files_are_corrupt(tmp_path):
    data = fixture("sg2-skip-32").read_bytes()
    for cut in (3, 100, 5000, len(data) // 2, len(data) - 1):
        path = write(tmp_path, data[:cut], f"cut{cut}.pkl")
        with pytest.raises(CorruptModel) as info:
            nvidia_pickle.read(path)
        assert info.value.path == path and "\n" not in str(info.value)


def test_corrupted_byte_inside_a_storage_container_is_corrupt(tmp_path):
    data = bytearray(fixture("sg2-skip-32").read_bytes())
    at = data.find(b"\x6a\xa8\x50\x19")  # inside the first legacy container: the magic number
    assert at > 0
    data[at] ^= 0xFF
    with pytest.raises(CorruptModel, match="magic"):
        nvidia_pickle.read(write(tmp_path, bytes(data)))


def test_empty_and_random_files(tmp_path):
    with pytest.raises(CorruptModel):
        nvidia_pickle.read(write(tmp_path, b"", "empty.pkl"))
    with pytest.raises(CorruptModel):
        read_model_data(write(tmp_path, b"", "empty2.pkl"))
    rng = np.random.default_rng(0)
    for i in range(20):
        noise = bytearray(rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
        if i % 2:
            noise[:2] = b"\x80\x04"  # looks like a pickle header
        path = write(tmp_path, bytes(noise), f"noise{i}.pkl")
        with pytest.raises((NotAModel, CorruptModel, UnsafeModel)):
            nvidia_pickle.read(path)


@pytest.mark.parametrize(
    "value",
    [[1, 2, 3], {"G_ema": 1}, {"a": 1}, (1, 2, 3), "text", 42, None],
    ids=["list", "g-not-a-net", "dict", "tuple", "str", "int", "none"],
)
def test_pickles_that_are_not_network_snapshots(tmp_path, value):
    with pytest.raises(NotAModel):
        nvidia_pickle.read(write(tmp_path, pickle.dumps(value, protocol=4)))


def test_forks_are_unsupported(tmp_path):
    snapshot = safe_load(fixture("sg2-skip-32"))
    snapshot["G_ema"].state["_init_kwargs"]["superres_factor"] = 2
    with pytest.raises(UnsupportedArchitecture, match="superres_factor"):
        nvidia_pickle.read(write(tmp_path, nvidia_dumps(snapshot), "kwarg.pkl"))
    snapshot = safe_load(fixture("sg2-skip-32"))
    del snapshot["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b4"].state["_parameters"]["const"]
    with pytest.raises(UnsupportedArchitecture, match="neither"):
        nvidia_pickle.read(write(tmp_path, nvidia_dumps(snapshot), "noconst.pkl"))
    snapshot = safe_load(fixture("sg2-skip-32"))
    snapshot["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b8"].class_name = "SynthesisInput"
    with pytest.raises(UnsupportedArchitecture, match="SynthesisInput"):
        nvidia_pickle.read(write(tmp_path, nvidia_dumps(snapshot), "part.pkl"))
    snapshot = safe_load(fixture("sg3t-32"))
    snapshot["G_ema"] = snapshot["D"]
    with pytest.raises(UnsupportedArchitecture, match="Discriminator"):
        nvidia_pickle.read(write(tmp_path, nvidia_dumps(snapshot), "d.pkl"))


def test_tf_era_tuple_is_handed_to_tf_pickle(tmp_path, monkeypatch):
    stub = TFNetworkStub(version=4, name="G", static_kwargs={}, components={}, variables=[("w", np.ones(2))])
    path = write(tmp_path, nvidia_dumps((stub, TFNetworkStub(stub, name="D"), TFNetworkStub(stub, name="Gs"))))
    seen = {}

    def read_tf_networks(p, obj):
        seen["args"] = (p, obj)
        return "handed over"

    fake = types.ModuleType("explorer.formats.tf_pickle")
    fake.read_tf_networks = read_tf_networks
    monkeypatch.setitem(sys.modules, "explorer.formats.tf_pickle", fake)
    monkeypatch.setattr(explorer.formats, "tf_pickle", fake, raising=False)
    assert nvidia_pickle.read(path) == "handed over"
    p, obj = seen["args"]
    assert p == path and [n["name"] for n in obj] == ["G", "D", "Gs"]
    assert all(type(n) is TFNetworkStub for n in obj)
    assert np.array_equal(obj[2]["variables"][0][1], np.ones(2))
