"""An independent proof of the Q/K permutation: llama.cpp's own convert_lora_to_gguf.py (the
vendored copy the upstream tools are built from) turns our PEFT export into a GGUF, and every
tensor must equal what our direct GGUF writer (gguf_adapter.write_gguf) wrote, to fp16
rounding, lora_b of q/k included.

The converter needs the base's Hugging Face config (it reads head counts for the permutation
from it): written here from the GGUF itself with transformers. It runs with the venv's python
but its own vendored gguf-py first on PYTHONPATH, only in that subprocess, so it never meets
the project's pinned gguf==0.19.0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import upstream_tools as up

pytestmark = pytest.mark.slow

DESC = "Answer the multiple-choice science question with the text of the correct option."


def _converter() -> Path:
    reason = up.missing_reason("convert_lora_to_gguf.py")
    if reason:
        pytest.skip(reason)
    return up.tools_dir() / "llama.cpp" / "convert_lora_to_gguf.py"


def convert(peft_dir: Path, config_dir: Path, out: Path, outtype: str) -> Path:
    args = [sys.executable, str(_converter()), "--base", str(config_dir), "--outtype", outtype, "--outfile", str(out), str(peft_dir)]
    r = up.run(args, env=up.converter_env())
    assert r.returncode == 0 and out.is_file(), r.stderr[-3000:]
    return out


def read_tensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str], float]:
    """name -> float32 data (numpy order), name -> ggml type name, adapter.lora.alpha."""
    import gguf

    r = gguf.GGUFReader(str(path))
    data = {t.name: np.asarray(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)]) for t in r.tensors}
    types = {t.name: t.tensor_type.name for t in r.tensors}
    alpha = float(r.fields[gguf.Keys.Adapter.LORA_ALPHA].contents())
    return data, types, alpha


def parity(ours: Path, theirs: Path) -> dict:
    """Per-tensor comparison; `max_abs` over all tensors, `worst_ratio` = largest
    |ours - theirs| / fp16 rounding step at that value (<= 1 means within fp16 rounding)."""
    a, ta, alpha_a = read_tensors(ours)
    b, tb, alpha_b = read_tensors(theirs)
    assert sorted(a) == sorted(b), (sorted(set(a) ^ set(b)))[:10]
    worst, max_abs = 0.0, 0.0
    for name in a:
        assert a[name].shape == b[name].shape, name
        diff = np.abs(a[name] - b[name])
        step = np.spacing(np.abs(b[name]).astype(np.float16)).astype(np.float32)  # fp16 ulp at each value
        worst = max(worst, float((diff / step).max()))
        max_abs = max(max_abs, float(diff.max()))
    return {"n_tensors": len(a), "max_abs": max_abs, "worst_ratio": worst, "types_ours": sorted(set(ta.values())),
            "types_theirs": sorted(set(tb.values())), "alpha_ours": alpha_a, "alpha_theirs": alpha_b}


def hf_config_folder(base: Path, out: Path) -> Path:
    """config.json + tokenizer of a GGUF base, via transformers' GGUF loader."""
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    cfg = transformers.AutoConfig.from_pretrained(str(base.parent), gguf_file=base.name)
    if not cfg.architectures:  # the converter picks its model class from this field
        cfg.architectures = [MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[cfg.model_type]]
    cfg.save_pretrained(str(out))
    transformers.AutoTokenizer.from_pretrained(str(base.parent), gguf_file=base.name).save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    _converter()
    pytest.importorskip("transformers")
    from t2l_edge.core.basemodel import default_base_path, read_base_spec

    d = tmp_path_factory.mktemp("convert")
    base = default_base_path()
    return {"dir": d, "base": base, "spec": read_base_spec(base), "config": hf_config_folder(base, d / "hf-config")}


def _no_permutation_would_differ(gguf_path: Path, peft_dir: Path, spec) -> None:
    """The check is not vacuous: the q/k lora_b in the GGUF are not in HF (PEFT) row order."""
    from safetensors.numpy import load_file

    from t2l_edge.core.arch import gguf_tensor_name, hf_module_path

    data, _, _ = read_tensors(gguf_path)
    peft = load_file(str(peft_dir / "adapter_model.safetensors"))
    for m in ("q_proj", "k_proj"):
        key = f"base_model.model.{hf_module_path(m, 0)}.lora_B.weight"
        if key in peft:
            assert not np.allclose(data[gguf_tensor_name(m, 0) + ".lora_b"], peft[key]), m


def test_converter_sees_vendored_gguf():
    _converter()
    r = up.run([sys.executable, "-c", "import gguf; print(gguf.__file__)"], env=up.converter_env())
    assert r.returncode == 0 and str(up.tools_dir() / "llama.cpp" / "gguf-py") in r.stdout, r.stdout + r.stderr


