"""Markdown for a swap result file (`t2l-edge specificity`): the contrasts, then the matrix."""

from __future__ import annotations

import re

from .swap_stats import CONTRASTS

# unit, scale, decimals
_UNIT = {"acc_norm": ("acc_norm points", 100.0, 1), "loglik": ("nats/token", 1.0, 3), "option_logp": ("nats", 1.0, 3)}
_LABEL = {"diagonal_advantage": "own - mean of other tasks' descriptions (diagonal advantage)",
          "own_minus_random": "own - random strings", "own_minus_base": "own - bare base",
          "own_minus_neutral": "own - neutral description", "own_minus_empty": "own - empty description",
          "prompt_base_minus_base": "base + description in prompt - bare base",
          "prompt_own_minus_own": "own adapter + description in prompt - own adapter",
          "prompt_own_minus_base": "own adapter + description in prompt - bare base"}


def short(tid: str) -> str:
    """A table header: no source prefix ("bb.", "ni.subtask014_"), at most 22 characters."""
    name = re.sub(r"^subtask\d+_", "", tid.split(".", 1)[-1])
    return name if len(name) <= 22 else name[:21] + "~"


def _fmt(value: float, metric: str, signed: bool = False) -> str:
    _, scale, digits = _UNIT[metric]
    v = round(scale * value, digits) + 0.0  # + 0.0: a rounded -0 prints as 0
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def summary_table(result: dict) -> list[str]:
    s = result["summary"]
    lines = ["| contrast | " + " | ".join(f"{m} ({_UNIT[m][0]}, {s[m]['tasks']} tasks)" for m in _UNIT if m in s) + " |",
             "|---|" + "---|" * sum(m in s for m in _UNIT)]
    for name in CONTRASTS:
        cells = []
        for m in (m for m in _UNIT if m in s):
            c = s[m].get(name)
            cells.append("-" if c is None else
                         f"{_fmt(c['diff'], m, True)} ({_fmt(c['ci95'][0], m, True)} to {_fmt(c['ci95'][1], m, True)})")
        if any(c != "-" for c in cells):
            lines.append(f"| {_LABEL[name]} | " + " | ".join(cells) + " |")
    for kind, what in (("task", "among the tasks' descriptions"), ("all", "among all columns")):
        t = s[f"top1_{kind}"]
        chance = f"; chance {100 * t['chance']:.0f}%" if "chance" in t else ""
        lines.append(f"| top-1 retrieval {what} (share of tasks{chance}) | "
                     f"{100 * t['share']:.0f}% ({100 * t['ci95'][0]:.0f}% to {100 * t['ci95'][1]:.0f}%) |"
                     + " |" * (sum(m in s for m in _UNIT) - 1))
    return lines


def matrix_table(result: dict) -> list[str]:
    tasks, cols = list(result["matrix"]), result["columns"]
    task_cols = [c for c in cols if c.startswith("task:")]
    rest = [c for c in cols if not c.startswith("task:")]
    head = [short(c[5:]) for c in task_cols] + rest + ["prompt-base", "prompt-own"]
    lines = ["| task (metric) \\ adapter from | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for tid in tasks:
        row, p, m = result["matrix"][tid], result["per_task"][tid], result["per_task"][tid]["metric"]
        cells = []
        for c in task_cols + rest:
            v = _fmt(row[c], m)
            cells.append(f"**{v}**" if c == f"task:{tid}" else v)
        cells += [_fmt(p[r], m) if r in p else "-" for r in ("prompt-base", "prompt-own")]
        lines.append(f"| {short(tid)} ({'acc' if m == 'acc_norm' else 'll'}) | " + " | ".join(cells) + " |")
    return lines


def render_swap(result: dict) -> str:
    label = result.get("label") or f"swap-{result['set']}"
    cfg = result.get("config", {})
    head = (f"**{label}**: set `{result['set']}`, {len(result['matrix'])} tasks x {cfg.get('limit')} items (seed "
            f"{cfg.get('seed')}), {cfg.get('descriptions')} held-out description(s) per task, bundle "
            f"`{cfg.get('bundle')}`; paired bootstrap 95% CIs over items.")
    foot = ("Matrix: rows are the scored tasks, columns the text each adapter was made from; the diagonal (bold) is "
            "the task's own description. acc = acc_norm in % (multiple choice, plain cloze); ll = mean per-token "
            "log-likelihood of the gold answer (generation). random = fixed nonsense strings; empty = a lone full "
            "stop; neutral = \"Respond to the input.\"; prompt-base / prompt-own = the description in the prompt, "
            "on the bare base / with the own adapter.")
    parts = [head, "", *summary_table(result), "", *matrix_table(result), "", foot]
    if result.get("prompt_cost"):
        c = list(result["prompt_cost"].values())
        parts += ["", f"The description as a prompt costs {sum(x['description_tokens'] for x in c) / len(c):.0f} tokens "
                  f"and {sum(x['extra_flops_per_query'] for x in c) / len(c) / 1e9:.2f} GFLOP per query on average "
                  f"(queries average {sum(x['query_tokens'] for x in c) / len(c):.0f} tokens); an adapter is made once per task."]
    if result.get("option_logp"):
        parts += ["", "The multiple-choice tasks again, by the continuous log P(gold | options) (summed option "
                  "log-likelihoods renormalised over the options; nats, higher is better):", "",
                  *summary_table(result["option_logp"])]
    return "\n".join(parts)
