#!/usr/bin/env python
"""Would another encoder's token states let a role reader read wordings made of new parts?

The generator's reader keys each word piece on its neighbours' states from the bundle's MiniLM,
and it reads new compositions of trained parts but not new parts (docs/specificity.md, "Wordings
composed from parts"). This asks the same of any sentence-transformers encoder, no generator
needed: the reader itself (hypernet/reader.py's TokenReader with two queries, keys from an MLP
of the mean state of K neighbours each side), alone, learns to point its first query at the word
for the class that holds and its second at the other's, on rule_words_composed's trained
wordings, and is scored on scripts/part_swap.py's sets (held-out pairs; one kind of part, or all, from the held-out set).
fp32 PyTorch: MiniLM takes about 2 minutes on 2 cores, mpnet about 8.

    .venv/bin/python -m scripts.encoder_roles --encoder minilm --encoder /path/to/all-mpnet-base-v2 [--json F]

Per set: right (each query's strongest piece starts its own word), swapped (each the other's),
word (a query's strongest piece starts one of the two words at all).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import numpy as np

MAX_PIECES = 96  # composed wordings run to about 50 pieces


def encoder_folder(name: str) -> Path:
    if name == "minilm":
        from t2l_edge.hypernet.encoder import minilm_path

        return Path(minilm_path())
    folder = Path(name)
    if not (folder / "config.json").exists():
        raise SystemExit(f"--encoder {name}: not 'minilm' or a sentence-transformers folder with config.json")
    return folder


def starts(text: str, word: str) -> list[int]:
    return [m.start() for m in re.finditer(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", text, re.IGNORECASE)]


def encode(model, tok, rows: list[tuple[str, str, str]], batch: int = 64):
    """rows (text, y, n) -> (states [N, T, dim], mask [N, T], y_at [N, T], n_at [N, T]): the last
    layer's states and where each named word's first piece is."""
    import torch

    enc = tok([t for t, _, _ in rows], padding="max_length", truncation=True, max_length=MAX_PIECES,
              return_offsets_mapping=True, return_tensors="np")
    mask, offsets = enc["attention_mask"].astype(bool), enc["offset_mapping"]
    at = np.zeros((2, len(rows), MAX_PIECES), bool)
    for i, (text, y, n) in enumerate(rows):
        for k, word in enumerate((y, n)):
            first = set(starts(text, word))
            at[k, i] = [bool(mask[i, j]) and offsets[i, j, 0] in first and offsets[i, j, 1] > offsets[i, j, 0]
                        for j in range(MAX_PIECES)]
    states = np.zeros((len(rows), MAX_PIECES, model.config.hidden_size), np.float32)
    with torch.inference_mode():
        for k in range(0, len(rows), batch):
            width = int(mask[k:k + batch].sum(1).max())  # run each batch at its longest text, not MAX_PIECES
            out = model(input_ids=torch.from_numpy(enc["input_ids"][k:k + batch, :width]),
                        attention_mask=torch.from_numpy(enc["attention_mask"][k:k + batch, :width]))
            states[k:k + batch, :width] = out.last_hidden_state.numpy()
    return states, mask, at[0], at[1]


def masked_logits(reader, states, mask):
    """[N, 2, T]: the reader's query logits over each text's real pieces (padding at -inf)."""
    return reader.logits(states, mask).masked_fill(~mask[:, None, :], float("-inf"))


def train_probe(data, context: int, steps: int, seed: int = 0):
    """The generator's own TokenReader with two queries; only its queries and keys train (as in
    scripts/pretrain_roles.py), its output MLP is unused."""
    import torch

    from t2l_edge.hypernet.reader import TokenReader

    states, mask, y_at, n_at = (torch.from_numpy(a) for a in data)
    keep = (y_at.any(1) & n_at.any(1)).nonzero().squeeze(1)
    torch.manual_seed(seed)
    dim = states.shape[-1]
    probe, rng = TokenReader(dim, 2, dim, context), np.random.default_rng(seed)
    opt = torch.optim.AdamW([probe.query, *probe.key.parameters()], lr=1e-3, weight_decay=0.0)
    for _ in range(steps):
        rows = keep[rng.choice(len(keep), size=min(64, len(keep)), replace=False)]
        logits = masked_logits(probe, states[rows], mask[rows])
        targets = torch.stack([y_at[rows], n_at[rows]], 1)  # [B, 2, T]: query 0 -> y's pieces, 1 -> n's
        loss = (logits.logsumexp(-1) - logits.masked_fill(~targets, float("-inf")).logsumexp(-1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return probe


def score(probe, data) -> dict:
    import torch

    states, mask, y_at, n_at = (torch.from_numpy(a) for a in data)
    with torch.no_grad():
        top = masked_logits(probe, states, mask).argmax(-1)  # [N, 2]
    hit = lambda at, q: at.gather(1, top[:, q:q + 1]).squeeze(1)  # noqa: E731
    named = y_at.any(1) & n_at.any(1)
    right, swapped = hit(y_at, 0) & hit(n_at, 1), hit(n_at, 0) & hit(y_at, 1)
    word = ((hit(y_at, 0) | hit(n_at, 0)).float() + (hit(y_at, 1) | hit(n_at, 1)).float()) / 2
    return {"right": round(float(right[named].float().mean()), 3), "swapped": round(float(swapped[named].float().mean()), 3),
            "word": round(float(word[named].mean()), 3), "n": int(named.sum())}


def training_rows(count: int) -> list[tuple[str, str, str]]:
    """count (text, y, n) rows of rule_words_composed's trained variants in trained wordings."""
    from t2l_edge.data.descriptions import HELDOUT_PER_TASK
    from t2l_edge.data.synthetic import RULE_WORDS_COMPOSED as fam

    rows = [(d, *v.roles) for v in fam.variants for d in v.descriptions[:-HELDOUT_PER_TASK]]
    random.Random("encoder-roles").shuffle(rows)
    return rows[:count]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoder", action="append", required=True, help="'minilm' or a sentence-transformers folder; repeatable")
    p.add_argument("--texts", type=int, default=4000, help="trained wordings to train the probe on")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--context", type=int, default=2, help="neighbours each side a key is the mean of (0: the piece itself)")
    p.add_argument("--per-variant", type=int, default=8, help="wordings per held-out pair in each part_swap set")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import torch
    from transformers import AutoModel, AutoTokenizer

    from scripts.part_swap import swapped_texts

    torch.set_num_threads(args.threads)
    train_rows = training_rows(args.texts)
    sets = {f: [(t, *v.roles) for v, texts in rows for t in texts] for f, rows in swapped_texts(args.per_variant).items()}
    out = {"texts": len(train_rows), "steps": args.steps, "context": args.context, "encoders": {}}
    for name in args.encoder:
        t0, folder = time.perf_counter(), encoder_folder(name)
        tok, model = AutoTokenizer.from_pretrained(str(folder)), AutoModel.from_pretrained(str(folder)).eval()
        probe = train_probe(encode(model, tok, train_rows), args.context, args.steps)
        out["encoders"][name] = {f: score(probe, encode(model, tok, rows)) for f, rows in sets.items()}
        out["encoders"][name]["seconds"] = round(time.perf_counter() - t0, 1)
        print(name, json.dumps(out["encoders"][name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
