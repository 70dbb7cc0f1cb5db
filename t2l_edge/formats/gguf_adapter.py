"""Write and read llama.cpp GGUF LoRA adapters.

Layout (llama.cpp src/llama-adapter.cpp): general.type=adapter, adapter.type=lora, the base's
general.architecture, adapter.lora.alpha; tensors `<base tensor>.lora_a` [r, in] and
`.lora_b` [out, r] as numpy shapes. For architectures whose Q/K rows llama.cpp permuted at
conversion, lora_b of q/k gets the same row permutation, otherwise the adapter is silently wrong.
Output is deterministic: fixed key order, sorted tensors, no timestamps.
"""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np

from ..core.adapter import Adapter
from ..core.arch import gguf_tensor_name, permute_rows, qk_heads, unpermute_rows
from ..core.atomic import atomic_output
from ..core.basemodel import BaseSpec
from ..core.errors import T2LError
from .keys import (KEY_BASE_NAME, KEY_BASE_SHA256, KEY_BASE_SPEC, KEY_EXTRA, KEY_GENERATOR, KEY_PEFT_ALPHA,
                   KEY_RANK, KEY_RSLORA)

DTYPES = {"f16": (np.float16, gguf.GGMLQuantizationType.F16), "f32": (np.float32, gguf.GGMLQuantizationType.F32)}


def gguf_order_b(adapter: Adapter, module: str, layer: int) -> np.ndarray:
    b = adapter.B[module][layer]
    heads = qk_heads(module, adapter.base.n_head, adapter.base.n_head_kv)
    if adapter.base.permute_qk and heads is not None:
        b = permute_rows(b, heads)
    return b


def write_gguf(adapter: Adapter, path: str | os.PathLike, dtype: str = "f16", force: bool = False) -> Path:
    """Write `adapter` as a GGUF LoRA at `path` atomically. Returns the final path."""
    np_dtype = _checked_dtype(adapter, dtype)
    with atomic_output(path, force=force) as tmp:
        _write(adapter, tmp, np_dtype)
    return Path(path)


def write_scratch_gguf(adapter: Adapter, path: str | os.PathLike, dtype: str = "f32") -> Path:
    """The same file written in place, with no rename and no fsync: for a file that lives only
    until llama.cpp has copied it (Engine.load of an in-memory Adapter), where durability buys
    nothing and the fsync alone was a quarter of the write."""
    _write(adapter, Path(path), _checked_dtype(adapter, dtype))
    return Path(path)


def _checked_dtype(adapter: Adapter, dtype: str):
    if dtype not in DTYPES:
        raise T2LError(f"unknown adapter dtype '{dtype}'", "use f16 or f32")
    adapter.check_finite()
    if dtype == "f16":
        biggest = max(float(np.abs(x).max(initial=0.0)) for x in [*adapter.A.values(), *adapter.B.values()])
        if biggest > 65000.0:
            raise T2LError("generated LoRA values overflow float16", "write with --dtype f32")
    return DTYPES[dtype][0]


def _write(adapter: Adapter, path: Path, np_dtype) -> None:
    import json

    spec = adapter.base
    shape_only = {k: v for k, v in spec.to_dict().items() if k not in ("sha256", "size", "name")}
    w = gguf.GGUFWriter(str(path), arch=spec.arch)
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(adapter.gguf_alpha))
    w.add_string(gguf.Keys.Adapter.LORA_TASK_NAME, adapter.description)
    w.add_string(KEY_BASE_SHA256, spec.sha256)
    w.add_string(KEY_BASE_NAME, spec.name)
    w.add_string(KEY_BASE_SPEC, json.dumps(shape_only, sort_keys=True))
    w.add_string(KEY_GENERATOR, adapter.generator)
    w.add_uint32(KEY_RANK, adapter.rank)
    w.add_float32(KEY_PEFT_ALPHA, float(adapter.alpha))
    w.add_bool(KEY_RSLORA, bool(adapter.use_rslora))
    w.add_string(KEY_EXTRA, json.dumps(adapter.extra, sort_keys=True))
    for layer in range(spec.n_layer):
        for module in sorted(adapter.A):
            base_name = gguf_tensor_name(module, layer)
            a = np.ascontiguousarray(adapter.A[module][layer], dtype=np_dtype)
            b = np.ascontiguousarray(gguf_order_b(adapter, module, layer), dtype=np_dtype)
            w.add_tensor(base_name + ".lora_a", a)
            w.add_tensor(base_name + ".lora_b", b)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _str(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def read_gguf_adapter(path: str | os.PathLike, base: BaseSpec | None = None) -> Adapter:
    """Read a GGUF LoRA written by t2l-edge (or any q/k/v/o/ffn LoRA if `base` is given) back
    into an Adapter in HF row order. Validation proper lives in validate.py; this assumes a
    structurally sound file."""
    import json

    from ..core.arch import ARCHITECTURES
    from ..core.basemodel import open_gguf

    r = open_gguf(path)
    if _str(r, "general.type") != "adapter":
        raise T2LError(f"{path} is not a LoRA adapter (general.type is not 'adapter')", "pass an adapter .gguf")
    if base is None:
        spec_json = _str(r, KEY_BASE_SPEC)
        if spec_json is None:
            raise T2LError(f"{path} does not record its base model", "pass --base to read it")
        base = BaseSpec.from_dict(
            {**json.loads(spec_json), "sha256": _str(r, KEY_BASE_SHA256, ""), "name": _str(r, KEY_BASE_NAME, "")}
        )
    tensors = {t.name: t for t in r.tensors}
    modules = [m for m in ARCHITECTURES[base.arch].modules if gguf_tensor_name(m, 0) + ".lora_a" in tensors]
    first = tensors[gguf_tensor_name(modules[0], 0) + ".lora_a"]
    rank = int(first.shape[1])
    gguf_alpha = float(_str(r, gguf.Keys.Adapter.LORA_ALPHA, 0.0))
    peft_alpha = _str(r, KEY_PEFT_ALPHA)
    rslora = bool(_str(r, KEY_RSLORA, False))
    if peft_alpha is None:  # foreign adapter: express llama.cpp's alpha/r scale as plain LoRA
        peft_alpha, rslora = gguf_alpha, False
    A, B = {}, {}
    for m in modules:
        fin, fout = base.shape(m)
        A[m] = np.zeros((base.n_layer, rank, fin), np.float32)
        B[m] = np.zeros((base.n_layer, fout, rank), np.float32)
        heads = qk_heads(m, base.n_head, base.n_head_kv)
        for layer in range(base.n_layer):
            name = gguf_tensor_name(m, layer)
            a = np.asarray(tensors[name + ".lora_a"].data, dtype=np.float32).reshape(rank, fin)
            b = np.asarray(tensors[name + ".lora_b"].data, dtype=np.float32).reshape(fout, rank)
            if base.permute_qk and heads is not None:
                b = unpermute_rows(b, heads)
            A[m][layer], B[m][layer] = a, b
    extra = _str(r, KEY_EXTRA)
    return Adapter(
        description=_str(r, gguf.Keys.Adapter.LORA_TASK_NAME, ""), base=base, rank=rank,
        alpha=float(peft_alpha), use_rslora=rslora, A=A, B=B,
        generator=_str(r, KEY_GENERATOR, ""), extra=json.loads(extra) if extra else {},
    )
