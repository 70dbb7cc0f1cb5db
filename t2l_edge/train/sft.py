"""The T2L SFT loop: AdamW with warmup + linear decay, clipping, periodic validation on held-out
tasks with held-out descriptions, JSON-lines logs, checkpoints every N steps and on Ctrl-C."""

from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path

import numpy as np
import torch

from .checkpoint_state import load_state, save_state
from .sft_data import TaskData, make_batch
from .sft_step import sft_loss


def lr_lambda(warmup_steps: int, total: int):
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total - step) / max(1, total - warmup_steps))
    return f


def validate(net, model, wrapped, val_tasks: list[TaskData], formatter, cfg, pad_id: int) -> float:
    """Mean completion loss on fixed batches (seed -1) of held-out tasks/descriptions."""
    if not val_tasks:
        return float("nan")
    net.eval()
    losses = []
    with torch.no_grad():
        for i in range(max(1, cfg.eval_examples // cfg.batch_tasks)):
            batch = make_batch(val_tasks, formatter, i, cfg.seed, cfg.batch_tasks, pad_id, stream=1)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                _, info = sft_loss(net, model, wrapped, batch, l2=0.0)
            losses.append(info["ce"])
    net.train()
    return float(np.mean(losses))


def run_sft(cfg, net, model, wrapped, formatter, train_tasks: list[TaskData], val_tasks: list[TaskData], pad_id: int,
            resume: bool = False, progress=None, provenance: dict | None = None, stop_at: int | None = None) -> dict:
    """stop_at: checkpoint and return after this step (time-boxed runs); resume later."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(int(cfg.warmup * cfg.steps), cfg.steps))
    start, best = 0, math.inf
    if resume:
        state = load_state(out / "checkpoint", net, opt)
        start, best = state["step"], state.get("best_val", math.inf)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(int(cfg.warmup * cfg.steps), cfg.steps), last_epoch=start - 1)
    stop = {"flag": False}
    old = signal.signal(signal.SIGINT, lambda *a: stop.update(flag=True))
    prov = {"config": cfg.to_dict(), **(provenance or {})}
    log = open(out / "log.jsonl", "a")
    net.train()
    step = start
    try:
        end = min(cfg.steps, stop_at or cfg.steps)
        while step < end and not stop["flag"]:
            t0 = time.perf_counter()
            torch.manual_seed(cfg.seed * 1_000_003 + step)  # dropout/NEFTune noise: a function of the step
            batch = make_batch(train_tasks, formatter, step, cfg.seed, cfg.batch_tasks, pad_id)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                loss, info = sft_loss(net, model, wrapped, batch, cfg.l2, cfg.label_smoothing, cfg.neftune_alpha)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip))
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            dt = time.perf_counter() - t0
            record = {"step": step, "loss": float(loss.detach()), **info, "lr": sched.get_last_lr()[0],
                      "grad_norm": grad_norm, "tokens_per_s": int(batch.attention_mask.sum()) / dt, "s": dt}
            if step % cfg.eval_every == 0 or step == cfg.steps:
                record["val_loss"] = validate(net, model, wrapped, val_tasks, formatter, cfg, pad_id)
                if record["val_loss"] < best:
                    best = record["val_loss"]
                    from ..hypernet.checkpoint import save_hypernet

                    save_hypernet(net, out / "best", provenance={**prov, "step": step, "val_loss": best})
            if step % cfg.log_every == 0 or "val_loss" in record:
                log.write(json.dumps(record) + "\n")
                log.flush()
            if progress:
                progress(step, record)
            if step % cfg.checkpoint_every == 0:
                save_state(out / "checkpoint", net, opt, step, {"best_val": best, "provenance": prov})
    finally:
        signal.signal(signal.SIGINT, old)
        if step > start:
            save_state(out / "checkpoint", net, opt, step, {"best_val": best, "provenance": prov})
        log.close()
    return {"step": step, "best_val": best, "interrupted": stop["flag"]}
