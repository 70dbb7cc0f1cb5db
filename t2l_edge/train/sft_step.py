"""One T2L SFT step: descriptions -> hypernetwork -> per-example LoRA -> loss through the base.

Loss = next-token cross-entropy on completion tokens (optionally label-smoothed)
     + l2 * mean squared value of the generated A and B (the paper's penalty, which keeps the
       generated matrices from drifting to large norms early in training).
NEFTune adds uniform noise to input embeddings during training (alpha / sqrt(len * dim)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..adapter import lora_scale
from ..hypernet.model import HyperNetwork
from .batched_lora import completion_loss, lora_applied


@dataclass
class Batch:
    embeddings: torch.Tensor  # [T, emb_dim], one sampled description per example
    input_ids: torch.Tensor  # [T, S]
    attention_mask: torch.Tensor  # [T, S]
    labels: torch.Tensor  # [T, S], -100 outside the completion

    def rows(self, part: slice) -> "Batch":
        return Batch(self.embeddings[part], self.input_ids[part], self.attention_mask[part], self.labels[part])

    def to(self, device) -> "Batch":
        return Batch(self.embeddings.to(device), self.input_ids.to(device), self.attention_mask.to(device), self.labels.to(device))

    def with_embeddings(self, embeddings: torch.Tensor) -> "Batch":
        """The same rows under other descriptions (the description-gap measurement)."""
        return Batch(embeddings, self.input_ids, self.attention_mask, self.labels)

    @property
    def n_scored(self) -> int:
        """Completion tokens the loss averages over (labels shifted by one, as in the loss)."""
        return int((self.labels[:, 1:] != -100).sum())


def sft_loss(net: HyperNetwork, model, wrapped, batch: Batch, l2: float = 1e-3, label_smoothing: float = 0.0,
             neftune_alpha: float = 0.0, token_norm: float | None = None) -> tuple[torch.Tensor, dict]:
    """`net` is anything that maps description embeddings to {module: (A, B)}: a HyperNetwork,
    a FixedLoRA baseline, or either wrapped in DistributedDataParallel."""
    cfg = getattr(net, "module", net).cfg
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
            ce, n_tokens = completion_loss(model, batch.input_ids, batch.attention_mask, batch.labels, label_smoothing, token_norm)
    finally:
        if hook is not None:
            hook.remove()
    loss = ce + l2 * penalty
    return loss, {"ce": float(ce.detach()), "l2": float(penalty.detach()), "tokens": n_tokens}
