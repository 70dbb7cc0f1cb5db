"""The torch-free generator: a bundle (manifest, encoder, hypernetwork) in, Adapters out.

    from t2l_edge.runtime import Generator
    gen = Generator.load("models/default")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Re-exports resolve on first use: reading a manifest (chat's default bundle path, the
# exporter) should not open onnxruntime.
_EXPORTS = {
    "Generator": "generator",
    "Manifest": "bundle", "load_bundle": "bundle", "load_manifest": "bundle", "default_bundle_path": "bundle",
    "OnnxEncoder": "encoder_runtime", "ort_session": "encoder_runtime",
}
__all__ = ["Generator", "Manifest", "OnnxEncoder", "default_bundle_path", "load_bundle", "load_manifest", "ort_session"]

if TYPE_CHECKING:
    from .bundle import Manifest, default_bundle_path, load_bundle, load_manifest
    from .encoder_runtime import OnnxEncoder, ort_session
    from .generator import Generator


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
