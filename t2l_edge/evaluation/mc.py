"""Multiple-choice scoring by log-likelihood (cloze format, as in OLMES "RC").

Two prompt styles:
  plain  "Question: {q}\\nAnswer:" followed by " {option}": comparable to published base-model
         numbers, which are measured without a chat template
  chat   the question and its options ("Options: a | b | c") as the user turn of the base's
         chat template, one option as the assistant turn: exactly the format T2L and the LoRA
         baselines are trained on (data.schema.user_turn), so the adapters are scored on
         the prompt shape they learned
  letter the options listed as "A. ..." lines after the question, then "Answer:"; each option
         is scored as its letter (" A"), as in OLMES's MC format. Small models are near
         chance here; it shows whether an adapter teaches the format
acc takes the highest summed log-probability; acc_norm divides by the option's length in
characters first (OLMES acc_per_char), which removes the bias towards short options.
Winogrande uses partial scoring: each option fills the blank and the rest of the sentence is
scored, so the contexts differ and the scored text is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.schema import Example, user_turn


@dataclass
class ItemScore:
    id: str
    gold: int
    logprobs: list[float]
    lengths: list[int]

    @property
    def pred(self) -> int:
        return int(np.argmax(self.logprobs))

    @property
    def pred_norm(self) -> int:
        return int(np.argmax(np.array(self.logprobs) / np.maximum(1, np.array(self.lengths))))


def _question(bench: str, ex: Example) -> str:
    if bench == "boolq":
        return ex.prompt  # passage + "Question: ...?"
    return ex.prompt


LETTERS = "ABCDEFGHIJ"
STYLES = ("plain", "chat", "letter")


def score_item(engine, bench: str, ex: Example, style: str = "plain", description: str | None = None) -> ItemScore:
    prefix = f"{description}\n\n" if description else ""
    if style == "letter":
        listed = "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(ex.options))
        ctx_ids = engine.tokenize(f"{prefix}Question: {_question(bench, ex)}\n{listed}\nAnswer:", add_bos=True, special=True)
        conts = [" " + LETTERS[i] for i in range(len(ex.options))]
        lps = engine.score_tokens(ctx_ids, [engine.tokenize(c, add_bos=False) for c in conts])
        return ItemScore(ex.id, ex.answer_index, lps, [1] * len(conts))  # one letter each: acc_norm == acc
    if bench == "winogrande":
        cut = ex.prompt.index("_")
        before, after = ex.prompt[:cut], ex.prompt[cut + 1:]
        rest = after.rstrip()
        lps = []
        for opt in ex.options:
            ctx = prefix + before + opt
            if style == "chat":
                ctx = engine.format_chat(prefix + "Complete the sentence.") + before + opt
            lps.append(engine.score_tokens(engine.tokenize(ctx, add_bos=True, special=True),
                                           [engine.tokenize(rest, add_bos=False)])[0])
        return ItemScore(ex.id, ex.answer_index, lps, [len(rest)] * len(ex.options))
    q = _question(bench, ex)
    if style == "chat":
        ctx = engine.format_chat(prefix + user_turn(Example(q, ex.answer, ex.options, ex.answer_index, ex.id)))
        conts = list(ex.options)
    else:
        ctx = f"{prefix}Question: {q}\nAnswer:" if bench != "hellaswag" else prefix + q
        conts = [" " + o for o in ex.options]
    ctx_ids = engine.tokenize(ctx, add_bos=True, special=True)
    lps = engine.score_tokens(ctx_ids, [engine.tokenize(c, add_bos=False) for c in conts])
    return ItemScore(ex.id, ex.answer_index, lps, [len(c) for c in conts])


def bootstrap_ci(correct: np.ndarray, n: int = 1000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = [correct[rng.integers(0, len(correct), len(correct))].mean() for _ in range(n)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summarize(scores: list[ItemScore]) -> dict:
    acc = np.array([s.pred == s.gold for s in scores], dtype=float)
    acc_n = np.array([s.pred_norm == s.gold for s in scores], dtype=float)
    return {"n": len(scores), "acc": float(acc.mean()), "acc_ci95": bootstrap_ci(acc),
            "acc_norm": float(acc_n.mean()), "acc_norm_ci95": bootstrap_ci(acc_n)}


def summarize_correct(correct: list[bool]) -> dict:
    """Generative benchmarks: one right/wrong per item; acc and acc_norm are the same number."""
    arr = np.array(correct, dtype=float)
    ci = bootstrap_ci(arr)
    return {"n": len(arr), "acc": float(arr.mean()), "acc_ci95": ci, "acc_norm": float(arr.mean()), "acc_norm_ci95": ci}
