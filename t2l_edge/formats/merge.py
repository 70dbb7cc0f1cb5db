"""Bake an adapter into a copy of its base GGUF: the fast path for long sessions.

An active LoRA costs every decoded token two small extra matmuls per targeted projection, and
with several threads each waits on a thread barrier (bench/bench_llama.py measures the ratio).
A merged model has none: the targeted tensors become W + scale * B @ A. They are stored as
F16 (F32 where the base tensor is F32), since re-quantising to the base's Q4_1 would round
away much of the delta (docs/upstream.md); every other tensor and all metadata are copied
byte for byte, so the merged file is the base with a few tensors widened. It is what
upstream's llama-export-lora writes (tests/test_upstream_convert_slow.py compares the two).
"""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np

from ..core.adapter import Adapter
from ..core.arch import gguf_tensor_name
from ..core.atomic import atomic_output
from ..core.basemodel import open_gguf
from .gguf_adapter import gguf_order_b
from .validate import validate_adapter_object

_WIDE = {gguf.GGMLQuantizationType.F32: (np.float32, gguf.GGMLQuantizationType.F32)}
_F16 = (np.float16, gguf.GGMLQuantizationType.F16)


def gguf_deltas(adapter: Adapter, scale: float = 1.0) -> dict[str, np.ndarray]:
    """{base tensor name: scale * delta W} in the GGUF's row order (Q/K rows permuted as the
    converter permuted the base's), float32 [out, in]."""
    out = {}
    for module in adapter.A:
        for layer in range(adapter.base.n_layer):
            b = gguf_order_b(adapter, module, layer).astype(np.float32)
            a = adapter.A[module][layer].astype(np.float32)
            out[gguf_tensor_name(module, layer)] = (scale * adapter.scale) * (b @ a)
    return out


def merge_adapter(adapter: Adapter, base_path: str | os.PathLike, out_path: str | os.PathLike, scale: float = 1.0,
                  force: bool = False, allow_base_mismatch: bool = False) -> Path:
    """Write base + scale * adapter as a new model GGUF at `out_path` (atomically)."""
    validate_adapter_object(adapter, base_path, allow_base_mismatch=allow_base_mismatch)
    deltas = gguf_deltas(adapter, scale)
    reader = open_gguf(base_path)
    with atomic_output(out_path, force=force) as tmp:
        writer = gguf.GGUFWriter(str(tmp), arch=str(reader.fields[gguf.Keys.General.ARCHITECTURE].contents()))
        _copy_metadata(reader, writer)
        tensors = [(t, _merged(t, deltas.get(t.name))) for t in reader.tensors]
        for t, merged in tensors:
            if merged is None:
                writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
            else:
                writer.add_tensor_info(t.name, merged[0].shape, merged[0].dtype, merged[0].nbytes, merged[1])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t, merged in tensors:
            writer.write_tensor_data(t.data if merged is None else merged[0], tensor_endianess=reader.endianess)
        writer.close()
    return Path(out_path)


def _copy_metadata(reader, writer) -> None:
    """Every key/value as it is, but the ones GGUFWriter writes itself."""
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub_type)


def _merged(tensor, delta: np.ndarray | None):
    """(merged data, its ggml type), or None for a tensor the adapter does not touch."""
    if delta is None:
        return None
    weight = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32, copy=False)
    if weight.shape != delta.shape:
        raise ValueError(f"{tensor.name}: base {weight.shape} vs delta {delta.shape}")  # validated above; a bug if reached
    np_dtype, gtype = _WIDE.get(tensor.tensor_type, _F16)
    return np.ascontiguousarray(weight + delta, dtype=np_dtype), gtype


def merge_adapter_file(adapter_path: str | os.PathLike, base_path: str | os.PathLike, out_path: str | os.PathLike,
                       scale: float = 1.0, force: bool = False, allow_base_mismatch: bool = False):
    """merge_adapter for a GGUF adapter file: validated as a file first (any adapter, ours or
    converted), then read against the base it was validated for. Returns (merged path, report)."""
    from ..core.basemodel import read_base_spec
    from .gguf_adapter import read_gguf_adapter
    from .validate import validate_adapter

    report = validate_adapter(adapter_path, base_path, allow_base_mismatch=allow_base_mismatch)
    adapter = read_gguf_adapter(adapter_path, base=read_base_spec(base_path))
    return merge_adapter(adapter, base_path, out_path, scale=scale, force=force), report
