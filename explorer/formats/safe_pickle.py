"""A restricted unpickler that never runs anything from the file: reusable by every pickle-based reader.

A pickle is a small program; ``pickle.load`` runs it, and its GLOBAL / REDUCE / BUILD opcodes can import
and call anything. ``SafeUnpickler`` runs the same opcodes under these rules:

- ``find_class`` answers only an explicit allow-list of globals, every one mapped to *our* inert
  replacement (containers, numpy arrays and scalars, torch tensors over raw storage bytes); anything else
  (``os.system``, ``builtins.eval``, any other ``torch.*``) raises ``UnsafeModel`` naming the global.
  Readers add their own names (``extra_globals``) or subclass, never with a real library function.
- REDUCE / NEWOBJ / INST / OBJ call only what the allow-list put on the stack; BUILD (``__setstate__``)
  only on the few types whose state is validated here (``build_state``, which subclasses extend).
- Resources are bounded before they are spent: every declared length (frames, bytes, strings) must fit in
  what is left of the file, the number of opcodes (hence objects and memo entries) and the MARK depth are
  capped, dict keys and set items must be plain hashables (hashing a deeply nested tuple recurses in C),
  and ``check_graph`` refuses object graphs that are too deep, cyclic or exponentially aliased before a
  reader walks them.
- Tensor storages (``torch.storage._load_from_bytes``) are parsed from torch's legacy container by our own
  code; no torch unpickler ever sees the bytes.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.errors import CorruptModel, ModelError, NotAModel, UnsafeModel

# torch's legacy (non-zip) torch.save container, as written by ``Storage.__reduce__``.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# The storage classes a legacy container may name, and the element type each stands for.
STORAGE_DTYPES = {
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

# --------------------------------------------------------------------------------------------------------
# Plain stand-ins for the classes a pickle names


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
# Resource bounds (generous for real snapshots: a 1024 px NVIDIA snapshot with G, D and G_ema runs a few
# hundred thousand opcodes and nests about 20 containers deep)

MAX_OPCODES = 4_000_000  # every opcode makes at most one object: this caps objects, memo and stack (~0.5 GB)
MAX_MARK_DEPTH = 1_000  # open MARKs (nested tuple / list / dict literals under construction)
MAX_GRAPH_DEPTH = 64  # containers inside containers, as a reader would walk them
MAX_GRAPH_VISITS = 2_000_000  # container entries a walk would visit, aliases counted each time they recur
_PLAIN_KEYS = (str, bytes, int, float, bool, type(None))


class BoundedFile:
    """The file as the unpickler reads it: a length the file cannot hold is refused before it is read.

    ``pickle`` reads a declared length (a frame, bytes, a string) with one ``read(n)``, which allocates ``n``
    bytes first; a ten-byte file declaring 2**60 bytes would otherwise exhaust memory.
    """

    def __init__(self, handle, path: Path):
        self.handle = handle
        self.path = path
        self.size = os.fstat(handle.fileno()).st_size
        self.readline = handle.readline  # bounded by the file itself

    def read(self, n: int = -1) -> bytes:
        if n is not None and n > 8 and n > self.size - self.handle.tell():
            raise CorruptModel(self.path, f"pickle declares {n:,} bytes where the file has "
                                          f"{self.size - self.handle.tell():,} left")
        return self.handle.read(n)


def _check_plain_key(key: Any, path: Path) -> None:
    """Dict keys and set items must be scalars or flat tuples of scalars (hashing deep tuples recurses in C)."""
    if isinstance(key, _PLAIN_KEYS):
        return
    if isinstance(key, tuple) and len(key) <= 16 and all(isinstance(k, _PLAIN_KEYS) for k in key):
        return
    raise UnsafeModel(path, f"refused a {type(key).__name__} as a dict key or set item")


def check_graph(obj: Any, path: Path, max_depth: int = MAX_GRAPH_DEPTH, max_visits: int = MAX_GRAPH_VISITS) -> None:
    """Refuse an unpickled object graph that a recursive walk could not finish: too deep, cyclic (a list
    that contains itself), or exponentially aliased (a list holding the same list many times, nested).

    Iterative, so it cannot itself overflow the stack; tensors and arrays are leaves.
    """
    pending = [(obj, 0)]
    visits = 0
    while pending:
        item, depth = pending.pop()
        visits += 1
        if visits > max_visits:
            raise CorruptModel(path, f"pickle's object graph exceeds {max_visits:,} entries (aliased containers?)")
        if depth > max_depth:
            raise CorruptModel(path, f"pickle nests deeper than {max_depth} levels (or contains itself)")
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            children = list(item)
        elif isinstance(item, (*_PLAIN_KEYS, bytearray, np.ndarray, np.generic, np.dtype, torch.Tensor, TypedBuffer)):
            continue
        elif hasattr(item, "__dict__"):
            children = list(vars(item).values())
        else:
            continue
        pending.extend((child, depth + 1) for child in children)


def _counted(handler):
    """Wrap an opcode handler so that the number of opcodes run stays under MAX_OPCODES."""

    def run(self):
        self.opcodes += 1
        if self.opcodes > MAX_OPCODES:
            raise CorruptModel(self.path, f"pickle runs more than {MAX_OPCODES:,} opcodes")
        handler(self)

    return run


# --------------------------------------------------------------------------------------------------------
# The restricted unpickler


class SafeUnpickler(pickle._Unpickler):  # the pure-Python unpickler, so every opcode can be restricted
    """An unpickler that resolves only allow-listed globals, each to our own safe replacement.

    Subclasses the pure-Python ``pickle._Unpickler`` because the C one calls ``__setstate__`` / ``setattr``
    on whatever object a BUILD opcode targets and calls whatever REDUCE finds; here those opcodes are
    replaced by handlers that accept only allow-listed callables and validated state. Subclasses add
    globals (``extra_globals`` or ``_base_globals``) and states they accept (``build_state``).
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, path: Path, extra_globals: dict[str, Any] | None = None):
        super().__init__(file)
        self.path = Path(path)
        self.opcodes = 0
        self.allowed = self._base_globals()
        if extra_globals:
            self.allowed.update(extra_globals)

    def _base_globals(self) -> dict[str, Any]:
        allowed: dict[str, Any] = {
            "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
            "torch._utils._rebuild_parameter": _rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
            "torch.storage._load_from_bytes": self._load_from_bytes,
            "collections.OrderedDict": OrderedDict,
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
        raise UnsafeModel(self.path, f"refused global '{key[:120]}'")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeModel(self.path, "refused persistent reference in a pickle")

    # -- calls: only what the allow-list handed out ----------------------------------------------------

    def _callable(self, func: Any) -> Any:
        if not any(func is allowed for allowed in self.allowed.values()):
            raise UnsafeModel(self.path, f"refused to call a {type(func).__name__} that no allowed global named")
        if isinstance(func, type) and issubclass(func, (dict, set, frozenset)):
            return _checked_container(func, self.path)
        return func

    def _load_reduce(self) -> None:
        args = self.stack.pop()
        func = self._callable(self.stack[-1])
        if not isinstance(args, tuple):
            raise pickle.UnpicklingError("REDUCE arguments are not a tuple")
        self.stack[-1] = func(*args)

    def _instantiate(self, klass, args) -> None:  # INST and OBJ
        self.append(self._callable(klass)(*args))

    def _load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self._callable(cls)
        if not isinstance(cls, type) or not isinstance(args, tuple):
            raise UnsafeModel(self.path, f"refused NEWOBJ on a {type(cls).__name__}")
        self.append(cls.__new__(cls, *args))

    def _load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        if kwargs:
            raise UnsafeModel(self.path, "refused NEWOBJ_EX with keyword arguments")
        self._load_newobj()

    # -- containers: plain keys, bounded nesting ------------------------------------------------------

    def _load_mark(self) -> None:
        if len(self.metastack) >= MAX_MARK_DEPTH:
            raise CorruptModel(self.path, f"pickle nests more than {MAX_MARK_DEPTH} open MARKs")
        pickle._Unpickler.load_mark(self)

    def _load_setitem(self) -> None:
        _check_plain_key(self.stack[-2], self.path)
        pickle._Unpickler.load_setitem(self)

    def _load_setitems(self) -> None:
        for key in self.stack[0::2]:  # after a MARK, the stack holds just the items since it
            _check_plain_key(key, self.path)
        pickle._Unpickler.load_setitems(self)

    def _load_dict(self) -> None:
        for key in self.stack[0::2]:
            _check_plain_key(key, self.path)
        pickle._Unpickler.load_dict(self)

    def _load_additems(self) -> None:
        for item in self.stack:
            _check_plain_key(item, self.path)
        pickle._Unpickler.load_additems(self)

    def _load_frozenset(self) -> None:
        for item in self.stack:
            _check_plain_key(item, self.path)
        pickle._Unpickler.load_frozenset(self)

    def _load_bytearray8(self) -> None:
        (size,) = struct.unpack("<Q", self.read(8))
        if size > self._file_size:
            raise CorruptModel(self.path, f"pickle declares a bytearray of {size:,} bytes, more than the file holds")
        self.append(bytearray(self.read(size)))

    # -- tensor storages -------------------------------------------------------------------------------

    def _load_from_bytes(self, data: Any) -> TypedBuffer:
        """Our ``torch.storage._load_from_bytes``: parse one legacy ``torch.save`` of a storage."""
        if not isinstance(data, (bytes, bytearray)):
            raise pickle.UnpicklingError("storage bytes expected")
        return read_legacy_storage(bytes(data), self.path)

    # -- BUILD -----------------------------------------------------------------------------------------

    def build_state(self, inst: Any, state: Any) -> bool:
        """Apply BUILD's ``state`` to ``inst`` if this unpickler knows the type; False refuses it."""
        if type(inst) is np.ndarray:
            _build_ndarray(inst, state)
        elif isinstance(inst, np.dtype):
            _check_dtype_state(inst, state)
        elif type(inst) is OrderedDict and state in (None, {}):
            pass  # an empty instance __dict__, as older Pythons write it
        else:
            return False
        return True

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if not self.build_state(inst, state):
            raise UnsafeModel(self.path, f"refused to set the state of a {type(inst).__name__}")

    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.NEWOBJ[0]] = _load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = _load_newobj_ex
    dispatch[pickle.MARK[0]] = _load_mark
    dispatch[pickle.SETITEM[0]] = _load_setitem
    dispatch[pickle.SETITEMS[0]] = _load_setitems
    dispatch[pickle.DICT[0]] = _load_dict
    dispatch[pickle.ADDITEMS[0]] = _load_additems
    dispatch[pickle.FROZENSET[0]] = _load_frozenset
    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8
    dispatch[pickle.BUILD[0]] = _load_build
    dispatch = {code: _counted(handler) for code, handler in dispatch.items()}

    _file_size = 1 << 62  # replaced by the file's size in safe_load


