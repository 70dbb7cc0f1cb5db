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
NEFTune adds uniform noise to input embeddings during training (alpha / sqrt(len * dim)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.adapter import lora_scale
from ..hypernet.model import HyperNetwork
from .batched_lora import completion_loss, lora_applied, row_completion_losses
from .batches import Batch


def swap_partners(n: int, paired: bool) -> list[int]:
    """Which row lends its description to each row (the description gap and the swap hinge).
    Rows of a validation batch are different tasks, so a shift by one gives every row another
    task's description. Conflict pairs (paired) swap within the pair: the same input under the
    other variant's description, the sharpest test of whether the description is read."""
    if paired:
        return [i ^ 1 if (i ^ 1) < n else (i + 1) % n for i in range(n)]
    return [(i - 1) % n for i in range(n)]


@dataclass
class SwapHinge:
    weight: float  # of the hinge term in the loss
    margin: float  # nats a row should lose under another row's description


def sft_loss(net: HyperNetwork, model, wrapped, batch: Batch, l2: float = 1e-3, label_smoothing: float = 0.0,
             neftune_alpha: float = 0.0, token_norm: float | None = None,
             swap: SwapHinge | None = None) -> tuple[torch.Tensor, dict]:
    """`net` is anything that maps description embeddings to {module: (A, B)}: a HyperNetwork,
    a FixedLoRA baseline, or either wrapped in DistributedDataParallel. With `swap`, the rows
    come in the order make_batch gives (conflict pairs first), partners as swap_partners(paired)."""
    cfg = getattr(net, "module", net).cfg
    n_rows = len(batch.input_ids)
    doubled = swap is not None and swap.weight > 0  # own rows, then the same rows swapped
    if doubled:
        order = swap_partners(n_rows, paired=True)
        batch = Batch(torch.cat([batch.embeddings, batch.embeddings[order]]), batch.input_ids.repeat(2, 1),
                      batch.attention_mask.repeat(2, 1), batch.labels.repeat(2, 1))
    loras = net(batch.embeddings)
    penalty = sum((a.pow(2).mean() + b.pow(2).mean()) for a, b in loras.values()) / len(loras)
    hook = None
    if neftune_alpha > 0 and net.training:
        emb = model.get_input_embeddings()

        def noise(_mod, _inp, out):
            mag = neftune_alpha / (out.shape[1] * out.shape[2]) ** 0.5
            return out + torch.empty_like(out).uniform_(-mag, mag)

        hook = emb.register_forward_hook(noise)
    try:
        with lora_applied(wrapped, loras, lora_scale(cfg.alpha, cfg.rank, cfg.use_rslora)):
            if not doubled:
                ce, n_tokens = completion_loss(model, batch.input_ids, batch.attention_mask, batch.labels, label_smoothing, token_norm)
            else:
                tok, per_row = row_completion_losses(model, batch.input_ids, batch.attention_mask, batch.labels, label_smoothing)
    finally:
        if hook is not None:
            hook.remove()
    if not doubled:
        loss = ce + l2 * penalty
        return loss, {"ce": float(ce.detach()), "l2": float(penalty.detach()), "tokens": n_tokens}
    own_tok = tok[: len(tok) // 2]  # the two halves score the same tokens, own rows first
    ce = own_tok.mean() if token_norm is None else own_tok.sum() / token_norm
    gap = per_row[n_rows:] - per_row[:n_rows]
    hinge = torch.relu(swap.margin - gap).mean()
    loss = ce + l2 * penalty + swap.weight * hinge
    return loss, {"ce": float(ce.detach()), "l2": float(penalty.detach()), "tokens": len(own_tok),
                  "swap_gap": float(gap.detach().mean()), "hinge": float(hinge.detach())}
