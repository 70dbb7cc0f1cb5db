"""Multiple-choice scoring by log-likelihood (cloze format, as in OLMES "RC").

Three prompt styles:
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
from typing import Sequence

import numpy as np

from ..data.schema import Example, cloze_prompt, description_prefix, user_turn


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


LETTERS = "ABCDEFGHIJ"
STYLES = ("plain", "chat", "letter")


def _listed(ex: Example) -> str:
    return "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(ex.options))


def _letter_prompt(ex: Example) -> str:
    return f"Question: {ex.prompt}\n{_listed(ex)}\nAnswer:"


def _winogrande_parts(ex: Example) -> tuple[str, str]:
    cut = ex.prompt.index("_")
    return ex.prompt[:cut], ex.prompt[cut + 1:].rstrip()


def _solved(bench: str, ex: Example, style: str) -> str:
    """A worked example in the plain and letter styles: the prompt the item gets, then its answer."""
    if bench == "winogrande":
        before, rest = _winogrande_parts(ex)
        return before + ex.answer + rest
    if style == "letter":
        return f"{_letter_prompt(ex)} {LETTERS[ex.answer_index]}"
    if bench == "hellaswag":
        return f"{ex.prompt} {ex.answer}"
    return f"{cloze_prompt(ex)} {ex.answer}"


def _chat_turns(bench: str, ex: Example) -> tuple[str, str]:
    """(user, assistant) of a worked example in the chat style."""
    if bench == "winogrande":
        before, rest = _winogrande_parts(ex)
        return "Complete the sentence.", before + ex.answer + rest
    return user_turn(ex), ex.answer


def score_item(engine, bench: str, ex: Example, style: str = "plain", description: str | None = None,
               shots: Sequence[Example] = ()) -> ItemScore:
    """Log-likelihood of each option. `description` goes in front of the prompt (the
    desc-in-prompt row); `shots` are worked examples before the question (the ICL row): in the
    chat style as earlier user/assistant turns, otherwise as blank-line separated blocks."""
    prefix = description_prefix(description)
    if style == "chat":
        history = [_chat_turns(bench, s) for s in shots]
        def chat(user: str) -> str:
            return engine.format_chat(prefix + user, history=history)
    else:
        prefix += "".join(_solved(bench, s, style) + "\n\n" for s in shots)
    if style == "letter":
        ctx_ids = engine.tokenize(prefix + _letter_prompt(ex), add_bos=True, special=True)
        conts = [" " + LETTERS[i] for i in range(len(ex.options))]
        lps = engine.score_tokens(ctx_ids, [engine.tokenize(c, add_bos=False) for c in conts])
        return ItemScore(ex.id, ex.answer_index, lps, [1] * len(conts))  # one letter each: acc_norm == acc
    if bench == "winogrande":
        before, rest = _winogrande_parts(ex)
        lps = []
        for opt in ex.options:
            ctx = (chat("Complete the sentence.") if style == "chat" else prefix) + before + opt
            lps.append(engine.score_tokens(engine.tokenize(ctx, add_bos=True, special=True),
                                           [engine.tokenize(rest, add_bos=False)])[0])
        return ItemScore(ex.id, ex.answer_index, lps, [len(rest)] * len(ex.options))
    if style == "chat":
        ctx = chat(user_turn(ex))
        conts = list(ex.options)
    else:
        ctx = prefix + (cloze_prompt(ex) if bench != "hellaswag" else ex.prompt)
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
    # Per-item gold and prediction: paired comparisons between rows and answer-bias checks
    # (the letter style at this scale is mostly a model's preference for one letter).
    return {"n": len(scores), "acc": float(acc.mean()), "acc_ci95": bootstrap_ci(acc),
            "acc_norm": float(acc_n.mean()), "acc_norm_ci95": bootstrap_ci(acc_n),
            "gold": [s.gold for s in scores], "pred_norm": [s.pred_norm for s in scores]}


def summarize_correct(correct: list[bool]) -> dict:
    """Generative benchmarks: one right/wrong per item; acc and acc_norm are the same number."""
    arr = np.array(correct, dtype=float)
    ci = bootstrap_ci(arr)
    return {"n": len(arr), "acc": float(arr.mean()), "acc_ci95": ci, "acc_norm": float(arr.mean()), "acc_norm_ci95": ci}
