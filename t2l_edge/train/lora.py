"""Task-specific LoRA: one plain LoRA per task, trained in sequence (`t2l-edge train lora`).

These are the oracle rows of the results table (for a benchmark, trained on its disjoint
never-scored part: task id `bench.NAME`) and the library that `recon` learns to reproduce.
Each task gets its own folder under cfg.out with a resumable checkpoint and, in best/, the
adapter as F32 GGUF. A task whose best/adapter.gguf exists and whose run finished is skipped,
so re-running the same command continues the sequence where it stopped.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from .distributed import Dist
from .fixed_lora import FixedLoRA, save_lora_gguf
from .loop import run_training
from .sft_setup import load_plain_tasks

DONE = "done.json"


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
