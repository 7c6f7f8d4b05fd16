"""NVIDIA's PyTorch network pickles (stylegan2-ada-pytorch and stylegan3), read without running them.

A snapshot written by NVIDIA's training code is a plain ``pickle.dump`` of a dict (``G``, ``D``, ``G_ema``,
``augment_pipe``, ``training_set_kwargs``). Each network in it is a "persistent" object: unpickling it the
NVIDIA way calls ``torch_utils.persistence._reconstruct_persistent_obj(meta)``, which ``exec``s the module
source embedded in ``meta``. Loading such a file with ``pickle.load`` therefore runs whatever code the file
carries. We never do that.

Instead, ``safe_load`` uses a restricted unpickler:

- ``find_class`` answers only an explicit allow-list of globals, every one mapped to *our* function or
  class; anything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``, any other ``torch.*``)
  raises ``UnsafeModel`` naming the global.
- A persistent object becomes a ``PersistentNode`` (class name, the module source kept as text only, and the
  object's ``__dict__`` as data). Class names outside the known NVIDIA network classes are refused: the only
  way to give meaning to such an object would be to run its code.
- Tensor storages (``torch.storage._load_from_bytes``) are parsed from torch's legacy container by our own
  code; no torch unpickler ever sees the bytes.
- ``BUILD`` (``__setstate__``) is allowed only on the few types whose state we validate ourselves.

``read(path)`` then walks the generator's node tree into NVIDIA-named tensors and a config dict (see
``explorer.models``). TensorFlow-era pickles (a 3-tuple of ``dnnlib.tflib.network.Network``) are handed to
``explorer.formats.tf_pickle.read_tf_networks``, which reuses ``safe_load``.
"""

from __future__ import annotations

import io
import math
import pickle
import re
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.errors import CorruptModel, ModelError, NotAModel, UnsafeModel, UnsupportedArchitecture
from explorer.formats import ModelData

SOURCE_FORMAT = "nvidia-pickle"

# torch's legacy (non-zip) torch.save container, as written by ``Storage.__reduce__``.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# The storage classes a legacy container may name, and the element type each stands for.
_STORAGE_DTYPES = {
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "DoubleStorage": torch.float64,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}

# Every class NVIDIA's stylegan2-ada-pytorch / stylegan3 code pickles with its persistence mechanism
# (training/networks.py, networks_stylegan2.py, networks_stylegan3.py, augment.py). Anything else is code
# we do not know how to read as data.
KNOWN_PERSISTENT_CLASSES = frozenset(
    {
        "FullyConnectedLayer",
        "Conv2dLayer",
        "MappingNetwork",
        "SynthesisInput",
        "SynthesisLayer",
        "ToRGBLayer",
        "SynthesisBlock",
        "SynthesisNetwork",
        "Generator",
        "DiscriminatorBlock",
        "MinibatchStdLayer",
        "DiscriminatorEpilogue",
        "Discriminator",
        "AugmentPipe",
    }
)

# Class names allowed inside a generator, per architecture (forks reuse the top names with other parts).
_GENERATOR_CLASSES = {
    "stylegan2": frozenset(
        {"Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer", "ToRGBLayer",
         "FullyConnectedLayer", "Conv2dLayer"}
    ),
    "stylegan3": frozenset(
        {"Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisInput", "SynthesisLayer",
         "FullyConnectedLayer"}
    ),
}

# Init kwargs NVIDIA's generators accept (synthesis kwargs flattened in sg3, nested in ada).
_DIM_KEYS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
_MAPPING_KEYS = {
    "stylegan2": frozenset({"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier",
                            "w_avg_beta"}),
    "stylegan3": frozenset({"num_layers", "lr_multiplier", "w_avg_beta"}),
}
_SYNTHESIS_KEYS = {
    "stylegan2": frozenset({"channel_base", "channel_max", "num_fp16_res", "architecture", "resample_filter",
                            "conv_clamp", "fp16_channels_last", "fused_modconv_default", "kernel_size",
                            "use_noise", "activation"}),
    "stylegan3": frozenset({"channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff",
                            "first_stopband", "last_stopband_rel", "margin_size", "output_scale", "num_fp16_res",
                            "conv_kernel", "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp",
                            "magnitude_ema_beta"}),
}

