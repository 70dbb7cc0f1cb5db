"""Attention over a description's word pieces: what a generator reads besides the pooled vector.

The keys come from each piece's last-layer state, which says what role the word plays in the
sentence; the values are its input word-piece embedding, which says which word it is. A few
learned queries pool the pieces, and a small MLP turns the result into an addition to the
trunk. The keys go through an MLP, not a linear map: in scripts/word_probe.py the linear key
found the answer word of "answer Y when ..., N otherwise" over N on 64% of unseen word pairs,
the MLP key on 86%. Its last layer starts at zero, so a generator
that gains a reader starts exactly where its pooled-only checkpoint was (init_from).

With `context` > 0 a piece's key comes from the mean state of its neighbours (that many pieces
each side, not itself), so a key cannot say which word it is, only where it stands: "answer _ when
the text has digits". Keyed on their own states, readers trained on the roles of a few hundred
word pairs learned which words they had seen instead (docs/specificity.md).

Input: packed descriptions from core/description_seq.py, [T, 1 + pieces, 2 * dim].
"""

from __future__ import annotations

import torch
from torch import nn


def split_packed(seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """[T, 1 + S, 2 * dim] -> (pooled [T, dim], states [T, S, dim], pieces [T, S, dim], mask [T, S])."""
    dim = seq.shape[-1] // 2
    states, pieces = seq[:, 1:, :dim], seq[:, 1:, dim:]
    return seq[:, 0, :dim], states, pieces, states.abs().amax(-1) > 0


def neighbour_mean(states: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """[T, S, dim]: each piece's mean over the real pieces up to k places either side of it, itself left out."""
    s = states * mask[..., None]
    m = mask.to(states.dtype)[..., None]
    total, count = torch.zeros_like(s), torch.zeros_like(m)
    for d in range(1, k + 1):
        total = total + nn.functional.pad(s, (0, 0, d, 0))[:, :-d] + nn.functional.pad(s, (0, 0, 0, d))[:, d:]
        count = count + nn.functional.pad(m, (0, 0, d, 0))[:, :-d] + nn.functional.pad(m, (0, 0, 0, d))[:, d:]
    return total / count.clamp(min=1.0)


PEAK_FLOOR = 1e4  # a description with no real piece has no peak: -inf clamped to a finite number


class TokenReader(nn.Module):
    def __init__(self, dim: int, queries: int, out: int, context: int = 0):
        super().__init__()
        self.context = context
        self.query = nn.Parameter(torch.randn(queries, dim) * dim ** -0.5)
        self.key = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.mlp = nn.Sequential(nn.LayerNorm(queries * dim), nn.Linear(queries * dim, out), nn.SiLU(), nn.Linear(out, out))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    # No forward: the generator calls pool, then mlp, because its word path (hypernet/word_path.py)
    # reads what the queries pooled before the MLP.

    def logits(self, states: torch.Tensor, mask: torch.Tensor, query: torch.Tensor | None = None) -> torch.Tensor:
        """[T, queries, S]: how strongly each query (the reader's own unless given) asks for each piece."""
        keyed = neighbour_mean(states, mask, self.context) if self.context else states
        q = self.query if query is None else query
        return torch.einsum("qd,tsd->tqs", q, self.key(keyed)) * states.shape[-1] ** -0.5

    def pool(self, states: torch.Tensor, pieces: torch.Tensor, mask: torch.Tensor,
             query: torch.Tensor | None = None, with_peak: bool = False):
        """What the queries read, before the output MLP: [T, queries * dim]. Another module's
        `query` [q, dim] reads through the same keys (hypernet/word_path.py's object query).
        With `with_peak`, also [T, queries]: each query's largest logit over the real pieces,
        how sharply it found a piece at all."""
        logits = self.logits(states, mask, query).masked_fill(~mask[:, None, :], float("-inf"))
        read = torch.einsum("tqs,tsd->tqd", logits.softmax(-1), pieces).flatten(1)
        if not with_peak:
            return read
        return read, logits.amax(-1).clamp(min=-PEAK_FLOOR)