def _checked_container(cls: type, path: Path):
    """``set(items)`` / ``OrderedDict(pairs)`` & co., after checking that every key is plain."""

    def build(*args):
        for arg in args:
            items = arg.keys() if isinstance(arg, dict) else arg if isinstance(arg, (list, tuple, set)) else None
            if items is None:
                raise pickle.UnpicklingError(f"{cls.__name__} from a {type(arg).__name__}")
            for item in items:
                _check_plain_key(item[0] if issubclass(cls, dict) and isinstance(item, tuple) and item else item, path)
        return cls(*args)

    return build


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
        self.allowed = {f"torch.{name}": _StorageType(name, dtype) for name, dtype in STORAGE_DTYPES.items()}
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


def safe_load(path: str | Path, unpickler: type[SafeUnpickler] = SafeUnpickler,
              extra_globals: dict[str, Any] | None = None) -> Any:
    """Unpickle ``path`` with a restricted unpickler: data only, nothing from the file is ever run.

    Raises ``UnsafeModel`` for any global or call outside the allow-list, ``CorruptModel`` for a truncated,
    malformed or resource-hungry stream, ``NotAModel`` for a file that is not a pickle. The result has
    passed ``check_graph``. ``extra_globals`` ({"module.name": safe replacement}) lets a reader allow a
    global it has re-implemented; never pass a real library function.
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
            loader = unpickler(BoundedFile(f, path), path, extra_globals)
            loader._file_size = os.fstat(f.fileno()).st_size
            obj = loader.load()
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
    check_graph(obj, path)
    return obj
