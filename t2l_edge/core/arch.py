"""The one table of supported base-model architectures.

For every architecture: which projections an adapter may target, the HF module path and the
llama.cpp tensor of each, how in/out sizes follow from GGUF metadata, and whether llama.cpp's
converter permuted the Q/K rows (so lora_B of q/k must be permuted the same way on export).
Tensor names come from gguf's own constants, never string literals.
"""

from __future__ import annotations

from dataclasses import dataclass

import gguf

# HF module name -> (HF submodule path inside a decoder layer, gguf tensor kind)
_PROJECTIONS: dict[str, tuple[str, gguf.MODEL_TENSOR]] = {
    "q_proj": ("self_attn.q_proj", gguf.MODEL_TENSOR.ATTN_Q),
    "k_proj": ("self_attn.k_proj", gguf.MODEL_TENSOR.ATTN_K),
    "v_proj": ("self_attn.v_proj", gguf.MODEL_TENSOR.ATTN_V),
    "o_proj": ("self_attn.o_proj", gguf.MODEL_TENSOR.ATTN_OUT),
    "gate_proj": ("mlp.gate_proj", gguf.MODEL_TENSOR.FFN_GATE),
    "up_proj": ("mlp.up_proj", gguf.MODEL_TENSOR.FFN_UP),
    "down_proj": ("mlp.down_proj", gguf.MODEL_TENSOR.FFN_DOWN),
}


@dataclass(frozen=True)
class ArchInfo:
    name: str
    modules: tuple[str, ...]
    permute_qk: bool  # llama.cpp's converter reorders q/k rows for rope (llama family only)


ARCHITECTURES: dict[str, ArchInfo] = {
    "llama": ArchInfo("llama", tuple(_PROJECTIONS), permute_qk=True),
    "qwen2": ArchInfo("qwen2", tuple(_PROJECTIONS), permute_qk=False),
    "qwen3": ArchInfo("qwen3", tuple(_PROJECTIONS), permute_qk=False),
}


def arch_info(arch: str) -> ArchInfo:
    from .errors import T2LError

    if arch not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise T2LError(f"unsupported architecture '{arch}'", f"supported: {known}")
    return ARCHITECTURES[arch]


def hf_module_path(module: str, layer: int) -> str:
    """PEFT/transformers name of a projection, e.g. model.layers.3.self_attn.q_proj."""
    return f"model.layers.{layer}.{_PROJECTIONS[module][0]}"


def gguf_tensor_name(module: str, layer: int) -> str:
    """llama.cpp base tensor name, e.g. blk.3.attn_q.weight."""
    kind = _PROJECTIONS[module][1]
    return gguf.TENSOR_NAMES[kind].format(bid=layer) + ".weight"


def module_shape(module: str, hidden: int, n_head: int, n_head_kv: int, head_dim: int, ffn: int) -> tuple[int, int]:
    """(in_features, out_features) of a projection."""
    q_out = n_head * head_dim
    kv_out = n_head_kv * head_dim
    return {
        "q_proj": (hidden, q_out),
        "k_proj": (hidden, kv_out),
        "v_proj": (hidden, kv_out),
        "o_proj": (q_out, hidden),
        "gate_proj": (hidden, ffn),
        "up_proj": (hidden, ffn),
        "down_proj": (ffn, hidden),
    }[module]


def qk_heads(module: str, n_head: int, n_head_kv: int) -> int | None:
    """Head count used by llama.cpp's Q/K row permutation, or None if rows stay put."""
    return {"q_proj": n_head, "k_proj": n_head_kv}.get(module)


def permute_rows(w, n_heads: int):
    """llama.cpp convert_hf_to_gguf's permute: HF row order -> GGUF row order (numpy)."""
    out = w.shape[0]
    return w.reshape(n_heads, 2, out // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute_rows(w, n_heads: int):
    """Inverse of permute_rows: GGUF row order -> HF row order."""
    out = w.shape[0]
    return w.reshape(n_heads, out // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