_SG3_LAYER = re.compile(r"^synthesis\.L\d+_\d+_\d+\.")


# --------------------------------------------------------------------------------------------------------
# Plain stand-ins for the classes a pickle names


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict with attribute reads, so dnnlib is never imported."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class TFNetworkStub(dict):
    """Stand-in for ``dnnlib.tflib.network.Network`` (TF-era pickles): collects its ``__setstate__`` dict.

    The fields (version, name, static_kwargs, components, variables, build_module_src, ...) are plain data;
    ``explorer.formats.tf_pickle`` interprets them. The TF build source is never run.
    """

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("TF network state is not a dict")
        self.update(state)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class PersistentNode:
    """One NVIDIA persistent object, as data: what ``_reconstruct_persistent_obj`` would have rebuilt.

    ``module_src`` is the embedded Python source, kept only as text (to fingerprint or show); it is never
    executed. ``state`` is the object's ``__dict__`` (for modules: ``_parameters``, ``_buffers``,
    ``_modules``, ``_init_kwargs`` and plain attributes).
    """

    class_name: str
    module_src: str
    state: dict
    version: int


class TypedBuffer:
    """A torch storage read from a legacy container: a flat, typed tensor over the raw bytes."""

    def __init__(self, dtype: torch.dtype, numel: int):
        self.dtype = dtype
        self.numel = numel
        self.flat: torch.Tensor | None = None  # filled once the raw bytes have been read

    def __repr__(self) -> str:
        return f"TypedBuffer({self.dtype}, {self.numel})"


