"""Option ranking: the multiple-choice rows of a batch scored the way the benchmarks score them.

Next-token CE on the gold option raises its likelihood, and every answer-shaped string's with it:
a format adapter gets most of that loss. The benchmarks instead ask which option is the most
likely per character (acc_norm). With `rank_options: k`, each multiple-choice row of a pool task
also gets rows for up to k - 1 of its wrong options (the same prompt and adapter, the wrong
option as the answer), and the loss gains

    rank_weight * CE(softmax(rank_temp * [log P(option) / characters of option]), gold)

averaged over the batch's multiple-choice rows. So the generator is paid for adapters that tell
a task's right answers from its wrong ones, the task knowledge the oracle LoRAs have
(docs/specificity.md), not only for the answer format. Validation reports the share of held-out
multiple-choice rows whose gold option wins (val_rank_acc) under the own description and under
another task's (val_rank_gap = own minus swapped): the description gap in the benchmarks' metric.

With the swap hinge on, `rank_swap_weight` adds the hinge in this metric too: each
multiple-choice row's ranking CE under its swap partner's adapter should exceed the CE under its
own by `rank_swap_margin` nats. The CE hinge alone can be met by fitting the answer's format
worse under a wrong description; this one pays only when the own adapter ranks the task's options
better than another task's adapter does, which is what own-minus-other on the benchmarks measures.

The wrong options are the first k - 1 in the example's order: no random draw, so a batch's main
rows are the same with ranking on or off and validation losses stay comparable across runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .batched_lora import lora_applied, row_completion_losses


@dataclass
class Choices:
    """The wrong options of a batch's multiple-choice rows, as rows of their own."""
    rows: "Batch"  # noqa: F821  (batches.Batch; a forward reference to avoid an import cycle)
    row_of: torch.Tensor  # [D] the main row (the gold option) each wrong option belongs to
    chars: torch.Tensor  # [D] characters of each wrong option
    gold_chars: torch.Tensor  # [T] characters of each main row's gold option; 0 for rows without options

    def to(self, device) -> "Choices":
        return Choices(self.rows.to(device), self.row_of.to(device), self.chars.to(device), self.gold_chars.to(device))

    def select(self, part: slice, n_main: int) -> "Choices | None":
        """The wrong options of main rows `part` (a data-parallel shard), re-indexed."""
        lo, hi, _ = part.indices(n_main)
        keep = ((self.row_of >= lo) & (self.row_of < hi)).nonzero()[:, 0]
        if len(keep) == 0:
            return None
        idx = keep.tolist()
        rows = type(self.rows)(self.rows.embeddings[idx], self.rows.input_ids[idx], self.rows.attention_mask[idx],
                               self.rows.labels[idx])
        return Choices(rows, self.row_of[keep] - lo, self.chars[keep], self.gold_chars[lo:hi])

    @property
    def n_groups(self) -> int:
        return len(torch.unique(self.row_of))


def option_chars(text: str) -> int:
    """acc_norm's length: the option with the space that precedes it in the cloze."""
    return len(text) + 1


def wrong_option_rows(rows: list[tuple], first: int, formatter, k: int) -> tuple[list[tuple], list[int], list[int]]:
    """For rows[first:] (pool-task rows; earlier ones are conflict pairs whose answers are not
    option texts), up to k - 1 wrong options each: (rows in the collate format, main row of each,
    characters of each)."""
    out, row_of, chars = [], [], []
    for i in range(first, len(rows)):
        _, emb, (ex, desc) = rows[i]
        if not ex.options or not 0 <= ex.answer_index < len(ex.options):
            continue
        wrong = [o for j, o in enumerate(ex.options) if j != ex.answer_index and o != ex.answer][: k - 1]
        for option in wrong:
            enc = formatter(replace(ex, answer=option))
            if enc is not None:
                out.append((enc, emb, (ex, desc)))
                row_of.append(i)
                chars.append(option_chars(option))
    return out, row_of, chars


def gold_chars(rows: list[tuple], first: int) -> list[int]:
    return [option_chars(ex.answer) if i >= first and ex.options else 0 for i, (_, _, (ex, _)) in enumerate(rows)]


def answer_logp(per_row: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed log-likelihood of each row's answer tokens, from row_completion_losses' per-row means."""
    return -per_row * (labels[:, 1:] != -100).sum(1)


def _logp_sums(model, batch) -> torch.Tensor:
    _, per_row, _ = row_completion_losses(model, batch.input_ids, batch.attention_mask, batch.labels)
    return answer_logp(per_row, batch.labels)


def option_ranking(model, wrapped, loras: dict, scale: float, choices: Choices, gold_logp: torch.Tensor,
                   temp: float, offset: int = 0) -> tuple[torch.Tensor, float]:
    """(ranking CE of each multiple-choice row [G], share whose gold option scores best).
    gold_logp [T]: the main rows' summed answer log-likelihoods under the same adapters, from the
    step's own forward pass; loras: adapters indexed by main row + `offset` (offset T picks the
    swapped half of a swap-hinge step's 2T adapters)."""
    picked = {m: (a[choices.row_of + offset], b[choices.row_of + offset]) for m, (a, b) in loras.items()}
    with lora_applied(wrapped, picked, scale):
        wrong = _logp_sums(model, choices.rows)
    wrong_score = wrong / choices.chars
    losses, wins = [], 0
    for row in torch.unique(choices.row_of).tolist():
        gold_score = gold_logp[row] / choices.gold_chars[row]
        scores = torch.cat([gold_score.reshape(1), wrong_score[choices.row_of == row]]) * temp
        losses.append(torch.nn.functional.cross_entropy(scores.unsqueeze(0).float(), scores.new_zeros(1, dtype=torch.long)))
        wins += int(scores[0] >= scores[1:].max())
    return torch.stack(losses), wins / len(losses)
