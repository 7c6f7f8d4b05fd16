"""Guard against shiboken6 6.12's reference-count slip on CPython < 3.12.

shiboken6 6.12.0 (the PySide6 in this project's environment) returns ``None`` from every void method, and
``True``/``False`` from a few others such as ``Signal.connect``, without taking a reference. On Python 3.12+
these objects are immortal (PEP 683), so nothing happens; on 3.11 each call takes one reference from the
singleton, and after a few thousand calls (seconds of painting) the interpreter aborts with "Fatal Python
error: none_dealloc: deallocating None". We give the three singletons a huge reference count once, which
is what 3.12 does for them anyway; they are never freed, so this cannot leak or break anything.
"""

from __future__ import annotations

import ctypes
import sys

_MARGIN = 1 << 40  # far more calls than any session makes


def make_singletons_immortal() -> None:
    if sys.version_info >= (3, 12) or getattr(sys, "_explorer_refcount_guard", False):
        return
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _MARGIN
    sys._explorer_refcount_guard = True
