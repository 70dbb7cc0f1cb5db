"""Tiny training worlds shared by the trainer tests: a tiny llama built in code, a char-level
formatter and a tiny task store on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from t2l_edge.data.schema import Example
from t2l_edge.train.batched_lora import wrap_model
from t2l_edge.train.batches import TaskData


def char_formatter(ex):
    """Token ids straight from text: prompt chars then answer chars (vocab 128)."""
    p = [3 + (ord(c) % 120) for c in ex.prompt]
    a = [3 + (ord(c) % 120) for c in ex.answer] + [2]
    return p + a, len(p)


def tiny_causal_lm(seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                         initializer_range=0.3)).eval()
    return model, wrap_model(model, ("q_proj", "v_proj"), 2)


def toy_tasks(n: int = 4, emb_dim: int = 32, per_task: int = 20) -> list[TaskData]:
    """Task k answers every prompt with 'xx' or 'yy': only the task (description) tells which."""
    rng = np.random.default_rng(0)
    return [TaskData(f"t{k}", [Example(f"q{i}", "xy"[k % 2] * 2) for i in range(per_task)],
                     rng.standard_normal((3, emb_dim)).astype(np.float32)) for k in range(n)]


def toy_store(folder: Path, n_tasks: int = 3) -> Path:
    from t2l_edge.data.store import write_store

    tasks = [{"id": f"toy.t{k}", "source": "toy", "family": "toy", "license": "none", "format": "gen", "seed_text": "",
              "examples": [Example(f"say {k} {i}", "ab"[k % 2] * 3) for i in range(60)]} for k in range(n_tasks)]
    return write_store(folder, tasks, {"inputs_key": "toy"}, {})
