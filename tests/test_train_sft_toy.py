"""SFT through a frozen tiny llama: the description decides the answer, and T2L learns it."""

import torch

from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.batched_lora import wrap_model
from t2l_edge.train.batches import Batch
from t2l_edge.train.loss import sft_loss
from tests.helpers.tiny_models import tiny_spec


def test_sft_learns_description_dependent_answers():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    spec = tiny_spec()
    model = LlamaForCausalLM(LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                         # a wide init lets the tiny lm_head express confident answers
                                         initializer_range=0.3)).eval()
    wrapped = wrap_model(model, ("q_proj", "v_proj"), 2)
    net = HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0), spec)
    # Two tasks with the same prompts: task 0 must answer token 7, task 1 token 9.
    task_emb = torch.nn.functional.normalize(torch.randn(2, 32), dim=-1)
    prompts = torch.randint(20, 120, (8, 6))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)

    def batch(task_ids):
        ids = torch.cat([prompts[: len(task_ids)], torch.tensor([[7 if t == 0 else 9] for t in task_ids])], dim=1)
        labels = torch.full_like(ids, -100)
        labels[:, -1] = ids[:, -1]
        return Batch(task_emb[task_ids], ids, torch.ones_like(ids), labels)

    tasks = torch.tensor([0, 1] * 4)
    net.eval()
    with torch.no_grad():
        start = sft_loss(net, model, wrapped, batch(tasks))[0].item()
    net.train()
    for _ in range(120):
        opt.zero_grad()
        loss, _ = sft_loss(net, model, wrapped, batch(tasks))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    net.eval()
    with torch.no_grad():
        end = sft_loss(net, model, wrapped, batch(tasks))[0].item()
    # Both tasks share every prompt, so a description-blind model cannot beat ln 2 = 0.69.
    assert end < 0.45 < start, (start, end)
