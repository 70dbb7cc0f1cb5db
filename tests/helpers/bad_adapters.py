"""Deliberately malformed adapter files, one per way a user can get it wrong.

Each case is (file, a fragment the validator's message must contain). They are written with
gguf.GGUFWriter directly, because t2l_edge's own writer refuses to produce most of them.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from t2l_edge.core.arch import gguf_tensor_name
from t2l_edge.formats.gguf_adapter import write_gguf
from t2l_edge.formats.keys import KEY_BASE_SHA256


def write_raw(path: Path, tensors: dict[str, np.ndarray], arch: str = "llama", general_type: str | None = "adapter",
              alpha: float | None = 8.0, base_sha256: str | None = None) -> Path:
    w = gguf.GGUFWriter(str(path), arch=arch)
    if general_type is not None:
        w.add_string("general.type", general_type)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    if alpha is not None:
        w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    if base_sha256 is not None:
        w.add_string(KEY_BASE_SHA256, base_sha256)
    for name, arr in tensors.items():
        w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def good_tensors(spec, rank: int = 4, dtype=np.float32, layers=None) -> dict[str, np.ndarray]:
    """A structurally valid q/v LoRA in numpy order: lora_a [r, in], lora_b [out, r]."""
    rng = np.random.default_rng(0)
    out = {}
    for layer in layers if layers is not None else range(spec.n_layer):
        for m in ("q_proj", "v_proj"):
            fin, fout = spec.shape(m)
            name = gguf_tensor_name(m, layer)
            out[name + ".lora_a"] = rng.standard_normal((rank, fin)).astype(dtype)
            out[name + ".lora_b"] = rng.standard_normal((fout, rank)).astype(dtype)
    return out


def build_cases(spec, base_path: Path, other_adapter, d: Path) -> dict[str, tuple[Path, str]]:
    """name -> (adapter file, expected message fragment). `other_adapter` is an Adapter made for
    a different base file with the same shapes (for the sha256 mismatch case)."""
    q = gguf_tensor_name("q_proj", 0)
    cases: dict[str, tuple[Path, str]] = {}

    def case(name, fragment, **kw):
        tensors = kw.pop("tensors")
        cases[name] = (write_raw(d / f"{name}.gguf", tensors, **kw), fragment)

    g = good_tensors(spec)
    case("wrong_arch", "architecture 'qwen2'", tensors=g, arch="qwen2")
    bad = dict(g)
    bad[q + ".lora_a"] = np.zeros((4, spec.hidden // 2), np.float32)
    case("wrong_shape", "the base needs", tensors=bad)
    bad = dict(g)
    bad[q + ".lora_a"] = np.ascontiguousarray(g[q + ".lora_a"].T)
    case("transposed_a", "lora_a is transposed", tensors=bad)
    bad = dict(g)
    del bad[q + ".lora_b"]
    case("missing_half", "missing one component (lora_b)", tensors=bad)
    case("unknown_suffix", "unexpected tensor", tensors={**g, q + ".lora_c": np.zeros((4, 4), np.float32)})
    ghost = f"blk.{spec.n_layer + 7}.attn_q.weight"  # a layer the base does not have (blk.9 on the tiny base)
    case("unknown_base_tensor", "does not exist in the base model",
         tensors={**g, ghost + ".lora_a": g[q + ".lora_a"], ghost + ".lora_b": g[q + ".lora_b"]})
    bad = dict(g)
    bad[q + ".lora_b"] = g[q + ".lora_b"].copy()
    bad[q + ".lora_b"][0, 0] = np.nan
    case("nan", "NaN or Inf", tensors=bad)
    case("bad_dtype", "needs F32, F16 or BF16", tensors=good_tensors(spec, dtype=np.float64))
    case("mixed_rank", "mixes LoRA ranks", tensors={**good_tensors(spec, 4, layers=[0]), **good_tensors(spec, 2, layers=[1])})
    case("no_alpha", "no adapter.lora.alpha", tensors=g, alpha=None)
    case("model_not_adapter", "not a LoRA adapter", tensors=g, general_type=None)
    cases["model_gguf"] = (base_path, "not a LoRA adapter")

    full = write_raw(d / "full.gguf", g)
    data = full.read_bytes()
    (d / "truncated.gguf").write_bytes(data[: len(data) - 100])
    cases["truncated"] = (d / "truncated.gguf", "truncated")
    (d / "cut_header.gguf").write_bytes(data[:200])  # cut inside the metadata
    cases["cut_header"] = (d / "cut_header.gguf", "truncated or corrupt")
    (d / "not_gguf.gguf").write_text("this is not a model\n" * 4)
    cases["not_gguf"] = (d / "not_gguf.gguf", "not a GGUF")
    (d / "empty.gguf").write_bytes(b"")
    cases["zero_bytes"] = (d / "empty.gguf", "not a GGUF")
    cases["base_mismatch"] = (write_gguf(other_adapter, d / "other_base.gguf", dtype="f32"), "was made for base")
    return cases
