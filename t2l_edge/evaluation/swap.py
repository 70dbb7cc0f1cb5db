"""Swap controls: does an adapter follow its description?

Every task is scored under the adapter made from each column's text:
  task:<id>  that task's held-out descriptions (the diagonal is the task's own; the rest are swaps)
  random:k   fixed nonsense strings (`rows.random_description`), the same for every task
  empty      a lone full stop (the generator refuses an empty string)
  neutral    a description that names no task
  base       no adapter at all
and, on the diagonal only, with the description as a prompt: `prompt-base` (the bare base with
the task's description in front of the prompt) and `prompt-own` (the own adapter and the
description in the prompt too). Each own description is one adapter, made once and scored on
every task, so the matrix costs (tasks x descriptions + random + 3) passes over the items.

Per item: multiple choice scores 1/0 by acc_norm (`mc.score_item`, plain style, the primary
format); generation scores the mean per-token log-likelihood of the gold answer after the same
cloze prompt. `swap_stats.analyse` turns the per-item scores into the matrix and its contrasts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..data.schema import Example, cloze_prompt, description_prefix
from .mc import score_item
from .rows import random_description

NEUTRAL = "Respond to the input."
EMPTY = "."
# lengths of the fixed random strings: short, typical and long descriptions
_RANDOM_LIKE = ("Answer the question briefly.", "Read the passage and answer the question with the right option.",
                "You will get a short text followed by a question about it; give the answer that the text supports best.")


@dataclass
class SwapTask:
    id: str
    items: list[Example]
    descriptions: list[str]  # held-out only
    bench: str = ""  # mc.score_item's benchmark name: its special prompts (winogrande, hellaswag); "" = cloze

    @property
    def metric(self) -> str:
        return "acc_norm" if self.items and self.items[0].is_mc else "loglik"


@dataclass
class Column:
    name: str
    texts: list[str] = field(default_factory=list)  # one adapter per text; none = the bare base


def random_strings(n: int) -> list[str]:
    return [random_description(_RANDOM_LIKE[k % len(_RANDOM_LIKE)], seed=k) for k in range(n)]


def columns(tasks: list[SwapTask], n_descriptions: int, n_random: int = 3) -> list[Column]:
    cols = [Column(f"task:{t.id}", t.descriptions[:n_descriptions]) for t in tasks]
    cols += [Column(f"random:{k}", [s]) for k, s in enumerate(random_strings(n_random))]
    return cols + [Column("empty", [EMPTY]), Column("neutral", [NEUTRAL]), Column("base", [])]


def gold_loglik(engine, ex: Example, in_prompt: str | None = None) -> float:
    """Mean log-probability per token of the gold answer after the cloze prompt."""
    prefix = description_prefix(in_prompt)
    ctx = engine.tokenize(prefix + cloze_prompt(ex), add_bos=True, special=True)
    cont = engine.tokenize(" " + ex.answer, add_bos=False)
    return float(engine.score_tokens(ctx, [cont])[0]) / max(1, len(cont))


def _option_logp(logprobs: list[float], gold: int) -> float:
    """log P(gold | the options): the options' summed log-likelihoods, renormalised."""
    lp = np.array(logprobs, dtype=float)
    return float(lp[gold] - (lp.max() + np.log(np.exp(lp - lp.max()).sum())))


def score_task(engine, task: SwapTask, in_prompt: str | None = None) -> tuple[list[float], list[float]]:
    """Per item under whatever adapter is active: (the task's metric, and for multiple choice
    the continuous log P(gold | options), which separates adapters with fewer items than 0/1
    accuracy does; empty for generation tasks)."""
    if task.metric == "loglik":
        return [gold_loglik(engine, ex, in_prompt) for ex in task.items], []
    acc, logp = [], []
    for ex in task.items:
        s = score_item(engine, task.bench, ex, "plain", in_prompt)
        acc.append(float(s.pred_norm == s.gold))
        logp.append(_option_logp(s.logprobs, s.gold))
    return acc, logp


def _mean_rows(rows: list[list[float]]) -> list[float]:
    return [sum(v) / len(v) for v in zip(*rows)]


