"""T2L reconstruction training: the hypernetwork learns to reproduce a library of task LoRAs
from their descriptions (the paper's "recon" setting). No base model is in the loop, so a step
costs only the hypernetwork and the target comparison.

Loss, per step, on one sampled training description for each of several library tasks:
  delta  L1 between the generated and the library's delta W = scale * B @ A (gauge-free: many
         A/B pairs give the same delta W)
  ab     L1 between generated and library A and B, each z-scored with the library's own
         per-(module, layer) mean and std (the paper's cheaper variant)
Validation: the same loss with each task's held-out descriptions (unseen wording).
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..adapter import lora_scale
from .checkpoint_state import load_state, save_state
from .distributed import Dist, wrap_ddp
from .loop import lr_lambda


@dataclass
class LibraryTask:
    task_id: str
    A: dict[str, torch.Tensor]  # module -> [L, r, in]
    B: dict[str, torch.Tensor]  # module -> [L, out, r]
    scale: float
    train_emb: np.ndarray  # [n, emb_dim] training descriptions
    val_emb: np.ndarray  # [m, emb_dim] held-out descriptions


def _stats(library: list[LibraryTask], key: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per (module, layer) mean and std of A or B over the library, for z-scoring."""
    out = {}
    for m in getattr(library[0], key):
        stack = torch.stack([getattr(t, key)[m] for t in library])  # [N, L, ...]
        flat = stack.transpose(0, 1).reshape(stack.shape[1], -1)
        out[m] = (flat.mean(1).view(1, -1, 1, 1), flat.std(1).clamp_min(1e-8).view(1, -1, 1, 1))
    return out


def recon_loss(net, tasks: list[LibraryTask], emb: torch.Tensor, kind: str, stats=None) -> torch.Tensor:
    cfg = getattr(net, "module", net).cfg
    scale = lora_scale(cfg.alpha, cfg.rank, cfg.use_rslora)
    out = net(emb)
    losses = []
    for m, (a, b) in out.items():
        if kind == "delta":
            got = scale * torch.einsum("tlor,tlri->tloi", b, a)
            want = torch.stack([t.scale * torch.einsum("lor,lri->loi", t.B[m], t.A[m]) for t in tasks])
            losses.append((got - want).abs().mean())
        else:
            (ma, sa), (mb, sb) = stats["A"][m], stats["B"][m]
            want_a = torch.stack([t.A[m] for t in tasks])
            want_b = torch.stack([t.B[m] for t in tasks])
            losses.append(((a - want_a) / sa).abs().mean() + ((b - want_b) / sb).abs().mean())
    return sum(losses) / len(losses)


def _pick(tasks: list[LibraryTask], n: int, rng: np.random.Generator, which: str):
    idx = rng.choice(len(tasks), size=n, replace=len(tasks) < n)
    chosen = [tasks[i] for i in idx]
    embs = [getattr(t, which)[int(rng.integers(len(getattr(t, which))))] for t in chosen]
    return chosen, torch.from_numpy(np.stack(embs)).float()


def validate_recon(net, library: list[LibraryTask], kind: str, stats) -> float:
    """Mean loss over every (task, held-out description) pair."""
    net.eval()
    vals = []
    with torch.no_grad():
        for t in library:
            for e in t.val_emb:
                vals.append(float(recon_loss(net, [t], torch.from_numpy(e[None]).float(), kind, stats)))
    net.train()
    return float(np.mean(vals)) if vals else float("nan")


def run_recon(cfg, net, library: list[LibraryTask], resume: bool = False, progress=None, provenance: dict | None = None,
              stop_at: int | None = None, dist: Dist = Dist()) -> dict:
    from ..hypernet.checkpoint import save_hypernet

    out = Path(cfg.out)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    stats = {"A": _stats(library, "A"), "B": _stats(library, "B")} if cfg.loss == "ab" else None
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = int(cfg.warmup * cfg.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(warmup, cfg.steps))
    start, best = 0, math.inf
    if resume:
        state = load_state(out / "checkpoint", net, opt)
        start, best = state["step"], state.get("best_val", math.inf)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(warmup, cfg.steps), last_epoch=start - 1)
    ddp = wrap_ddp(net, dist)
    prov = {"config": cfg.to_dict(), "kind": "recon", "library_tasks": [t.task_id for t in library], **(provenance or {})}
    stop = {"flag": False}
    old = signal.signal(signal.SIGINT, lambda *a: stop.update(flag=True))
    log = open(out / "log.jsonl", "a") if dist.is_main else None
    net.train()
    step = start
    try:
        end = min(cfg.steps, stop_at or cfg.steps)
        while step < end and not dist.any(stop["flag"]):
            t0 = time.perf_counter()
            torch.manual_seed(cfg.seed * 1_000_003 + step)
            tasks, emb = _pick(library, cfg.batch_tasks, np.random.default_rng([cfg.seed, step]), "train_emb")
            part = dist.shard(len(tasks))
            loss = recon_loss(ddp, tasks[part], emb[part], cfg.loss, stats)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip))
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            record = {"step": step, "loss": float(loss.detach()), "lr": sched.get_last_lr()[0], "grad_norm": grad_norm,
                      "s": time.perf_counter() - t0}
            if dist.is_main and (step % cfg.eval_every == 0 or step == cfg.steps):
                record["val_loss"] = validate_recon(net, library, cfg.loss, stats)
                if record["val_loss"] < best:
                    best = record["val_loss"]
                    save_hypernet(net, out / "best", provenance={**prov, "step": step, "val_loss": best})
            if log and (step % cfg.log_every == 0 or "val_loss" in record):
                log.write(json.dumps(record) + "\n")
                log.flush()
            if progress and dist.is_main:
                progress(step, record)
            if dist.is_main and step % cfg.checkpoint_every == 0:
                save_state(out / "checkpoint", net, opt, step, {"best_val": best, "provenance": prov})
    finally:
        signal.signal(signal.SIGINT, old)
        if dist.is_main and step > start:
            save_state(out / "checkpoint", net, opt, step, {"best_val": best, "provenance": prov})
        if log:
            log.close()
        dist.barrier()
    return {"step": step, "best_val": best, "interrupted": stop["flag"] or step < end}
