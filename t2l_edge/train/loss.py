"""The loss of every trainer that runs through the base (sft, lora, mt-lora): descriptions ->
generator -> per-example LoRA -> loss through the frozen base.

Loss = next-token cross-entropy on completion tokens (optionally label-smoothed)
     + l2 * mean squared value of the generated A and B (the paper's penalty, which keeps the
       generated matrices from drifting to large norms early in training).
     + swap_weight * mean over rows of max(0, swap_margin - (CE under a swapped description - own CE)),
       when swap_weight > 0: the hinge asks each row to fit worse under another row's description
       by at least swap_margin nats, so the generator is paid for reading the description and
       stops being paid once it does. Both versions of a row go through the base in one forward
       pass of 2T rows (about twice a plain step's compute).
     + distill_weight * KL(teacher || student) per answer token, when distill_weight > 0: the
       teacher is the same adapter with the description also in the prompt (prompt_distill_kl).
     + rank.weight * option-ranking CE over the multiple-choice rows' options, when the batch has
       wrong options (train/choices.py): the benchmarks' acc_norm made a loss.
     + rank.swap_weight * mean over those rows of max(0, margin - (ranking CE under a swapped
       description - own ranking CE)), on swap-hinge steps: the swap hinge in acc_norm's terms.
NEFTune adds uniform noise to input embeddings during training (alpha / sqrt(len * dim)).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from ..core.adapter import lora_scale
from ..hypernet.model import HyperNetwork
from .batched_lora import lora_applied, row_completion_losses, scored_logits
from .batches import Batch
from .choices import answer_logp, option_ranking


def swap_partners(n: int, paired: bool) -> list[int]:
    """Which row lends its description to each row (the description gap and the swap hinge).
    Rows of a validation batch are different tasks, so a shift by one gives every row another
    task's description. Conflict pairs (paired) swap within the pair: the same input under the
    other variant's description, the sharpest test of whether the description is read."""
    if paired:
        return [i ^ 1 if (i ^ 1) < n else (i + 1) % n for i in range(n)]
    return [(i - 1) % n for i in range(n)]


@dataclass
class RankTerm:
    weight: float  # of the option-ranking CE in the loss (0: measured, not trained)
    temp: float  # multiplies the per-character log-likelihoods before the softmax over options
    norm: float | None = None  # data parallel: the global batch's multiple-choice rows (else this batch's)
    swap_weight: float = 0.0  # of the ranking hinge under swapped descriptions (needs the swap hinge's 2T rows)
    swap_margin: float = 0.3  # nats of ranking CE a row should lose under another row's description


@dataclass
class SwapHinge:
    weight: float  # of the hinge term in the loss
    margin: float  # nats a row should lose under another row's description


