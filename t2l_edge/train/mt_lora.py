"""Multi-task LoRA: one plain LoRA trained on the whole training pool (`t2l-edge train mt-lora`).

The baseline T2L must at least match. It sees the same tasks, batches (one example from each
of several tasks per step), steps, schedule and held-out task split as `sft`; only the
description is ignored. best/adapter.gguf is the adapter with the lowest held-out loss.
"""

from __future__ import annotations

from .distributed import Dist
from .fixed_lora import FixedLoRA, save_lora_gguf
from .loop import run_training
from .sft_setup import load_plain_tasks


def run_mt_lora(cfg, hcfg, spec, model, wrapped, formatter, pad_id: int, resume: bool = False, progress=None,
                provenance: dict | None = None, stop_at: int | None = None, dist: Dist = Dist(), log=print) -> dict:
    train, val, prov = load_plain_tasks(cfg, hcfg.emb_dim, pool_split=True, log=log)
    lora = FixedLoRA(hcfg, spec, init_seed=cfg.seed).to(next(model.parameters()).device)
    n = len(train)

    def save_best(module, best_dir, info):
        save_lora_gguf(module, best_dir, info, description=f"multi-task LoRA trained on {n} tasks")

    return run_training(cfg, lora, model, wrapped, formatter, train, val, pad_id, save_best, resume=resume,
                        progress=progress, provenance={**(provenance or {}), **prov, "kind": "mt-lora"},
                        stop_at=stop_at, dist=dist)
