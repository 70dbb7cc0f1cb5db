"""A PEFT export loads with `peft` on a tiny llama built in code and equals a manual merge."""

import json

import numpy as np
import pytest
import torch

from t2l_edge.core.adapter import Adapter
from t2l_edge.formats.peft_writer import write_peft
from tests.helpers.tiny_models import tiny_spec


def test_peft_loads_and_matches_manual_merge(tmp_path):
    peft = pytest.importorskip("peft")
    from transformers import LlamaConfig, LlamaForCausalLM

    spec = tiny_spec()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=128, hidden_size=spec.hidden, intermediate_size=spec.ffn, num_hidden_layers=spec.n_layer,
                      num_attention_heads=spec.n_head, num_key_value_heads=spec.n_head_kv, max_position_embeddings=64)
    model = LlamaForCausalLM(cfg).eval()
    rng = np.random.default_rng(0)
    mods = ("q_proj", "v_proj")
    A = {m: rng.standard_normal((2, 4, spec.shape(m)[0])).astype(np.float32) * 0.2 for m in mods}
    B = {m: rng.standard_normal((2, spec.shape(m)[1], 4)).astype(np.float32) * 0.2 for m in mods}
    ad = Adapter("test", spec, 4, 16.0, True, A, B)
    write_peft(ad, tmp_path / "lora")

    ids = torch.randint(0, 128, (2, 9))
    merged = LlamaForCausalLM(cfg).eval()
    merged.load_state_dict(model.state_dict())
    with torch.no_grad():
        for m in mods:
            for layer in range(2):
                lin = getattr(merged.model.layers[layer].self_attn, m)
                lin.weight += torch.from_numpy(ad.delta(m, layer))
        want = merged(ids).logits
        got = peft.PeftModel.from_pretrained(model, str(tmp_path / "lora")).eval()(ids).logits
    assert torch.allclose(got, want, atol=1e-4)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "lora" / "adapter_model.safetensors"), "np") as f:
        assert json.loads(f.metadata()["t2l_edge"])["description"] == "test"
