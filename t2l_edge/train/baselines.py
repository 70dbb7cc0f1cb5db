"""The LoRA baselines T2L is compared with, trained in exactly T2L's loop, loss, batching and
settings (`t2l-edge train mt-lora` and `t2l-edge train lora`).

FixedLoRA is a plain LoRA posing as a "generator" that ignores the description: it answers the
same call as the hypernetwork (embeddings [T, emb] -> {module: (A [T, L, r, in], B [T, L, out, r])}).
Rank, alpha, rsLoRA and targets come from a HyperConfig, so a baseline and the T2L run it is
compared with share them. PEFT's init: A kaiming-uniform, B = 0.

Multi-task LoRA (run_mt_lora): one LoRA on the whole training pool, the baseline T2L must at
least match. It sees the same tasks, batches (one example from each of several tasks per step),
steps, schedule and held-out task split as `sft`; only the description is ignored.
best/adapter.gguf is the adapter with the lowest held-out loss.

Task-specific LoRA (run_lora): one LoRA per task, trained in sequence. These are the oracle rows
of the results table (for a benchmark, trained on its disjoint never-scored part: task id
`bench.NAME`) and the library that `recon` learns to reproduce. Each task gets its own folder
under cfg.out with a resumable checkpoint and, in best/, the adapter as F32 GGUF. A task whose
run finished (done.json) is skipped, so re-running the same command continues the sequence.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import nn

from ..core.adapter import Adapter
from ..core.basemodel import BaseSpec
from ..hypernet.config import HyperConfig
from ..hypernet.model import peft_a_init
from .distributed import Dist
from .loop import run_training
from .tasks import load_plain_tasks

DONE = "done.json"


class FixedLoRA(nn.Module):
    def __init__(self, cfg: HyperConfig, base: BaseSpec, init_seed: int = 0):
        super().__init__()
        self.cfg, self.base = cfg, base
        g = torch.Generator().manual_seed(init_seed)
        self.A, self.B = nn.ParameterDict(), nn.ParameterDict()
        for m in cfg.targets:
            fin, fout = base.shape(m)
            self.A[m] = nn.Parameter(torch.stack([peft_a_init(cfg.rank, fin, g) for _ in range(base.n_layer)]))
            self.B[m] = nn.Parameter(torch.zeros(base.n_layer, fout, cfg.rank))

    def forward(self, emb: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        t = emb.shape[0]
        return {m: (self.A[m].expand(t, -1, -1, -1), self.B[m].expand(t, -1, -1, -1)) for m in self.cfg.targets}

    def param_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def to_adapter(self, description: str, extra: dict | None = None) -> Adapter:
        from .. import GENERATOR_NAME

        return Adapter(description, self.base, self.cfg.rank, self.cfg.alpha, self.cfg.use_rslora,
                       {m: self.A[m].detach().float().numpy().copy() for m in self.cfg.targets},
                       {m: self.B[m].detach().float().numpy().copy() for m in self.cfg.targets},
                       generator=GENERATOR_NAME, extra=dict(extra or {}))


def save_lora_gguf(lora: FixedLoRA, folder, info: dict, description: str) -> None:
    """The baselines' output: adapter.gguf (F32, lossless, so `recon` can train on it) plus
    info.json with the provenance. llama.cpp, `inspect` and `eval --row adapter` take the GGUF."""
    from ..core.atomic import atomic_dir
    from ..formats.gguf_adapter import write_gguf

    extra = {k: v for k, v in info.items() if k in ("step", "val_loss", "task")}
    with atomic_dir(folder) as tmp:
        write_gguf(lora.to_adapter(description, {"training": extra}), tmp / "adapter.gguf", dtype="f32")
        (tmp / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True, default=str))


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


def task_folder(out: str | Path, tid: str) -> Path:
    return Path(out) / tid


def run_lora(cfg, hcfg, spec, model, wrapped, formatter, pad_id: int, resume: bool = False, progress=None,
             provenance: dict | None = None, stop_at: int | None = None, dist: Dist = Dist(), log=print) -> dict:
    from ..core.errors import T2LError

    if not cfg.tasks:
        raise T2LError("`train lora` needs the tasks to train", "--set tasks=bench.arc_easy,bench.piqa (or pool task ids)")
    results = {}
    for tid in cfg.tasks:
        folder = task_folder(cfg.out, tid)
        if (folder / DONE).is_file():
            results[tid] = json.loads((folder / DONE).read_text())
            log(f"{tid}: already trained (best val {results[tid]['best_val']:.4f}), skipped")
            continue
        sub = copy.deepcopy(cfg)
        sub.out, sub.tasks, sub.heldout_tasks = str(folder), [tid], []
        train, val, prov = load_plain_tasks(sub, hcfg.emb_dim, pool_split=False, log=log)
        lora = FixedLoRA(hcfg, spec, init_seed=cfg.seed).to(next(model.parameters()).device)

        def save_best(module, best_dir, info, tid=tid):
            save_lora_gguf(module, best_dir, {**info, "task": tid}, description=f"task-specific LoRA for {tid}")

        resumable = resume and (folder / "checkpoint" / "state.json").is_file()
        res = run_training(sub, lora, model, wrapped, formatter, train, val, pad_id, save_best, resume=resumable,
                           progress=progress, provenance={**(provenance or {}), **prov, "kind": "lora"},
                           stop_at=stop_at, dist=dist)
        results[tid] = res
        if res["interrupted"] or res["step"] < sub.steps:  # Ctrl-C or --until: resume this task next time
            break
        if dist.is_main:
            (folder / DONE).write_text(json.dumps(res))
    return results
