"""Word-piece values in the base model's own vocabulary, for generators that read word pieces.

A reader (hypernet/reader.py) pools each description piece's *value*. With MiniLM's input
word-piece embedding as the value, SFT learned adapters for the words it trained on but not for
unseen ones (docs/specificity.md, say_word: held-out gap 0.15 against 0.17 pooled-only): the map
from a MiniLM embedding to "make the base say this word" had to be learned word by word. The base
already holds that map: its output head is its input embedding (tied weights), so the adapter
that makes it say a word adds that word's input embedding to the last residual, a linear
function of the embedding. Here each MiniLM piece gets, as its value, the base's input embedding
of its own first token, projected onto those embeddings' top principal directions so the packed
description keeps its width (core/description_seq.py: 2 x the encoder's dim).

The table rides inside the exported encoder (hypernet/encoder.py PiecesEncoder), so the runtime
and the bundle need nothing new and never import torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch


def piece_texts(tokenizer_json: Path) -> list[str]:
    """MiniLM's vocabulary in id order, as the base would see each piece: a whole-word piece with
    its leading space, a continuation ("##ing") without; special tokens ("[CLS]") as ""."""
    vocab = json.loads(Path(tokenizer_json).read_text())["model"]["vocab"]
    texts = [""] * len(vocab)
    for piece, i in vocab.items():
        if piece.startswith("[") and piece.endswith("]"):
            continue
        texts[i] = piece[2:] if piece.startswith("##") else " " + piece
    return texts


def first_tokens(texts: list[str], base_tokenizer) -> list[int | None]:
    """The base's first token id for each text; None for "" (special pieces)."""
    ids = base_tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [row[0] if text and row else None for text, row in zip(texts, ids)]


def base_value_table(tokenizer_json: Path, dim: int, base_gguf: str | None = None) -> torch.Tensor:
    """value_table for the MiniLM vocabulary in `tokenizer_json` and a base GGUF (the default one)."""
    return value_table(*_ids_and_embeddings(tokenizer_json, base_gguf), dim)


def base_values_and_basis(tokenizer_json: Path, dim: int, base_gguf: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(value_table, value_basis) for the same vocabulary and base: a piece value times the
    basis's transpose is the piece's centred base embedding, as far as `dim` directions keep it."""
    return table_and_basis(*_ids_and_embeddings(tokenizer_json, base_gguf), dim)


def _ids_and_embeddings(tokenizer_json: Path, base_gguf: str | None) -> tuple[list[int | None], torch.Tensor]:
    from ..train.base_torch import load_base_torch

    model, tok, _ = load_base_torch(base_gguf)
    return first_tokens(piece_texts(tokenizer_json), tok), model.get_input_embeddings().weight.detach().float()


def table_and_basis(ids: list[int | None], emb: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(value_table, value_basis) from one centring and one SVD."""
    rows = [i for i, t in enumerate(ids) if t is not None]
    used = emb[[ids[i] for i in rows]]
    centred = used - used.mean(0)
    # 90% of the variance in 384 of 576 dimensions for SmolLM2-135M; a base narrower than
    # `dim` leaves the table's last columns zero.
    _, _, vt = torch.linalg.svd(centred, full_matrices=False)
    proj = vt[:dim].T  # [base dim, min(dim, base dim)]
    table = torch.zeros(len(ids), dim)
    table[rows, :proj.shape[1]] = centred @ proj
    return table, proj


def value_basis(ids: list[int | None], emb: torch.Tensor, dim: int) -> torch.Tensor:
    """[base dim, min(dim, base dim)]: the used rows' top `dim` principal directions, the
    columns value_table projects onto."""
    return table_and_basis(ids, emb, dim)[1]


def value_table(ids: list[int | None], emb: torch.Tensor, dim: int) -> torch.Tensor:
    """[pieces, dim]: row i is emb[ids[i]], centred and projected onto value_basis, so inner
    products between pieces survive as far as `dim` allows; zeros where ids[i] is None."""
    return table_and_basis(ids, emb, dim)[0]
