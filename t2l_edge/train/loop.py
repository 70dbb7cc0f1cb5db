"""The training loop every trainer shares (sft, lora, mt-lora, recon): AdamW with warmup + linear
decay, clipping, periodic validation, JSON-lines logs, checkpoints every N steps and on Ctrl-C,
exact resume, and torchrun data parallelism.

What is trained is any module that maps description embeddings to {module: (A, B)}: the T2L
hypernetwork, or a FixedLoRA baseline that ignores them. A trainer plugs in its step,
validation, output format and progress display as Callbacks.
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..core.errors import T2LError
from .checkpoint_state import load_state, save_state
from .device import use_bf16
from .distributed import Dist, wrap_ddp
from .batches import TaskData, make_batch
from .loss import RankTerm, SwapHinge, sft_loss, swap_partners


def lr_lambda(warmup_steps: int, total: int):
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total - step) / max(1, total - warmup_steps))
    return f


@dataclass
class ExtraData:
    """What SFT adds to the pool's tasks: conflict families (train/conflict.py) for training and
    validation, and sampling weights over the training tasks (family balance)."""
    train_families: list = field(default_factory=list)
    val_families: list = field(default_factory=list)
    weights: np.ndarray | None = None
    n_pairs: int = 0
    random_emb: np.ndarray | None = None  # the swap controls' random strings, embedded (val_random_gap)
    roles: object = None  # train/roles.RoleData of the training families (the role term), or None
    val_roles: object = None  # the same for validation (val_role_acc)


def description_gap(ce_own: float, ce_swapped: float) -> float:
    """Validation CE with descriptions swapped across tasks minus CE with each task's own: how
    much the description is worth. About 0 means the generator ignores it."""
    return ce_swapped - ce_own


def _own_and_swapped(gen, model, wrapped, batches, paired: bool, bf16: bool, device, rank: RankTerm | None = None) -> dict:
    """Mean CE under each row's own description and under its swap partner's; with `rank` and
    wrong options in the batches, also the share of multiple-choice rows whose gold option wins."""
    ce = {"own": [], "swapped": []}
    wins = {"own": [], "swapped": []}  # (share, rows) per batch
    for batch in batches:
        batch = batch.to(device)
        order = swap_partners(len(batch.input_ids), paired)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            for key, b in (("own", batch), ("swapped", batch.with_embeddings(batch.embeddings[order]))):
                info = sft_loss(gen, model, wrapped, b, l2=0.0, rank=rank)[1]
                ce[key].append(info["ce"])
                if "rank_acc" in info:
                    wins[key].append((info["rank_acc"], info["rank_rows"]))
    out = {k: float(np.mean(v)) for k, v in ce.items()}
    for key, parts in wins.items():
        if parts:
            out[f"rank_{key}"] = sum(a * n for a, n in parts) / sum(n for _, n in parts)
    return out


def validate(gen, model, wrapped, val_tasks: list[TaskData], formatter, cfg, pad_id: int, val_families=(),
             random_emb: np.ndarray | None = None) -> dict:
    """Mean completion loss on fixed batches (stream 1) of held-out tasks/descriptions, and the
    description gap: the same batches with descriptions swapped across tasks. With conflict
    families, the same two figures on their held-out inputs and wording (syn_*). With
    `random_emb`, the random gap: the same batches under adapters made from nonsense strings."""
    if not val_tasks:
        return {"val_loss": float("nan")}
    device = _device_of(gen)
    bf16 = use_bf16(cfg.bf16, device)
    n_batches = max(1, cfg.eval_examples // cfg.batch_tasks)
    gen.eval()
    with torch.no_grad():
        k = getattr(cfg, "rank_options", 0)
        pool = [make_batch(val_tasks, formatter, i, cfg.seed, cfg.batch_tasks, pad_id, stream=1, choices=k)
                for i in range(n_batches)]
        rank = RankTerm(0.0, getattr(cfg, "rank_temp", 1.0)) if k > 1 else None
        m = _own_and_swapped(gen, model, wrapped, pool, False, bf16, device, rank)
        out = {"val_loss": m["own"], "val_gap": description_gap(m["own"], m["swapped"])}
        if random_emb is not None:
            out["val_random_gap"] = _mean_ce_fixed(gen, model, wrapped, pool, random_emb, bf16, device) - m["own"]
        if "rank_own" in m:  # the description gap in the benchmarks' metric: own minus swapped accuracy
            out.update(val_rank_acc=m["rank_own"], val_rank_gap=m["rank_own"] - m["rank_swapped"])
        if getattr(cfg, "hard_pairs", False):  # the gap against partners of the same answer kind
            hard = [make_batch(val_tasks, formatter, i, cfg.seed, cfg.batch_tasks, pad_id, stream=1, hard_pairs=True)
                    for i in range(n_batches)]
            m = _own_and_swapped(gen, model, wrapped, hard, True, bf16, device)
            out["val_hard_gap"] = description_gap(m["own"], m["swapped"])
        if val_families:
            n_syn = max(1, n_batches // 2)
            syn = [make_batch([], formatter, i, cfg.seed, cfg.batch_tasks, pad_id, stream=2, families=list(val_families),
                              n_pairs=cfg.batch_tasks // 2) for i in range(n_syn)]
            m = _own_and_swapped(gen, model, wrapped, syn, True, bf16, device)
            out.update(syn_val_loss=m["own"], syn_gap=description_gap(m["own"], m["swapped"]))
    gen.train()
    return out


def _mean_ce_fixed(gen, model, wrapped, batches, texts_emb: np.ndarray, bf16: bool, device) -> float:
    """Mean CE when row i's adapter is made from texts_emb[i % len]: on tasks nobody trained on,
    a generator that reads its description should do worse from nonsense than from the task's
    own description (the bar's own-minus-random, in training units)."""
    fixed = torch.as_tensor(texts_emb, dtype=torch.float32)
    ces = []
    for batch in batches:
        rows = torch.arange(len(batch.input_ids)) % len(fixed)
        b = batch.with_embeddings(fixed[rows]).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            ces.append(sft_loss(gen, model, wrapped, b, l2=0.0)[1]["ce"])
    return float(np.mean(ces))


def _device_of(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


@dataclass
class Callbacks:
    """What a trainer plugs into train_loop.
    step(trained, step) -> (loss, fields): one forward pass (trained is the module, DDP-wrapped
      under torchrun); a field "tokens_computed" becomes tokens_per_s in the log.
    validate(module) -> val_loss or {"val_loss": ..., more fields}.
    save_best(module, folder, info): the trainer's own output, whenever validation improves.
    progress(step, record): optional, e.g. train/progress.progress_bar (rank 0 only)."""
    step: Callable
    validate: Callable[[torch.nn.Module], float | dict]
    save_best: Callable[[torch.nn.Module, Path, dict], None]
    progress: Callable | None = None


@dataclass
class _State:
    """What the loop carries from step to step, and what a checkpoint stores besides weights."""
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    start: int
    best: float
    prov: dict


def _start(cfg, module: torch.nn.Module, prov: dict, resume: bool, dist: Dist) -> _State:
    """Save the config, build AdamW and its schedule, and with `resume` load the checkpoint."""
    out = Path(cfg.out)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    opt = torch.optim.AdamW(_param_groups(cfg, module), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = int(cfg.warmup * cfg.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(warmup, cfg.steps))
    start, best = 0, math.inf
    if resume:
        state = load_state(out / "checkpoint", module, opt)
        start, best = state["step"], state.get("best_val", math.inf)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(warmup, cfg.steps), last_epoch=start - 1)
    return _State(opt, sched, start, best, {"config": cfg.to_dict(), "world_size": dist.world, **prov})


FAST_PARTS = ("reader.mlp.", "word_path.")  # parameter prefixes that take reader_lr
ROLE_PARTS = ("reader.query", "reader.key.")  # and with the role term, which trains them directly


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether a parameter name starts with one of the prefixes, also inside a wrapper (DDP's "module.")."""
    return any(name.startswith(part) or f".{part}" in name for part in prefixes)


def _param_groups(cfg, module: torch.nn.Module) -> list[dict]:
    """One AdamW group, or two when a generator's word-piece reader (hypernet/reader.py) has its
    own rate (reader_lr): the reader's output MLP and the word path (hypernet/word_path.py), grown
    on a trained generator (init_from), start at zero and would move too little at the
    fine-tuning rate the rest needs. The reader's queries and keys keep the generator's rate,
    so a warm-up's attention (scripts/pretrain_reader.py) is not shaken loose by the base
    model's noisy gradients, except under the role term (train/roles.py), which trains them on
    a target of their own. Parameters under `freeze` join no group: the optimizer never moves them."""
    reader_lr = getattr(cfg, "reader_lr", None)
    frozen = tuple(getattr(cfg, "freeze", ()))
    everything = list(module.named_parameters())
    unmatched = [part for part in frozen if not any(_under(n, (part,)) for n, _ in everything)]
    if unmatched:
        raise T2LError(f"freeze: no generator parameter starts with {', '.join(unmatched)}",
                       "use prefixes of the generator's parameter names, e.g. word_path.to_b. or reader.query")
    named = [(n, p) for n, p in everything if not _under(n, frozen)]
    parts = FAST_PARTS + (ROLE_PARTS if getattr(cfg, "role_weight", 0.0) > 0 else ())
    fast = [p for n, p in named if _under(n, parts)]
    if not reader_lr or not fast:
        return [{"params": [p for _, p in named]}]
    ids = {id(p) for p in fast}
    return [{"params": [p for _, p in named if id(p) not in ids]}, {"params": fast, "lr": reader_lr}]


def _optimise(cfg, module: torch.nn.Module, trained, st: _State, fn: Callable, step: int) -> dict:
    """One optimiser step; returns the log record of step + 1 (before validation)."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed * 1_000_003 + step)  # dropout/NEFTune noise: a function of the step
    loss, fields = fn(trained, step)
    loss.backward()
    grad_norm = float(torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip))
    st.opt.step()
    st.sched.step()
    st.opt.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    record = {"step": step + 1, "loss": float(loss.detach()), **fields, "lr": st.sched.get_last_lr()[0], "grad_norm": grad_norm}
    if "tokens_computed" in record:
        record["tokens_per_s"] = record.pop("tokens_computed") / dt
    record["s"] = dt
    return record


def _validate(cfg, module: torch.nn.Module, st: _State, cb: Callbacks, record: dict) -> None:
    """Validation into `record` every eval_every steps and at the end; best/ when it improves."""
    step = record["step"]
    if step % cfg.eval_every and step != cfg.steps:
        return
    measured = cb.validate(module)
    record.update(measured if isinstance(measured, dict) else {"val_loss": measured})
    if record["val_loss"] < st.best:
        st.best = record["val_loss"]
        cb.save_best(module, Path(cfg.out) / "best", {**st.prov, "step": step, "val_loss": st.best})


def train_loop(cfg, module: torch.nn.Module, callbacks: Callbacks, prov: dict, resume: bool = False,
               stop_at: int | None = None, dist: Dist = Dist()) -> dict:
    """The loop every trainer runs: backward, clipping, the optimizer and schedule, validation,
    logs and checkpoints around callbacks.step. stop_at: checkpoint and return after this step
    (time-boxed runs); resume later."""
    out = Path(cfg.out)
    st = _start(cfg, module, prov, resume, dist)
    trained = wrap_ddp(module, dist)  # after loading: DDP broadcasts rank 0's weights
    stop = {"flag": False}
    old = signal.signal(signal.SIGINT, lambda *a: stop.update(flag=True))
    log = open(out / "log.jsonl", "a") if dist.is_main else None
    module.train()
    step = st.start
    end = min(cfg.steps, stop_at or cfg.steps)

    def checkpoint():
        save_state(out / "checkpoint", module, st.opt, step, {"best_val": st.best, "provenance": st.prov})

    try:
        while step < end and not dist.any(stop["flag"]):
            record = _optimise(cfg, module, trained, st, callbacks.step, step)
            step += 1
            if dist.is_main:
                _validate(cfg, module, st, callbacks, record)
            if log and (step % cfg.log_every == 0 or "val_loss" in record):
                log.write(json.dumps(record) + "\n")
                log.flush()
            if callbacks.progress and dist.is_main:
                callbacks.progress(step, record)
            if dist.is_main and step % cfg.checkpoint_every == 0:
                checkpoint()
    finally:
        signal.signal(signal.SIGINT, old)
        if dist.is_main and step > st.start:
            checkpoint()
        if log:
            log.close()
        dist.barrier()
    return {"step": step, "best_val": st.best, "interrupted": stop["flag"] or step < end}


def run_training(cfg, gen, model, wrapped, formatter, train_tasks: list[TaskData], val_tasks: list[TaskData], pad_id: int,
                 save_best: Callable[[torch.nn.Module, Path, dict], None], resume: bool = False, progress=None,
                 provenance: dict | None = None, stop_at: int | None = None, dist: Dist = Dist(),
                 extra: ExtraData | None = None) -> dict:
    """Through the frozen base (sft, lora, mt-lora): one example per row, each row with its
    own LoRA from `gen`. The device is the one `gen` and the model were moved to."""
    extra = extra or ExtraData()
    device = _device_of(gen)
    bf16 = use_bf16(cfg.bf16, device)
    weight = getattr(cfg, "swap_weight", 0.0)
    swap = SwapHinge(weight, getattr(cfg, "swap_margin", 0.5)) if weight > 0 else None
    distill = getattr(cfg, "distill_weight", 0.0)
    rank_weight = getattr(cfg, "rank_weight", 0.0)
    n_options = getattr(cfg, "rank_options", 0) if rank_weight > 0 else 0

    def step_fn(trained, step):
        batch = make_batch(train_tasks, formatter, step, cfg.seed, cfg.batch_tasks, pad_id, match_lengths=cfg.match_lengths,
                           families=extra.train_families, n_pairs=extra.n_pairs, weights=extra.weights, teacher=distill > 0,
                           choices=n_options, hard_pairs=getattr(cfg, "hard_pairs", False))
        norm = None
        rank = RankTerm(rank_weight, getattr(cfg, "rank_temp", 1.0), swap_weight=getattr(cfg, "rank_swap_weight", 0.0),
                        swap_margin=getattr(cfg, "rank_swap_margin", 0.3)) if n_options > 1 else None
        if dist.enabled:  # this rank's rows; loss normalised by the global token count
            norm = batch.n_scored / dist.world
            if rank is not None and batch.choices is not None:
                rank.norm = batch.choices.n_groups / dist.world
            batch = batch.rows(dist.shard(len(batch.input_ids)))
        batch = batch.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss, info = sft_loss(trained, model, wrapped, batch, cfg.l2, cfg.label_smoothing, cfg.neftune_alpha, norm, swap,
                                  distill, rank)
        computed = int(batch.attention_mask.sum()) * dist.world * (2 if swap else 1)
        if batch.teacher is not None:  # the teacher's forward pass (no backward)
            computed += int(batch.teacher.attention_mask.sum()) * dist.world
        if batch.choices is not None:  # the wrong options' forward pass
            computed += int(batch.choices.rows.attention_mask.sum()) * dist.world
        if extra.roles is not None:
            from .roles import role_loss

            term, role_info = role_loss(gen, extra.roles, np.random.default_rng([cfg.seed, step, 3]), cfg.role_rows)
            loss = loss + cfg.role_weight * term
            info.update(role_info)
        fields = {**info, "tokens_computed": computed}
        if dist.enabled:  # log the global batch's loss, not this rank's share
            parts = torch.tensor([float(loss.detach()), info["ce"]], device=device)
            torch.distributed.all_reduce(parts)
            fields["loss"], fields["ce"] = float(parts[0]) / dist.world, float(parts[1]) / dist.world
        return loss, fields

    def validate_now(m):
        out = validate(m, model, wrapped, val_tasks, formatter, cfg, pad_id, extra.val_families, extra.random_emb)
        if extra.val_roles is not None:
            from .roles import gate_rates, object_accuracy, role_accuracy

            out["val_role_acc"] = role_accuracy(m, extra.val_roles)
            if (acc := object_accuracy(m, extra.val_roles)) is not None:
                out["val_object_acc"] = acc
            if (rates := gate_rates(m, extra.val_roles)) is not None:
                out["val_gate_open"], out["val_gate_shut"] = rates["open"], rates["shut"]
        return out

    callbacks = Callbacks(step_fn, validate_now, save_best, progress)
    return train_loop(cfg, gen, callbacks, provenance or {}, resume=resume, stop_at=stop_at, dist=dist)
