"""Real-model proof of the Q/K permutation: the same random LoRA merged in PyTorch (transformers
loading the SmolLM2 GGUF, which un-permutes q/k to HF order) and applied by llama.cpp as a GGUF
adapter must give the same next-token distributions; writing lora_B un-permuted must not.

Metric, over every position of a fixed prompt set: top-1 agreement and mean KL(torch || llama.cpp).
The base is Q4_1 and llama.cpp also quantizes activations (Q8_1) and the KV cache (F16), so
even base vs base is not exact. Thresholds are therefore relative to the base-vs-base figures
measured in the same run.
"""

from __future__ import annotations


import numpy as np
import pytest

pytestmark = pytest.mark.slow

PROMPTS = [
    "The capital of France is",
    "Question: Which gas do plants absorb from the air?\nAnswer:",
    "def fibonacci(n):\n    ",
    "Once upon a time, in a small village by the sea,",
    "Translate to French: I like apples.\nFrench:",
    "12 + 7 =",
    "The three primary colors are",
    "<|im_start|>user\nWhat is the boiling point of water?<|im_end|>\n<|im_start|>assistant\n",
]


def _log_softmax(x):
    x = np.asarray(x, np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def compare(ref_logits: list[np.ndarray], got_logits: list[np.ndarray]) -> dict:
    """top-1 agreement and mean KL(ref || got) over all positions of all prompts."""
    ref = np.concatenate([_log_softmax(x) for x in ref_logits])
    got = np.concatenate([_log_softmax(x) for x in got_logits])
    kl = (np.exp(ref) * (ref - got)).sum(-1)
    return {"top1": float((ref.argmax(-1) == got.argmax(-1)).mean()), "kl": float(kl.mean()), "n": len(ref)}


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("llama_cpp")
    from t2l_edge.core.basemodel import default_base_path, read_base_spec
    from t2l_edge.engine import Engine
    from t2l_edge.formats.gguf_adapter import write_gguf
    from tests.helpers.tinyllama import random_adapter, without_qk_permutation

    base = default_base_path()
    spec = read_base_spec(base)
    # q, k and v: q checks the n_head permutation, k the n_head_kv one (GQA), v none.
    ad = random_adapter(spec, modules=("q_proj", "k_proj", "v_proj"), rank=8, seed=3, b_scale=0.4)
    d = tmp_path_factory.mktemp("parity")
    good = write_gguf(ad, d / "good.gguf", dtype="f32")
    bad = write_gguf(without_qk_permutation(ad), d / "unpermuted.gguf", dtype="f32")

    with Engine(base, n_ctx=512, n_threads=2) as engine:
        tokens = [engine.tokenize(p, special=True) for p in PROMPTS]
        llama = {"base": [engine.logits(t) for t in tokens]}
        engine.use(good)
        llama["good"] = [engine.logits(t) for t in tokens]
        engine.use(bad)
        llama["bad"] = [engine.logits(t) for t in tokens]

    torch.set_num_threads(2)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(base.parent), gguf_file=base.name, dtype=torch.float32)
    model.eval()

    def run():
        with torch.no_grad():
            return [model(torch.tensor([t])).logits[0].double().numpy() for t in tokens]

    ref_base = run()
    with torch.no_grad():
        for layer_idx, layer in enumerate(model.model.layers):
            for m in ad.targets:
                w = getattr(layer.self_attn, m).weight
                w += torch.from_numpy(ad.delta(m, layer_idx)).to(w.dtype)
    ref_ad = run()
    out = {
        "base_vs_base": compare(ref_base, llama["base"]),
        "adapted": compare(ref_ad, llama["good"]),
        "unpermuted": compare(ref_ad, llama["bad"]),
        "adapter_effect": compare(ref_ad, ref_base),  # how far the LoRA moves the model at all
    }
    print("\nparity metrics:", out)
    return out


def test_lora_moves_the_model(parity):
    # otherwise agreement below would prove nothing
    assert parity["adapter_effect"]["kl"] > 20 * parity["base_vs_base"]["kl"]


def test_adapted_agrees_like_base(parity):
    base, ad = parity["base_vs_base"], parity["adapted"]
    assert ad["top1"] >= base["top1"] - 0.05
    assert ad["kl"] <= 2.0 * base["kl"] + 0.01


def test_unpermuted_is_clearly_worse(parity):
    ad, bad = parity["adapted"], parity["unpermuted"]
    assert bad["kl"] > 10 * ad["kl"]
    assert bad["top1"] < ad["top1"] - 0.05