class _StorageType:
    """What ``torch.FloatStorage`` & co. unpickle to inside a legacy container: just an element type."""

    def __init__(self, name: str, dtype: torch.dtype):
        self.name = name
        self.dtype = dtype


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` in a pickle: only ``_reconstruct`` may use it (no NEWOBJ on the class)."""


_NDARRAY = _NdarrayToken()


# --------------------------------------------------------------------------------------------------------
# Safe versions of the allowed globals (module-level ones need no file context)


class _Refused(Exception):
    """Raised by the module-level safe replacements (which do not know the file); becomes UnsafeModel."""


def _check_dtype(dtype: Any) -> np.dtype:
    """Only plain numeric/bool/bytes dtypes: object dtypes would let a pickle plant arbitrary objects."""
    if not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError(f"numpy dtype expected, got {type(dtype).__name__}")
    if dtype.hasobject:
        raise _Refused(f"refused numpy object array ({dtype})")
    return dtype


def _np_dtype(spec: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype(spec, align, copy)`` for a type *string* only ('f8', 'i4', ...)."""
    if not isinstance(spec, str):
        raise pickle.UnpicklingError(f"numpy dtype from {type(spec).__name__} is not allowed")
    return _check_dtype(np.dtype(spec))


def _np_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct``: an empty ndarray that the following BUILD fills."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("numpy _reconstruct of something other than ndarray")
    return np.empty((0,), dtype=np.uint8)


def _np_scalar(dtype: Any, data: Any = None) -> Any:
    """``numpy.core.multiarray.scalar(dtype, bytes)``: e.g. the float64 ``weight_gain`` attributes."""
    dtype = _check_dtype(dtype)
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("numpy scalar with malformed data")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _np_frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """``numpy.core.numeric._frombuffer`` (protocol-5 arrays): a copy, reshaped."""
    dtype = _check_dtype(dtype)
    if not isinstance(buffer, (bytes, bytearray)) or order not in ("C", "F"):
        raise pickle.UnpicklingError("numpy buffer with malformed data")
    return np.frombuffer(bytes(buffer), dtype=dtype).reshape(tuple(shape), order=order).copy()


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode``, which protocol-2 pickles use for bytes, restricted to the latin-1 case they use."""
    if not isinstance(text, str) or str(encoding).lower().replace("-", "") not in ("latin1", "iso88591"):
        raise _Refused("refused _codecs.encode other than text to latin-1")
    return text.encode("latin-1")


def _as_index_tuple(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, torch.Size):
        value = tuple(value)
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) and v >= 0 for v in value):
        raise pickle.UnpicklingError(f"tensor {what} {value!r} is malformed")
    return tuple(value)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None) -> torch.Tensor:
    """``torch._utils._rebuild_tensor_v2``: a (possibly strided, possibly shared) view of a TypedBuffer.

    Views are kept (no copy), so tensors that shared a storage in the file share it here too. Bounds are
    checked so that a crafted stride or offset cannot reach outside the buffer.
    """
    if not isinstance(storage, TypedBuffer) or storage.flat is None:
        raise pickle.UnpicklingError("tensor without a readable storage")
    size = _as_index_tuple(size, "size")
    stride = _as_index_tuple(stride, "stride")
    if not isinstance(storage_offset, int) or storage_offset < 0 or len(size) != len(stride):
        raise pickle.UnpicklingError("tensor offset or stride is malformed")
    if math.prod(size) == 0:
        return torch.empty(size, dtype=storage.dtype)
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.numel:
        raise pickle.UnpicklingError(f"tensor reaches element {last} of a storage of {storage.numel}")
    flat = storage.flat
    return torch.as_strided(flat, size, stride, flat.storage_offset() + storage_offset)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None) -> torch.Tensor:
    """``torch._utils._rebuild_parameter``: we only want the data; hooks and grad flags are dropped."""
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter without tensor data")
    return data


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None) -> torch.Tensor:
    """``torch._utils._rebuild_parameter_with_state``: as above; Python attributes on the parameter dropped."""
    return _rebuild_parameter(data, requires_grad, backward_hooks)


# --------------------------------------------------------------------------------------------------------
# The restricted unpickler


class SafeUnpickler(pickle._Unpickler):  # the pure-Python unpickler, so BUILD can be restricted too
    """An unpickler that resolves only allow-listed globals, each to our own safe replacement.

    Subclasses the pure-Python ``pickle._Unpickler`` because the C one calls ``__setstate__`` / ``setattr``
    on whatever object a BUILD opcode targets; here BUILD is replaced by ``_load_build``, which accepts only
    numpy arrays/dtypes and our own dict stand-ins, with validated state.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, path: Path, extra_globals: dict[str, Any] | None = None):
        super().__init__(file)
        self.path = Path(path)
        self.allowed = self._base_globals()
        if extra_globals:
            self.allowed.update(extra_globals)

    def _base_globals(self) -> dict[str, Any]:
        allowed: dict[str, Any] = {
            "torch_utils.persistence._reconstruct_persistent_obj": self._reconstruct_persistent_obj,
            "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
            "torch._utils._rebuild_parameter": _rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
            "torch.storage._load_from_bytes": self._load_from_bytes,
            "collections.OrderedDict": OrderedDict,
            "dnnlib.util.EasyDict": EasyDict,
            "dnnlib.tflib.network.Network": TFNetworkStub,
            "numpy.ndarray": _NDARRAY,
            "numpy.dtype": _np_dtype,
            "builtins.set": set,
            "builtins.frozenset": frozenset,
            "__builtin__.set": set,  # protocol-2 pickles spell builtins the Python 2 way
            "__builtin__.frozenset": frozenset,
            "_codecs.encode": _codecs_encode,
        }
        for core in ("numpy.core", "numpy._core"):  # numpy < 2 and numpy >= 2 spell the module differently
            allowed[f"{core}.multiarray._reconstruct"] = _np_reconstruct
            allowed[f"{core}.multiarray.scalar"] = _np_scalar
            allowed[f"{core}.numeric._frombuffer"] = _np_frombuffer
        return allowed

    def find_class(self, module: str, name: str) -> Any:
        key = f"{module}.{name}"
        if key in self.allowed:
            return self.allowed[key]
        raise UnsafeModel(self.path, f"refused global '{key}'")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeModel(self.path, "refused persistent reference in a network pickle")

    # -- persistence -------------------------------------------------------------------------------------

    def _reconstruct_persistent_obj(self, meta: Any) -> PersistentNode:
        """Our ``_reconstruct_persistent_obj``: record the object as data; the source is never executed."""
        if not isinstance(meta, dict) or meta.get("type") != "class":
            raise pickle.UnpicklingError("persistent object with malformed metadata")
        class_name, module_src, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
        if not isinstance(class_name, str) or not isinstance(module_src, str) or not isinstance(state, dict):
            raise pickle.UnpicklingError("persistent object with malformed metadata")
        if class_name not in KNOWN_PERSISTENT_CLASSES:
            raise UnsafeModel(
                self.path,
                f"refused embedded class '{class_name[:60]}': not a known StyleGAN network class "
                "(reading it would mean running the code it carries)",
            )
        version = meta.get("version")
        if version != 6:
            raise UnsupportedArchitecture(self.path, f"NVIDIA persistence version {version!r} (only 6 is known)")
        return PersistentNode(class_name=class_name, module_src=module_src, state=state, version=version)

    # -- tensor storages -------------------------------------------------------------------------------

    def _load_from_bytes(self, data: Any) -> TypedBuffer:
        """Our ``torch.storage._load_from_bytes``: parse one legacy ``torch.save`` of a storage."""
        if not isinstance(data, (bytes, bytearray)):
            raise pickle.UnpicklingError("storage bytes expected")
        return read_legacy_storage(bytes(data), self.path)

    # -- BUILD -----------------------------------------------------------------------------------------

    def _load_build(self) -> None:
        """BUILD, restricted: numpy arrays and dtypes (validated), our dict stand-ins; nothing else."""
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is np.ndarray:
            _build_ndarray(inst, state)
        elif isinstance(inst, np.dtype):
            _check_dtype_state(inst, state)
        elif type(inst) is TFNetworkStub:
            inst.__setstate__(state)
        elif type(inst) in (EasyDict, OrderedDict) and state in (None, {}):
            pass  # an empty instance __dict__, as older Pythons write it
        else:
            raise UnsafeModel(self.path, f"refused to set the state of a {type(inst).__name__}")

    dispatch[pickle.BUILD[0]] = _load_build


def _build_ndarray(array: np.ndarray, state: Any) -> None:
    """``ndarray.__setstate__`` after checking that the state holds raw bytes of a plain dtype."""
    if not (isinstance(state, tuple) and len(state) == 5):
        raise pickle.UnpicklingError("numpy array state is malformed")
    _, shape, dtype, _, raw = state
    _check_dtype(dtype)
    if not isinstance(raw, (bytes, bytearray)):
        raise pickle.UnpicklingError("numpy array data is not raw bytes")
    _as_index_tuple(shape, "shape")
    array.__setstate__(state)


def _check_dtype_state(dtype: np.dtype, state: Any) -> None:
    """Accept a dtype's pickled state only if it describes the plain little-endian type we already built.

    The state is not applied (numpy's ``__setstate__`` would let a pickle set flags such as "holds
    objects"); for simple types it carries nothing beyond the byte order, which we check.
    """
    if not (isinstance(state, tuple) and len(state) >= 5):
        raise pickle.UnpicklingError("numpy dtype state is malformed")
    byteorder, subarray, names, fields = state[1:5]
    if subarray is not None or names is not None or fields is not None:
        raise pickle.UnpicklingError("structured numpy dtypes are not supported")
    if byteorder == ">" and dtype.itemsize > 1:
        raise pickle.UnpicklingError("big-endian numpy data is not supported")
    if byteorder not in ("<", "|", "=", ">"):
        raise pickle.UnpicklingError("numpy dtype state is malformed")


class _ContainerUnpickler(SafeUnpickler):
    """The nested unpickler for one legacy storage container: only ``torch.<Type>Storage`` globals.

    Its ``persistent_load`` turns each ('storage', type, key, location, numel, view) record into a
    ``TypedBuffer`` (views into a root buffer are resolved once the raw bytes are read).
    """

    def __init__(self, file, path: Path, roots: dict, views: list):
        super().__init__(file, path)
        self.allowed = {f"torch.{name}": _StorageType(name, dtype) for name, dtype in _STORAGE_DTYPES.items()}
        self.roots = roots
        self.views = views

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 6):
            raise pickle.UnpicklingError("storage reference is malformed")
        typename, storage_type, key, _location, numel, view = pid
        if isinstance(typename, bytes):
            typename = typename.decode("ascii", "replace")
        if typename != "storage":
            raise UnsafeModel(self.path, f"refused persistent reference of type {str(typename)[:40]!r}")
        if not isinstance(storage_type, _StorageType) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError("storage reference is malformed")
        key = str(key)
        root = self.roots.get(key)
        if root is None:
            root = self.roots[key] = TypedBuffer(storage_type.dtype, numel)
        if view is None:
            return root
        # Old torch wrote storage views: (view_key, offset, size) in elements of the root.
        view_key, offset, size = view
        if not all(isinstance(v, int) and v >= 0 for v in (offset, size)) or offset + size > root.numel:
            raise pickle.UnpicklingError("storage view is out of range")
        buffer = TypedBuffer(storage_type.dtype, size)
        self.views.append((buffer, root, offset))
        return buffer


def read_legacy_storage(data: bytes, path: Path) -> TypedBuffer:
    """Parse the legacy ``torch.save`` container of one storage (see the reference notes, section 3.3).

    Layout: pickled magic number, protocol version, sys-info dict, the storage object (a persistent id),
    the list of storage keys; then per key an 8-byte little-endian element count and the raw
    little-endian element bytes.
    """
    stream = io.BytesIO(data)
    roots: dict[str, TypedBuffer] = {}
    views: list = []

    def load_plain() -> Any:
        return _ContainerUnpickler(stream, path, roots, views).load()

    if load_plain() != _LEGACY_MAGIC:
        raise pickle.UnpicklingError("tensor storage has a bad magic number")
    if load_plain() != _LEGACY_PROTOCOL:
        raise pickle.UnpicklingError("tensor storage has an unknown container version")
    sys_info = load_plain()
    if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) is not True:
        raise pickle.UnpicklingError("tensor storage was written big-endian")
    result = load_plain()
    keys = load_plain()
    if not isinstance(result, TypedBuffer) or not isinstance(keys, list):
        raise pickle.UnpicklingError("tensor storage container is malformed")
    view = memoryview(data)
    for key in keys:
        root = roots.get(str(key))
        if root is None:
            raise pickle.UnpicklingError("tensor storage names an unknown key")
        (count,) = struct.unpack("<q", _take(stream, 8))
        if count != root.numel:
            raise pickle.UnpicklingError("tensor storage size does not match its header")
        nbytes = count * torch.empty((), dtype=root.dtype).element_size()
        start = stream.tell()
        if start + nbytes > len(data):
            raise EOFError("tensor storage data is truncated")
        root.flat = _typed_flat(view[start:start + nbytes], root.dtype)
        stream.seek(start + nbytes)
    for buffer, root, offset in views:
        if root.flat is None:
            raise pickle.UnpicklingError("storage view of a storage without data")
        buffer.flat = root.flat[offset:offset + buffer.numel]
    if result.flat is None:
        raise pickle.UnpicklingError("tensor storage without data")
    return result


def _take(stream: io.BytesIO, n: int) -> bytes:
    chunk = stream.read(n)
    if len(chunk) != n:
        raise EOFError("tensor storage data is truncated")
    return chunk


def _typed_flat(raw: memoryview, dtype: torch.dtype) -> torch.Tensor:
    """A 1-D tensor of ``dtype`` over a private, writable copy of ``raw`` (little-endian on disk)."""
    if len(raw) == 0:
        return torch.empty((0,), dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=dtype)


# --------------------------------------------------------------------------------------------------------
# Loading


def safe_load(path: str | Path, extra_globals: dict[str, Any] | None = None) -> Any:
    """Unpickle ``path`` with the restricted unpickler: data only, nothing from the file is ever run.

    Returns the top-level object (a dict of ``PersistentNode``s for PyTorch snapshots, a tuple of
    ``TFNetworkStub``s for TF-era pickles). Raises ``UnsafeModel`` for any global outside the allow-list,
    ``CorruptModel`` for a truncated or malformed stream, ``NotAModel`` for a file that is not a pickle.
    ``extra_globals`` ({"module.name": safe replacement}) lets another reader allow a global it has
    re-implemented; never pass a real library function.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(2)
        if not head:
            raise CorruptModel(path, "file is empty")
        if head[0] != 0x80:
            raise NotAModel(path, "not a network pickle (no pickle protocol header)")
        f.seek(0)
        try:
            return SafeUnpickler(f, path, extra_globals).load()
        except ModelError:
            raise
        except _Refused as exc:
            raise UnsafeModel(path, str(exc)) from None
        except RecursionError:
            raise CorruptModel(path, "pickle nests too deeply") from None
        except MemoryError:
            raise CorruptModel(path, "pickle asks for more memory than is available") from None
        except EOFError:
            raise CorruptModel(path, "pickle stream ends early (truncated download?)") from None
        except Exception as exc:  # any malformed stream; the message names the problem, one line
            raise CorruptModel(path, f"{type(exc).__name__}: {exc}"[:300]) from None


def read(path: str | Path) -> ModelData:
    """Read an NVIDIA network pickle (or hand a TF-era one to ``tf_pickle``) into ModelData."""
    path = Path(path)
    obj = safe_load(path)
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(x, TFNetworkStub) for x in obj):
        from explorer.formats import tf_pickle  # written separately; imported only when needed

        return tf_pickle.read_tf_networks(path, obj)
    generator = _pick_generator(obj, path)
    return read_generator_node(generator, path)


def _pick_generator(obj: Any, path: Path) -> PersistentNode:
    """The render network of a snapshot dict: ``G_ema`` (the moving average), else ``G``."""
    if not isinstance(obj, dict):
        raise NotAModel(path, f"the pickle holds a {type(obj).__name__}, not a network snapshot dict")
    for key in ("G_ema", "G"):
        node = obj.get(key)
        if node is not None:
            if not isinstance(node, PersistentNode):
                raise NotAModel(path, f"'{key}' in the pickle is a {type(node).__name__}, not a network")
            return node
    raise NotAModel(path, "the pickle holds a dict without 'G_ema' or 'G'")


def read_generator_node(generator: PersistentNode, path: Path) -> ModelData:
    """Turn a generator node into ModelData: tensors by NVIDIA name, config, notes."""
    if generator.class_name != "Generator":
        raise UnsupportedArchitecture(path, f"the generator is a '{generator.class_name}', not a Generator")
    tensors: dict[str, torch.Tensor] = {}
    classes: dict[str, str] = {}
    _collect(generator, "", tensors, classes, path)
    arch = _identify_arch(tensors, path)
    strange = sorted({c for c in classes.values() if c not in _GENERATOR_CLASSES[arch]})
    if strange:
        raise UnsupportedArchitecture(path, f"{arch} generator contains unknown part '{strange[0]}' (a fork?)")
    config = _config_from_kwargs(generator, arch, path)
    _complete_from_attributes(config, generator, arch, path)
    _check_dims(config, generator, arch, path)
    notes = _notes(config, generator, arch)
    return ModelData(config=config, tensors=tensors, source_format=SOURCE_FORMAT, notes=notes)


def _collect(node: PersistentNode, prefix: str, tensors: dict, classes: dict, path: Path) -> None:
    """Walk ``_modules`` recursively, collecting ``_parameters`` and persistent ``_buffers`` (None skipped)."""
    state = node.state
    classes[prefix.rstrip(".") or "<root>"] = node.class_name
    skip = state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        entries = state.get(group) or {}
        if not isinstance(entries, dict):
            raise UnsupportedArchitecture(path, f"module {prefix or 'G'} has a malformed {group}")
        for name, tensor in entries.items():
            if tensor is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise UnsupportedArchitecture(path, f"{prefix}{name} is a {type(tensor).__name__}, not a tensor")
            tensors[prefix + str(name)] = tensor
    children = state.get("_modules") or {}
    if not isinstance(children, dict):
        raise UnsupportedArchitecture(path, f"module {prefix or 'G'} has malformed submodules")
    for name, child in children.items():
        if child is None:
            continue
        if not isinstance(child, PersistentNode):
            raise UnsupportedArchitecture(path, f"submodule {prefix}{name} is a {type(child).__name__}")
        _collect(child, f"{prefix}{name}.", tensors, classes, path)


def _identify_arch(tensors: dict, path: Path) -> str:
    """StyleGAN2 has ``synthesis.b4.const``; StyleGAN3 has ``synthesis.input.freqs`` and ``synthesis.L*``."""
    sg2 = "synthesis.b4.const" in tensors
    sg3 = "synthesis.input.freqs" in tensors and any(_SG3_LAYER.match(name) for name in tensors)
    if sg2 and not sg3:
        return "stylegan2"
    if sg3 and not sg2:
        return "stylegan3"
    raise UnsupportedArchitecture(path, "the generator's tensors match neither StyleGAN2 nor StyleGAN3 (a fork?)")


def _plain(value: Any, path: Path, where: str) -> Any:
    """A JSON-serialisable copy: EasyDicts -> dicts, numpy scalars/arrays -> Python numbers/lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v, path, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, path, where) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise UnsupportedArchitecture(path, f"generator option {where} is a {type(value).__name__}")


def _config_from_kwargs(generator: PersistentNode, arch: str, path: Path) -> dict:
    """The nested config from ``_init_kwargs`` (sg3: synthesis kwargs flattened; ada: nested)."""
    state = generator.state
    kwargs = dict(state.get("_init_kwargs") or {})
    args = state.get("_init_args") or ()
    if not isinstance(args, (tuple, list)) or len(args) > len(_DIM_KEYS):
        raise UnsupportedArchitecture(path, "the generator was built with unexpected positional arguments")
    kwargs.update(zip(_DIM_KEYS, args))
    kwargs.pop("class_name", None)
    mapping = _plain(kwargs.pop("mapping_kwargs", None) or {}, path, "mapping_kwargs")
    synthesis = _plain(kwargs.pop("synthesis_kwargs", None) or {}, path, "synthesis_kwargs")
    dims = {key: _plain(kwargs.pop(key, state.get(key)), path, key) for key in _DIM_KEYS}
    synthesis.update(_plain(kwargs, path, "init_kwargs"))  # whatever is left is a flattened synthesis kwarg
    for options, known, kind in ((mapping, _MAPPING_KEYS[arch], "mapping"),
                                 (synthesis, _SYNTHESIS_KEYS[arch], "synthesis")):
        unknown = sorted(set(options) - known)
        if unknown:
            raise UnsupportedArchitecture(path, f"unknown {arch} {kind} option '{unknown[0]}' (a fork?)")
    for key, value in dims.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UnsupportedArchitecture(path, f"generator {key} is {value!r}")
    return {"arch": arch, **dims, "mapping_kwargs": mapping, "synthesis_kwargs": synthesis}


def _child(node: PersistentNode, *names: str) -> PersistentNode | None:
    for name in names:
        modules = node.state.get("_modules") or {}
        node = modules.get(name)
        if not isinstance(node, PersistentNode):
            return None
    return node


def _complete_from_attributes(config: dict, generator: PersistentNode, arch: str, path: Path) -> None:
    """Make render-relevant options explicit from the layers' own attributes.

    ada and sg3 differ in defaults (conv_clamp None vs 256, num_fp16_res 0 vs 4); the stored layers know
    what they were built with, so a kwargs dict that omits a value cannot make us guess wrong.
    """
    synthesis = config["synthesis_kwargs"]
    if arch == "stylegan2":
        first = _child(generator, "synthesis", "b4", "conv1")
    else:
        layers = _sg3_layers(generator)
        first = layers[0][1] if layers else None
    if "conv_clamp" not in synthesis and first is not None and "conv_clamp" in first.state:
        synthesis["conv_clamp"] = _plain(first.state["conv_clamp"], path, "conv_clamp")
    if "num_fp16_res" not in synthesis:
        synthesis["num_fp16_res"] = len(_fp16_resolutions(generator, arch))


def _sg3_layers(generator: PersistentNode) -> list[tuple[str, PersistentNode]]:
    synthesis = _child(generator, "synthesis")
    if synthesis is None:
        return []
    modules = synthesis.state.get("_modules") or {}
    return [(n, m) for n, m in modules.items() if isinstance(m, PersistentNode) and re.match(r"L\d+_", n)]


def _fp16_resolutions(generator: PersistentNode, arch: str) -> list[int]:
    """The output resolutions (SG2 blocks) or sampling rates (SG3 layers) built as fp16."""
    found: set[int] = set()
    synthesis = _child(generator, "synthesis")
    if synthesis is None:
        return []
    for name, module in (synthesis.state.get("_modules") or {}).items():
        if not isinstance(module, PersistentNode) or not module.state.get("use_fp16"):
            continue
        if arch == "stylegan2" and str(name).startswith("b"):
            found.add(int(str(name)[1:]) if str(name)[1:].isdigit() else -1)
        elif arch == "stylegan3":
            rate = module.state.get("out_sampling_rate")
            found.add(int(rate) if isinstance(rate, (int, float, np.number)) else -1)
    return sorted(found)


def _check_dims(config: dict, generator: PersistentNode, arch: str, path: Path) -> None:
    """Cross-check the kwargs against the generator's stored attributes and the num_ws rule."""
    state = generator.state
    for key in _DIM_KEYS:
        stored = state.get(key)
        if stored is not None and _plain(stored, path, key) != config[key]:
            raise UnsupportedArchitecture(path, f"generator {key} {stored} disagrees with its init kwargs")
    resolution = config["img_resolution"]
    if arch == "stylegan2":
        if resolution < 4 or resolution & (resolution - 1):
            raise UnsupportedArchitecture(path, f"StyleGAN2 resolution {resolution} is not a power of two")
        expected = 2 * int(math.log2(resolution)) - 2
    else:
        expected = int(config["synthesis_kwargs"].get("num_layers", 14)) + 2
    stored = state.get("num_ws")
    if stored is not None and int(stored) != expected:
        raise UnsupportedArchitecture(
            path, f"generator has {stored} style vectors; {arch} at {resolution} px has {expected}"
        )


def _notes(config: dict, generator: PersistentNode, arch: str) -> list[str]:
    """Facts for ``explorer info``: which NVIDIA code wrote it, precision on CPU, SG3 config."""
    notes = []
    nested = "synthesis_kwargs" in (generator.state.get("_init_kwargs") or {})
    writer = "stylegan2-ada-pytorch" if nested else "stylegan3"
    notes.append(f"written by NVIDIA's {writer} code (embedded source not run)")
    if arch == "stylegan3":
        synthesis = config["synthesis_kwargs"]
        radial = synthesis.get("conv_kernel") == 1 or synthesis.get("use_radial_filters")
        notes.append("StyleGAN3-R (rotation equivariant)" if radial else "StyleGAN3-T (translation equivariant)")
    if arch == "stylegan2":
        fp16 = _fp16_resolutions(generator, arch)
        if fp16:
            notes.append(f"fp16 layers at the {len(fp16)} highest resolutions run in fp32 on CPU")
    else:
        layers = _sg3_layers(generator)
        fp16_layers = sum(1 for _, layer in layers if layer.state.get("use_fp16"))
        if fp16_layers:
            notes.append(f"fp16 in {fp16_layers} of {len(layers)} synthesis layers; they run in fp32 on CPU")
    if config["c_dim"]:
        notes.append(f"class-conditional: {config['c_dim']} classes")
    return notes