def run_swap(engine, gen, tasks: list[SwapTask], n_descriptions: int = 1, n_random: int = 3,
             prompt_rows: bool = True, log: Callable[[str], None] = lambda s: None, guidance: float = 1.0) -> dict:
    """Per-item scores of every task under every column, plus the two prompt rows.

    `gen` makes adapters (`Generator.make`); `engine` scores (`Engine`: use / clear / tokenize /
    score_tokens). Returns {"columns", "column_texts", "tasks": {id: view}, "tasks_option_logp":
    {id: view} for the multiple-choice ones}, a view being {"metric", "ids", "scores": {column:
    per-item}, "prompt-base", "prompt-own"}: what `swap_stats.analyse` reads."""
    cols = columns(tasks, n_descriptions, n_random)
    by_id = {t.id: t for t in tasks}
    # runs[view][task][row] = per-item lists, one per adapter text, averaged at the end
    runs: list[dict[str, dict[str, list]]] = [{t.id: {} for t in tasks}, {t.id: {} for t in tasks}]

    def add(tid: str, row: str, scored: tuple[list[float], list[float]]) -> None:
        for view, values in zip(runs, scored):
            view[tid].setdefault(row, []).append(values)

    for col in cols:
        t0 = time.perf_counter()
        for text in col.texts or [None]:
            if text is None:
                engine.clear()
            else:
                engine.use(gen.make(text, guidance) if guidance != 1.0 else gen.make(text))
            for t in tasks:
                add(t.id, col.name, score_task(engine, t))
            own = col.name.removeprefix("task:")
            if prompt_rows and text is not None and own in by_id:  # the own adapter, description in the prompt too
                add(own, "prompt-own", score_task(engine, by_id[own], text))
        log(f"{col.name:28s} {len(col.texts) or 1} adapter(s) x {len(tasks)} tasks, {time.perf_counter() - t0:.0f} s")
    if prompt_rows:
        engine.clear()
        for t in tasks:
            for d in t.descriptions[:n_descriptions]:
                add(t.id, "prompt-base", score_task(engine, t, d))
        log(f"{'prompt-base':28s} {len(tasks)} tasks")
    mc = [t for t in tasks if t.metric == "acc_norm"]
    return {"columns": [c.name for c in cols], "column_texts": {c.name: c.texts for c in cols},
            "tasks": _views(runs[0], tasks, cols, None), "tasks_option_logp": _views(runs[1], mc, cols, "option_logp")}


def _views(run: dict, tasks: list[SwapTask], cols: list[Column], metric: str | None) -> dict:
    """Average each row over its adapter texts; `metric` None = each task's own."""
    return {t.id: {"metric": metric or t.metric, "ids": [ex.id for ex in t.items],
                   "scores": {c.name: _mean_rows(run[t.id][c.name]) for c in cols},
                   **{r: _mean_rows(run[t.id][r]) for r in ("prompt-base", "prompt-own") if r in run[t.id]}}
            for t in tasks}


def prompt_cost(engine, tasks: list[SwapTask], n_descriptions: int) -> dict:
    """What the description costs as a prompt, per query: its tokens (with the blank line after
    it) and the extra forward FLOPs, counted as `analysis/flops.py` counts 3-shot ICL (the
    prefix itself, plus the query attending to it)."""
    from ..analysis.flops import transformer_flops

    spec, out = engine.spec, {}
    for t in tasks:
        n = float(np.mean([len(engine.tokenize(description_prefix(d), add_bos=False)) for d in t.descriptions[:n_descriptions]]))
        q = float(np.mean([len(engine.tokenize(cloze_prompt(ex), add_bos=False)) for ex in t.items]))
        prefix = transformer_flops(int(round(n)), spec.n_layer, spec.hidden, spec.ffn, kv_width=spec.head_dim * spec.n_head_kv,
                                   gated=True, context=int(round(n)) // 2)
        out[t.id] = {"description_tokens": n, "query_tokens": q,
                     "extra_flops_per_query": prefix + 2 * 2 * spec.n_layer * spec.hidden * n * q}
    return out
