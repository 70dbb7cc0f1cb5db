"""Decontamination: no training example may share a 13-word span with any benchmark item.

13-grams over lower-cased word tokens follow the GPT-3 / OLMo practice: long enough that
common phrases do not match, short enough to catch a copied question.
"""

from __future__ import annotations

import re
from collections import Counter

from .schema import Example

N = 13
_WORD = re.compile(r"[a-z0-9]+")


def ngrams(text: str, n: int = N) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def item_text(ex: Example) -> str:
    return " ".join([ex.prompt, ex.answer, *ex.options])


class Index:
    def __init__(self, items: dict[str, list[Example]]):
        """items: benchmark name -> every item of it (scored and train parts)."""
        self.owner: dict[tuple[str, ...], str] = {}
        for name, exs in items.items():
            for ex in exs:
                for g in ngrams(item_text(ex)):
                    self.owner.setdefault(g, f"{name}:{ex.id}")

    def hits(self, ex: Example) -> list[str]:
        return sorted({self.owner[g] for g in ngrams(item_text(ex)) if g in self.owner})


def clean(tasks: dict[str, list[Example]], index: Index) -> tuple[dict[str, list[Example]], dict]:
    """Drop leaking examples. Returns (clean tasks, report)."""
    out, dropped, worst = {}, Counter(), []
    for tid, exs in tasks.items():
        keep = []
        for ex in exs:
            hits = index.hits(ex)
            if hits:
                dropped[tid] += 1
                worst.append((len(hits), tid, ex.id, hits[:3]))
            else:
                keep.append(ex)
        out[tid] = keep
    worst.sort(reverse=True)
    report = {"ngram": N, "benchmark_ngrams": len(index.owner), "examples_checked": sum(len(v) for v in tasks.values()),
              "examples_dropped": sum(dropped.values()), "tasks_affected": dict(dropped.most_common()),
              "worst": [{"task": t, "example": e, "matches": h, "n_benchmark_items": n} for n, t, e, h in worst[:20]]}
    return out, report
