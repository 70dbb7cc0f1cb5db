"""What a training step eats: per-task description embeddings and examples, sampled into
right-padded batches (one example and one description per row).

Sampling is stateless: the batch of step s depends only on (seed, s), so a resumed run sees
exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..core.errors import T2LError
from ..data.schema import Example
from .choices import Choices, gold_chars, wrong_option_rows


@dataclass
class Batch:
    embeddings: torch.Tensor  # [T, emb_dim], one sampled description per example
    input_ids: torch.Tensor  # [T, S]
    attention_mask: torch.Tensor  # [T, S]
    labels: torch.Tensor  # [T, S], -100 outside the completion
    # The same rows with each row's description in the prompt (the prompt distillation
    # teacher of train/loss.py): the same answer tokens, a longer prompt. None when not asked for.
    teacher: "Batch | None" = None
    # The wrong options of the multiple-choice rows (option ranking, train/choices.py). None when not asked for.
    choices: Choices | None = None

    def rows(self, part: slice) -> "Batch":
        teacher = self.teacher.rows(part) if self.teacher is not None else None
        choices = self.choices.select(part, len(self.input_ids)) if self.choices is not None else None
        return Batch(self.embeddings[part], self.input_ids[part], self.attention_mask[part], self.labels[part], teacher,
                     choices)

    def to(self, device) -> "Batch":
        teacher = self.teacher.to(device) if self.teacher is not None else None
        choices = self.choices.to(device) if self.choices is not None else None
        return Batch(self.embeddings.to(device), self.input_ids.to(device), self.attention_mask.to(device),
                     self.labels.to(device), teacher, choices)

    def with_embeddings(self, embeddings: torch.Tensor) -> "Batch":
        """The same rows under other descriptions (the description-gap measurement); the teacher,
        which reads the own description, is dropped. The wrong options stay: they take their
        main row's adapter, so they follow the swap."""
        return Batch(embeddings, self.input_ids, self.attention_mask, self.labels, choices=self.choices)

    @property
    def n_scored(self) -> int:
        """Completion tokens the loss averages over (labels shifted by one, as in the loss)."""
        return int((self.labels[:, 1:] != -100).sum())


@dataclass
class TaskData:
    task_id: str
    examples: list[Example]
    desc_emb: np.ndarray  # [n_descriptions, emb_dim]
    descriptions: list[str] = field(default_factory=list)  # the texts of desc_emb's rows (prompt distillation)
    family: str = ""  # the pool's family (MMLU subjects share one); hard pairs avoid a partner of the same

    def description(self, k: int) -> str | None:
        return self.descriptions[k] if self.descriptions else None