def sft_loss(net: HyperNetwork, model, wrapped, batch: Batch, l2: float = 1e-3, label_smoothing: float = 0.0,
             neftune_alpha: float = 0.0, token_norm: float | None = None,
             swap: SwapHinge | None = None, distill_weight: float = 0.0,
             rank: RankTerm | None = None) -> tuple[torch.Tensor, dict]:
    """`net` is anything that maps description embeddings to {module: (A, B)}: a HyperNetwork,
    a FixedLoRA baseline, or either wrapped in DistributedDataParallel. With `swap`, the rows
    come in the order make_batch gives (conflict pairs first), partners as swap_partners(paired).
    distill_weight > 0 needs batch.teacher (make_batch(..., teacher=True)); rank acts on
    batch.choices (make_batch(..., choices=k)) and does nothing without them."""
    cfg = getattr(net, "module", net).cfg
    scale = lora_scale(cfg.alpha, cfg.rank, cfg.use_rslora)
    n_rows = len(batch.input_ids)
    doubled = swap is not None and swap.weight > 0  # own rows, then the same rows swapped
    student = _with_swapped_rows(batch) if doubled else batch
    loras = net(student.embeddings)
    penalty = sum((a.pow(2).mean() + b.pow(2).mean()) for a, b in loras.values()) / len(loras)
    with _neftune(model, neftune_alpha if net.training else 0.0), lora_applied(wrapped, loras, scale):
        tok, per_row, logits = row_completion_losses(model, student.input_ids, student.attention_mask, student.labels,
                                                     label_smoothing)
    own_tok = tok[: len(tok) // 2] if doubled else tok  # the two halves score the same tokens, own rows first
    ce = own_tok.mean() if token_norm is None else own_tok.sum() / token_norm
    loss = ce + l2 * penalty
    info = {"ce": float(ce.detach()), "l2": float(penalty.detach()), "tokens": len(own_tok)}
    if doubled:
        gap = per_row[n_rows:] - per_row[:n_rows]
        hinge = torch.relu(swap.margin - gap).mean()
        loss = loss + swap.weight * hinge
        info.update(swap_gap=float(gap.detach().mean()), hinge=float(hinge.detach()))
    if distill_weight > 0:
        kl = prompt_distill_kl(model, wrapped, loras, scale, batch, logits[: len(own_tok)])
        loss = loss + distill_weight * kl
        info["distill_kl"] = float(kl.detach())
    if rank is not None and batch.choices is not None:
        loss = loss + _ranking_terms(model, wrapped, loras, scale, batch, student, per_row, rank, doubled, info,
                                     neftune_alpha if net.training else 0.0)
    return loss, info


def _ranking_terms(model, wrapped, loras, scale, batch, student, per_row, rank: RankTerm, doubled: bool, info: dict,
                   neftune_alpha: float) -> torch.Tensor:
    """The option-ranking CE (rank.weight) and, on swap-hinge steps, the ranking hinge under the
    swap partners' adapters (rank.swap_weight); fills info with what they measured."""
    n_rows = len(batch.input_ids)
    swapped_too = doubled and rank.swap_weight > 0
    with _neftune(model, neftune_alpha):
        own, acc = option_ranking(model, wrapped, loras, scale, batch.choices,
                                  answer_logp(per_row[:n_rows], student.labels[:n_rows]), rank.temp)
        if swapped_too:  # the same options under the swap partners' adapters, the second half of loras
            swapped, acc_swapped = option_ranking(model, wrapped, loras, scale, batch.choices,
                                                  answer_logp(per_row[n_rows:], student.labels[n_rows:]), rank.temp,
                                                  offset=n_rows)
    share = 1.0 if rank.norm is None else len(own) / rank.norm  # this rank's part of the global mean
    extra = rank.weight * own.mean() * share if rank.weight > 0 else own.new_zeros(())
    info.update(rank_ce=float(own.detach().mean()), rank_acc=acc, rank_rows=len(own))
    if swapped_too:
        gap = swapped - own
        extra = extra + rank.swap_weight * torch.relu(rank.swap_margin - gap).mean() * share
        info.update(rank_swap_gap=float(gap.detach().mean()), rank_acc_swapped=acc_swapped)
    return extra


def _with_swapped_rows(batch: Batch) -> Batch:
    """2T rows: the batch, then the same rows under their swap partners' descriptions."""
    order = swap_partners(len(batch.input_ids), paired=True)
    return Batch(torch.cat([batch.embeddings, batch.embeddings[order]]), batch.input_ids.repeat(2, 1),
                 batch.attention_mask.repeat(2, 1), batch.labels.repeat(2, 1))


@contextlib.contextmanager
def _neftune(model, alpha: float):
    """NEFTune: uniform noise on the input embeddings (alpha / sqrt(len * dim)) while active."""
    if alpha <= 0:
        yield
        return
    def noise(_mod, _inp, out):
        mag = alpha / (out.shape[1] * out.shape[2]) ** 0.5
        return out + torch.empty_like(out).uniform_(-mag, mag)

    hook = model.get_input_embeddings().register_forward_hook(noise)
    try:
        yield
    finally:
        hook.remove()


def prompt_distill_kl(model, wrapped, loras: dict, scale: float, batch: Batch, student_logits: torch.Tensor) -> torch.Tensor:
    """Prompt distillation: KL(teacher || student) per answer token, averaged. The teacher is the
    same adapter (detached) with the row's description also in the prompt, the "own adapter +
    description in the prompt" condition, which the steering check found far better than
    either alone; the student has only the adapter. So the generator is paid for putting into
    the adapter what the description says, on every token of the vocabulary, not only on the
    gold one. No gradient reaches the teacher."""
    if batch.teacher is None:
        raise ValueError("prompt distillation needs make_batch(..., teacher=True)")
    n_rows = len(batch.input_ids)
    own = {m: (a[:n_rows].detach(), b[:n_rows].detach()) for m, (a, b) in loras.items()}
    t = batch.teacher
    with torch.no_grad(), lora_applied(wrapped, own, scale):
        teacher_logits, _, _ = scored_logits(model, t.input_ids, t.attention_mask, t.labels)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher scores {tuple(teacher_logits.shape)} positions, student {tuple(student_logits.shape)}")
    t_logp = teacher_logits.log_softmax(-1)
    return (t_logp.exp() * (t_logp - student_logits.log_softmax(-1))).sum(-1).mean()
