"""Per-example batched LoRA equals running each example alone with its LoRA merged."""

import torch

from t2l_edge.train.batched_lora import completion_loss, lora_applied, wrap_model


def _tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    return LlamaForCausalLM(cfg).eval()


def _loras(T, scale_b=0.1):
    g = torch.Generator().manual_seed(1)
    shapes = {"q_proj": (64, 64), "v_proj": (64, 32)}
    return {m: (torch.randn(T, 2, 4, fin, generator=g) * 0.2, torch.randn(T, 2, fout, 4, generator=g) * scale_b)
            for m, (fin, fout) in shapes.items()}


def test_batched_equals_merged_per_example():
    model = _tiny_llama()
    merged = _tiny_llama()
    ids = torch.randint(0, 128, (3, 10))
    loras = _loras(3)
    scale = 2.0
    wrapped = wrap_model(model, ("q_proj", "v_proj"), 2)
    with torch.no_grad(), lora_applied(wrapped, loras, scale):
        batched = model(ids).logits
    for t in range(3):
        ref = _tiny_llama()
        with torch.no_grad():
            for m, (a, b) in loras.items():
                for layer in range(2):
                    lin = getattr(ref.model.layers[layer].self_attn, m)
                    lin.weight += scale * b[t, layer] @ a[t, layer]
            want = ref(ids[t:t + 1]).logits
        assert torch.allclose(batched[t:t + 1], want, atol=1e-5)
    with torch.no_grad():  # removed after the context: back to the base
        assert torch.allclose(model(ids).logits, merged(ids).logits, atol=1e-6)


def test_gradients_flow_to_lora_only_and_loss_uses_completions():
    model = _tiny_llama()
    wrapped = wrap_model(model, ("q_proj", "v_proj"), 2)
    loras = {m: (a.requires_grad_(), b.requires_grad_()) for m, (a, b) in _loras(2).items()}
    ids = torch.randint(0, 128, (2, 8))
    labels = torch.full_like(ids, -100)
    labels[:, 5:] = ids[:, 5:]
    with lora_applied(wrapped, loras, 1.0):
        loss, n = completion_loss(model, ids, torch.ones_like(ids), labels)
    loss.backward()
    assert n == 6
    assert all(a.grad is not None and b.grad.abs().sum() > 0 for a, b in loras.values())
    assert all(p.grad is None for p in model.parameters())
