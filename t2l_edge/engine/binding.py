"""llama-cpp-python, imported on first use, and llama.cpp's log routed through Python.

Kept apart from engine.py because the import has a side effect that must come first (the
OpenMP wait policy) and the log callback is process-wide, not per Engine.
"""

from __future__ import annotations

import ctypes
import os
import sys

from ..core.errors import T2LError

_LOG_CALLBACK = None  # keep the ctypes callback alive for the life of the process
_VERBOSE = False


def import_llama_cpp():
    # libgomp reads OMP_WAIT_POLICY when it loads: spin-waiting made evaluation ~30x slower on
    # a shared 2-core box. Only effective if llama_cpp was not imported before.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError as exc:
        raise T2LError(f"llama-cpp-python is not installed ({exc})", "pip install llama-cpp-python==0.3.36") from None
    return llama_cpp


def install_logger(lib, verbose: bool) -> None:
    """Route llama.cpp's log through one callback that is silent unless verbose."""
    global _LOG_CALLBACK, _VERBOSE
    _VERBOSE = verbose
    if _LOG_CALLBACK is None:
        @lib.llama_log_callback
        def _cb(level, text, user_data):
            if _VERBOSE:
                sys.stderr.write(text.decode("utf-8", "replace"))

        _LOG_CALLBACK = _cb
        lib.llama_log_set(_cb, ctypes.c_void_p(0))
