"""A description as a word-piece-reading generator sees it: one array per description.

A mean-pooled embedding keeps which words a description names but not which role each word
has (scripts/word_probe.py: 52% binding, chance 50%), so a generator that reads only the pooled
vector cannot learn "answer Y when ..., N when ..." for words it never trained on. Generators
with `read_tokens > 0` also read each word piece. They take one array per description,
[1 + MAX_PIECES, 2 * dim]:

- row 0: the pooled embedding in the first `dim` columns, zeros after;
- rows 1..: one word piece each, its last-layer state (where its role is) next to its input
  word-piece embedding (where its identity is); all zeros past the text's end.

One array per description keeps every place that stores, samples, swaps or batches
descriptions as it is. `pack` is the one writer (trainers and runtime alike); the hypernetwork
splits the array again (hypernet/reader.py). Imports numpy only.
"""

from __future__ import annotations

import numpy as np

MAX_PIECES = 64  # word pieces read per description, [CLS] included; the pooled row sees them all


def pack(pooled: np.ndarray, states: np.ndarray, pieces: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """pooled [B, dim], states and pieces [B, S, dim], mask [B, S] -> [B, 1 + MAX_PIECES, 2 * dim]."""
    batch, dim = pooled.shape
    width = min(states.shape[1], MAX_PIECES)
    out = np.zeros((batch, 1 + MAX_PIECES, 2 * dim), np.float32)
    out[:, 0, :dim] = pooled
    keep = mask[:, :width, None].astype(bool)
    out[:, 1:1 + width, :dim] = np.where(keep, states[:, :width], 0.0)
    out[:, 1:1 + width, dim:] = np.where(keep, pieces[:, :width], 0.0)
    return out

