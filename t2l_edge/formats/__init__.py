"""Files on disk: the GGUF LoRA writer and reader, GGUF header checks, the adapter validator,
the PEFT writer, and `keys`, the names shared by whoever writes and whoever reads them.

    from t2l_edge.formats import write_gguf, write_peft
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Re-exports resolve on first use, so a module that needs only `keys` (the bundle reader on
# make-adapter's cold path) does not pay for gguf and the writers.
_EXPORTS = {
    "write_gguf": "gguf_adapter", "read_gguf_adapter": "gguf_adapter",
    "write_peft": "peft_writer",
    "validate_adapter": "validate", "AdapterReport": "validate",
}
__all__ = ["AdapterReport", "read_gguf_adapter", "validate_adapter", "write_gguf", "write_peft"]

if TYPE_CHECKING:
    from .gguf_adapter import read_gguf_adapter, write_gguf
    from .peft_writer import write_peft
    from .validate import AdapterReport, validate_adapter


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