def test_make_adapter_peft_converts_to_our_gguf(smollm2):
    """The shipped default's adapter (q/v): make-adapter --format peft -> upstream converter
    vs make-adapter's own GGUF, both F16."""
    d = smollm2["dir"]
    env = up.run_env()
    for fmt, out in (("gguf", d / "sci.gguf"), ("peft", d / "sci-peft")):
        r = subprocess.run([sys.executable, "-m", "t2l_edge.cli", "make-adapter", DESC, "--format", fmt, "-o", str(out)],
                           capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr
    theirs = convert(d / "sci-peft", smollm2["config"], d / "sci-upstream.gguf", "f16")
    p = parity(d / "sci.gguf", theirs)
    print("\nconverter parity (make-adapter, f16):", json.dumps(p))
    assert p["n_tensors"] == 2 * 2 * smollm2["spec"].n_layer and p["worst_ratio"] <= 1.0
    assert p["types_ours"] == p["types_theirs"] == ["F16"]
    config = json.loads((d / "sci-peft" / "adapter_config.json").read_text())
    # The converter copies lora_alpha and ignores use_rslora. Our PEFT export writes rsLoRA as
    # plain LoRA with alpha * sqrt(r) (the same PEFT scale), so the converter's file carries
    # the alpha our own GGUF writer stores and acts at full strength.
    assert config["use_rslora"] is False
    assert p["alpha_theirs"] == pytest.approx(p["alpha_ours"]) == pytest.approx(16.0 * np.sqrt(8))
    _no_permutation_would_differ(theirs, d / "sci-peft", smollm2["spec"])


@pytest.mark.parametrize("outtype", ["f32", "f16"])
def test_qkvo_adapter_converts_to_our_gguf(smollm2, outtype):
    """A random q/k/v/o adapter on the SmolLM2 shapes (k checks the n_head_kv permutation)."""
    from t2l_edge.formats.gguf_adapter import write_gguf
    from t2l_edge.formats.peft_writer import write_peft
    from tests.helpers.tinyllama import random_adapter

    d, spec = smollm2["dir"], smollm2["spec"]
    ad = random_adapter(spec, modules=("q_proj", "k_proj", "v_proj", "o_proj"), rank=8, seed=5)
    ours = write_gguf(ad, d / f"qkvo-{outtype}.gguf", dtype=outtype, force=True)
    peft = write_peft(ad, d / f"qkvo-peft-{outtype}", force=True)
    theirs = convert(peft, smollm2["config"], d / f"qkvo-upstream-{outtype}.gguf", outtype)
    p = parity(ours, theirs)
    print(f"\nconverter parity (q/k/v/o, {outtype}):", json.dumps(p))
    assert p["n_tensors"] == 4 * 2 * spec.n_layer and p["worst_ratio"] <= 1.0
    assert p["types_ours"] == p["types_theirs"] == [outtype.upper()]
    assert p["alpha_theirs"] == pytest.approx(p["alpha_ours"])
    _no_permutation_would_differ(theirs, peft, spec)


def test_tiny_qwen2_converts_to_our_gguf(tmp_path):
    """qwen2 has no permutation: the converter must leave q/k rows alone, as our writer does."""
    _converter()
    transformers = pytest.importorskip("transformers")
    from t2l_edge.core.basemodel import BaseSpec
    from t2l_edge.formats.gguf_adapter import write_gguf
    from t2l_edge.formats.peft_writer import write_peft
    from tests.helpers.tinyllama import random_adapter

    cfg = transformers.Qwen2Config(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, architectures=["Qwen2ForCausalLM"])
    cfg.save_pretrained(str(tmp_path / "hf-config"))
    spec = BaseSpec(arch="qwen2", n_layer=2, hidden=64, n_head=4, n_head_kv=2, head_dim=16, ffn=128, vocab=320,
                    name="tiny-qwen2")
    ad = random_adapter(spec, modules=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
                        rank=4, seed=2)
    ours = write_gguf(ad, tmp_path / "ours.gguf", dtype="f32")
    peft = write_peft(ad, tmp_path / "peft")
    theirs = convert(peft, tmp_path / "hf-config", tmp_path / "theirs.gguf", "f32")
    p = parity(ours, theirs)
    print("\nconverter parity (tiny qwen2, f32):", json.dumps(p))
    assert p["n_tensors"] == 7 * 2 * 2 and p["worst_ratio"] <= 1.0
    # and here lora_b is stored in HF row order, untouched
    from safetensors.numpy import load_file

    data, _, _ = read_tensors(theirs)
    raw = load_file(str(peft / "adapter_model.safetensors"))
    np.testing.assert_array_equal(data["blk.1.attn_k.weight.lora_b"], raw["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"])
