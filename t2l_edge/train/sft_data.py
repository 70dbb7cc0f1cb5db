"""What an SFT step eats: per-task description embeddings and examples in a prompt style.

Sampling is stateless: the batch of step s depends only on (seed, s), so a resumed run sees
exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from ..data.schema import Example, cloze_prompt, user_turn
from ..core.errors import T2LError


class _Formatter(ABC):
    """Prompt text and answer text -> (token ids, number of prompt tokens); None when the pair is
    longer than max_len. Only the answer tokens are scored."""

    def __init__(self, tokenizer, max_len: int):
        self.tok, self.max_len = tokenizer, max_len

    @abstractmethod
    def parts(self, ex: Example) -> tuple[str, str]:
        """(prompt text, answer text) of one example in this shape."""

    def __call__(self, ex: Example) -> tuple[list[int], int] | None:
        prompt, answer = self.parts(ex)
        p_ids = self.tok(prompt, add_special_tokens=False)["input_ids"]
        a_ids = self.tok(answer, add_special_tokens=False)["input_ids"]
        if len(p_ids) + len(a_ids) > self.max_len:
            return None
        return p_ids + a_ids, len(p_ids)


class ChatFormatter(_Formatter):
    """Prompt in the user turn, answer in the assistant turn, via the tokenizer's chat template.
    The answer's end-of-turn token is scored too."""

    def parts(self, ex: Example) -> tuple[str, str]:
        prompt = self.tok.apply_chat_template([{"role": "user", "content": user_turn(ex)}], add_generation_prompt=True, tokenize=False)
        return prompt, ex.answer + (self.tok.eos_token or "")


class PlainFormatter(_Formatter):
    """The plain (cloze) style of `t2l-edge eval --style plain`: "Question: ...\nAnswer:" with
    no chat template and no option list, then " answer". Training in this shape makes the
    adapter raise the likelihood of the right option exactly where the plain style scores it.
    No end token: the cloze ends with the option."""

    def parts(self, ex: Example) -> tuple[str, str]:
        return cloze_prompt(ex), " " + ex.answer


class MixedFormatter:
    """Half the examples in each shape, so one adapter serves both uses: chat generation (the
    product) and the plain cloze scoring (the primary benchmark format). The shape is a fixed
    function of the example id (crc32 parity), not a random draw: batches stay a pure function
    of the step, and a resumed run sees the same prompts."""

    def __init__(self, tokenizer, max_len: int):
        self.shapes = (ChatFormatter(tokenizer, max_len), PlainFormatter(tokenizer, max_len))

    def __call__(self, ex: Example) -> tuple[list[int], int] | None:
        return self.shapes[zlib.crc32(ex.id.encode()) & 1](ex)


FORMATTERS = {"chat": ChatFormatter, "plain": PlainFormatter, "mixed": MixedFormatter}


@dataclass
class TaskData:
    task_id: str
    examples: list[Example]
    desc_emb: np.ndarray  # [n_descriptions, emb_dim]


def make_batch(tasks: list[TaskData], formatter, step: int, seed: int, n: int, pad_id: int, stream: int = 0,
               match_lengths: bool = False, families: list | None = None, n_pairs: int = 0,
               weights: np.ndarray | None = None):
    """The batch of `step`: n tasks (different ones when there are enough), one example and one
    description each.
    `stream` separates independent sequences (0 training, 1 validation) under one seed.
    match_lengths (length bucketing): the first row's length is the step's bucket; every other
    row takes, of up to 8 examples of its task, the one closest to it. Rows are right-padded to
    the longest, so similar lengths mean less padding computed for nothing. The first row
    keeps the data's own length distribution.
    families, n_pairs: the first 2 * n_pairs rows are conflict pairs (train/conflict.py), the
    rest come from `tasks`. weights: sampling probabilities over `tasks` (family balance)."""
    rng = np.random.default_rng([seed, step, stream])
    rows: list[tuple] = []
    if families and n_pairs:
        from .conflict import conflict_rows

        rows = conflict_rows(families, formatter, rng, min(n_pairs, n // 2))
    if tasks and len(rows) < n:
        rows += _task_rows(tasks, formatter, rng, n - len(rows), match_lengths, weights)
    if not rows:
        raise T2LError(f"no example fits max_len at step {step}", "raise max_len")
    return collate(rows, pad_id)


def _task_rows(tasks, formatter, rng, n: int, match_lengths: bool, weights) -> list[tuple]:
    # Different tasks per batch (the paper's setting); a task-specific LoRA has one task, so
    # with fewer tasks than rows they repeat.
    picks = rng.choice(len(tasks), size=n, replace=len(tasks) < n, p=weights)
    rows = []
    pivot = None
    for ti in picks:
        t = tasks[ti]
        best = None
        for _ in range(8):  # a few tries to find an example that fits max_len (and the bucket)
            enc = formatter(t.examples[int(rng.integers(len(t.examples)))])
            if enc is None:
                continue
            gap = abs(len(enc[0]) - pivot) if (match_lengths and pivot is not None) else 0
            if best is None or gap < best[0]:
                best = (gap, enc)
            if gap <= 8:
                break
        if best is None:
            continue
        enc = best[1]
        pivot = len(enc[0]) if pivot is None else pivot
        rows.append((enc, t.desc_emb[int(rng.integers(len(t.desc_emb)))]))
    return rows


def collate(rows: list[tuple], pad_id: int):
    """[((token ids, n prompt tokens), description embedding)] -> a right-padded Batch whose
    labels cover each row's answer tokens only."""
    from .sft_step import Batch

    width = max(len(ids) for (ids, _), _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    labels = torch.full_like(input_ids, -100)
    for i, ((ids, n_prompt), _) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        mask[i, : len(ids)] = 1
        labels[i, n_prompt: len(ids)] = torch.tensor(ids[n_prompt:])
    embs = np.stack([e for _, e in rows])
    return Batch(torch.from_numpy(embs).float(), input_ids, mask, labels)


def family_weights(tasks: list[TaskData], family_of: dict[str, str], power: float = 1.0) -> np.ndarray:
    """Sampling probabilities over tasks: each task weighs 1 / (its family's size) ** power.
    power 1 gives every family the same share, so 57 MMLU subjects in one format count as one
    family; power 0.5 (sqrt_family) is halfway between that and every task alike."""
    fams = [family_of.get(t.task_id, t.task_id) for t in tasks]
    size = {f: fams.count(f) for f in set(fams)}
    w = np.array([1.0 / size[f] ** power for f in fams])
    return w / w.sum()
