"""The numbers of a swap run: the matrix, and its contrasts with paired bootstrap 95% CIs.

Contrasts are per item, then averaged: all columns of a task are scored on the same items, so
resampling items (within each task, as `paired.py` does) keeps the pairing and the interval
only carries what differs between adapters. Tasks are weighted equally. Multiple-choice tasks
(acc_norm, 0/1 per item) and generation tasks (mean per-token log-likelihood of the gold
answer, in nats) are averaged separately: their units do not mix. The multiple-choice tasks
also have a continuous view, option_logp = log P(gold | options), analysed the same way: it
moves with every item, so it separates adapters on fewer items than accuracy. Top-1 retrieval is unitless
and pools all tasks: a task counts 1 when its own adapter scores highest in its row, 1/k when
it ties with k-1 others (the chance of winning a random tie-break), else 0.
"""

from __future__ import annotations

import numpy as np

METRICS = ("acc_norm", "loglik", "option_logp")
# contrast name -> (minuend, subtrahend); names of row means computed in _row_means
CONTRASTS = {
    "diagonal_advantage": ("own", "others"),  # own minus the mean of every other task's description
    "own_minus_random": ("own", "random"),
    "own_minus_base": ("own", "base"),
    "own_minus_neutral": ("own", "neutral"),
    "own_minus_empty": ("own", "empty"),
    "prompt_base_minus_base": ("prompt-base", "base"),
    "prompt_own_minus_own": ("prompt-own", "own"),
    "prompt_own_minus_base": ("prompt-own", "base"),
}


def _row_means(tid: str, cols: list[str], means: np.ndarray, prompts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """means: [..., C] column means of one task -> the named quantities the contrasts use."""
    own = cols.index(f"task:{tid}")
    others = [i for i, c in enumerate(cols) if c.startswith("task:") and i != own]
    rand = [i for i, c in enumerate(cols) if c.startswith("random:")]
    out = {"own": means[..., own]}
    if others:
        out["others"] = means[..., others].mean(-1)
    if rand:
        out["random"] = means[..., rand].mean(-1)
    for name in ("base", "neutral", "empty"):
        if name in cols:
            out[name] = means[..., cols.index(name)]
    return out | prompts


def _top1(tid: str, cols: list[str], means: np.ndarray, task_cols_only: bool) -> np.ndarray:
    """[..., C] -> [...]: 1, 1/k on a k-way tie, or 0."""
    keep = [i for i, c in enumerate(cols) if c.startswith("task:") or not task_cols_only]
    sub = means[..., keep]
    own = sub[..., keep.index(cols.index(f"task:{tid}"))]
    best = sub.max(-1)
    ties = (np.abs(sub - best[..., None]) <= 1e-12).sum(-1)
    return np.where(np.abs(own - best) <= 1e-12, 1.0 / ties, 0.0)


def _ci(x: np.ndarray) -> list[float]:
    return [float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))]


def analyse(run: dict, n_boot: int = 2000, seed: int = 0) -> dict:
    """run: {"columns", "tasks": {id: view}} (`swap.run_swap`'s output, or the same with its
    "tasks_option_logp" as "tasks") -> {"matrix", "per_task", "summary"}."""
    cols, rng = run["columns"], np.random.default_rng(seed)
    matrix, per_task, boots = {}, {}, {}
    for tid, t in run["tasks"].items():
        s = np.array([t["scores"][c] for c in cols], dtype=float).T  # [items, columns]
        n = len(s)
        idx = rng.integers(0, n, (n_boot, n))
        b_means = s[idx].mean(1)  # [B, C]
        prompts = {r: np.array(t[r], float) for r in ("prompt-base", "prompt-own") if t.get(r)}
        point = _row_means(tid, cols, s.mean(0), {r: v.mean() for r, v in prompts.items()})
        boot = _row_means(tid, cols, b_means, {r: v[idx].mean(1) for r, v in prompts.items()})
        contrasts, bt = {}, {}
        for name, (a, b) in CONTRASTS.items():
            if a in point and b in point:
                bt[name] = boot[a] - boot[b]
                contrasts[name] = {"diff": float(point[a] - point[b]), "ci95": _ci(bt[name])}
        for kind in ("task", "all"):
            bt[f"top1_{kind}"] = _top1(tid, cols, b_means, kind == "task")
        matrix[tid] = {c: float(v) for c, v in zip(cols, s.mean(0))}
        per_task[tid] = {"metric": t["metric"], "n": n, **{k: float(v) for k, v in point.items()}, "contrasts": contrasts,
                         "top1_task": float(_top1(tid, cols, s.mean(0), True)), "top1_all": float(_top1(tid, cols, s.mean(0), False))}
        boots[tid] = bt
    return {"matrix": matrix, "per_task": per_task, "summary": _summary(per_task, boots)}


def _summary(per_task: dict, boots: dict) -> dict:
    out: dict = {}
    for metric in METRICS:
        tids = [t for t, p in per_task.items() if p["metric"] == metric]
        if not tids:
            continue
        group = {"tasks": len(tids)}
        for name in CONTRASTS:
            have = [t for t in tids if name in boots[t]]
            if len(have) == len(tids):
                group[name] = {"diff": float(np.mean([per_task[t]["contrasts"][name]["diff"] for t in tids])),
                               "ci95": _ci(np.mean([boots[t][name] for t in tids], axis=0))}
        out[metric] = group
    for kind in ("task", "all"):
        out[f"top1_{kind}"] = {"share": float(np.mean([p[f"top1_{kind}"] for p in per_task.values()])),
                               "ci95": _ci(np.mean([boots[t][f"top1_{kind}"] for t in per_task], axis=0)),
                               # a generator that ignores its description ties every task column: 1/T
                               **({"chance": 1.0 / len(per_task)} if kind == "task" else {})}
    return out
