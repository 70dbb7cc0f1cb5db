"""The llama.cpp side: one base model loaded once, adapters swapped on top, generation and
multiple-choice scoring.

    from t2l_edge.engine import Engine
    with Engine("base.gguf") as eng:
        eng.use("sci.gguf")
        print(eng.generate("Which gas do plants absorb?").text)

Modules in this package may use Engine's private state (KV cache, batch, llama.cpp handles);
everything outside it goes through Engine's public methods.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Re-exports resolve on first use, so importing a helper module (chat_template) stays cheap.
_EXPORTS = {"Engine": "engine", "LoadedAdapter": "engine", "GenerationResult": "generation"}
__all__ = ["Engine", "GenerationResult", "LoadedAdapter"]

if TYPE_CHECKING:
    from .engine import Engine, LoadedAdapter
    from .generation import GenerationResult


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