def make_batch(tasks: list[TaskData], formatter, step: int, seed: int, n: int, pad_id: int, stream: int = 0,
               match_lengths: bool = False, families: list | None = None, n_pairs: int = 0,
               weights: np.ndarray | None = None, teacher: bool = False, choices: int = 0, hard_pairs: bool = False):
    """The batch of `step`: n tasks (different ones when there are enough), one example and one
    description each.
    `stream` separates independent sequences (0 training, 1 validation) under one seed.
    match_lengths (length bucketing): the first row's length is the step's bucket; every other
    row takes, of up to 8 examples of its task, the one closest to it. Rows are right-padded to
    the longest, so similar lengths mean less padding computed for nothing. The first row
    keeps the data's own length distribution.
    families, n_pairs: the first 2 * n_pairs rows are conflict pairs (train/conflict.py), the
    rest come from `tasks`. weights: sampling probabilities over `tasks` (family balance).
    teacher: also encode every row with its description in the prompt (Batch.teacher); it draws
    nothing from the rng, so the batch of a step is the same with it or without it.
    choices: k > 1 adds up to k - 1 wrong options of each multiple-choice pool-task row
    (Batch.choices, train/choices.py); it draws nothing from the rng either.
    hard_pairs: the pool rows come in pairs of one answer kind (multiple-choice with
    multiple-choice, the rest with the rest), so a swap partner (swap_partners(paired=True))
    differs in what the task asks, not in its answer format; off, no rng draw changes."""
    rng = np.random.default_rng([seed, step, stream])
    rows: list[tuple] = []
    if families and n_pairs:
        from .conflict import conflict_rows

        rows = conflict_rows(families, formatter, rng, min(n_pairs, n // 2))
    first_task_row = len(rows)
    if tasks and len(rows) < n:
        rows += _task_rows(tasks, formatter, rng, n - len(rows), match_lengths, weights, hard_pairs)
    if not rows:
        raise T2LError(f"no example fits max_len at step {step}", "raise max_len")
    batch = collate(rows, pad_id)
    if teacher:
        batch.teacher = collate([(formatter(ex, desc), emb, (ex, desc)) for _, emb, (ex, desc) in rows], pad_id)
    if choices > 1:
        wrong, row_of, chars = wrong_option_rows(rows, first_task_row, formatter, choices)
        if wrong:
            batch.choices = Choices(collate(wrong, pad_id), torch.tensor(row_of), torch.tensor(chars, dtype=torch.float32),
                                    torch.tensor(gold_chars(rows, first_task_row), dtype=torch.float32))
    return batch


def _task_rows(tasks, formatter, rng, n: int, match_lengths: bool, weights, hard_pairs: bool = False) -> list[tuple]:
    # Different tasks per batch (the paper's setting); a task-specific LoRA has one task, so
    # with fewer tasks than rows they repeat.
    picks = rng.choice(len(tasks), size=n, replace=len(tasks) < n, p=weights)
    if hard_pairs:
        picks = _same_kind_partners(tasks, picks, rng, weights)
    rows = []
    pivot = None
    for ti in picks:
        t = tasks[ti]
        best = None
        for _ in range(8):  # a few tries to find an example that fits max_len (and the bucket)
            ex = t.examples[int(rng.integers(len(t.examples)))]
            enc = formatter(ex)
            if enc is None:
                continue
            gap = abs(len(enc[0]) - pivot) if (match_lengths and pivot is not None) else 0
            if best is None or gap < best[0]:
                best = (gap, enc, ex)
            if gap <= 8:
                break
        if best is None:
            continue
        _, enc, ex = best
        pivot = len(enc[0]) if pivot is None else pivot
        k = int(rng.integers(len(t.desc_emb)))
        rows.append((enc, t.desc_emb[k], (ex, t.description(k))))
    return rows


def is_multiple_choice(task: TaskData) -> bool:
    return bool(task.examples and task.examples[0].options)


def _same_kind_partners(tasks, picks: np.ndarray, rng, weights) -> np.ndarray:
    """Replace every odd pick with a task of its even neighbour's answer kind from another family
    (the sampling weights renormalised over those), so each swap pair is a hard negative: a
    format adapter alone cannot tell the two descriptions apart, and two MMLU subjects (which
    differ in knowledge a 135M base barely has) are not asked to."""
    kind = np.array([is_multiple_choice(t) for t in tasks])
    family = np.array([t.family or t.task_id for t in tasks])
    p = np.ones(len(tasks)) / len(tasks) if weights is None else np.asarray(weights, dtype=float)
    out = picks.copy()
    for i in range(1, len(out), 2):
        first = out[i - 1]
        same = (kind == kind[first]) & (family != family[first])
        if same.any():
            q = np.where(same, p, 0.0)
            out[i] = int(rng.choice(len(tasks), p=q / q.sum()))
    return out


def collate(rows: list[tuple], pad_id: int):
    """[((token ids, n prompt tokens), description embedding, (example, description text))] ->
    a right-padded Batch whose labels cover each row's answer tokens only."""
    width = max(len(row[0][0]) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    labels = torch.full_like(input_ids, -100)
    for i, ((ids, n_prompt), *_) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        mask[i, : len(ids)] = 1
        labels[i, n_prompt: len(ids)] = torch.tensor(ids[n_prompt:])
    embs = np.stack([row[1] for row in rows])
    return Batch(torch.from_numpy(embs).float(), input_ids, mask, labels)


def family_weights(tasks: list[TaskData], family_of: dict[str, str], power: float = 1.0) -> np.ndarray:
    """Sampling probabilities over tasks: each task weighs 1 / (its family's size) ** power.
    power 1 gives every family the same share, so 57 MMLU subjects in one format count as one
    family; power 0.5 (sqrt_family) is halfway between that and every task alike."""
    fams = [family_of.get(t.task_id, t.task_id) for t in tasks]
    size = {f: fams.count(f) for f in set(fams)}
    w = np.array([1.0 / size[f] ** power for f in fams])
    return w / w.sum()
