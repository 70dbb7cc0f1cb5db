#!/usr/bin/env python
"""Teach a generator's word-piece reader where the answer words are, before SFT.

Under SFT the reader (hypernet/reader.py) learns only through the base model's loss on a few
label-word rows per step, which did not move it (docs/specificity.md). Here its queries and keys
learn what scripts/word_probe.py showed they can: from "answer Y when ..., N otherwise" in the
label-words wordings, pool the pieces of Y in half the queries and of N in the other half. Two
temporary heads map each half's read to the base's input embedding of its word (cosine loss);
they are thrown away. One head reading all queries for both words learns a shortcut instead:
every query takes the mean of both words, and which word answers is remembered per pair
(binding on unseen pairs 45%, against 86% for a head that predicts Y alone, in word_probe's
setting).

Only the reader's queries and keys change. Its output MLP ends in zeros, so the saved generator
makes exactly the adapters the input one made, and SFT (init_from) starts from there.

Fits on the label-words vocabulary minus 300 words (word_probe's split) and reports binding on
pairs of those 300: the share of wordings whose Y read is nearer Y than N (chance 0.5).

    .venv/bin/python -m scripts.pretrain_reader --init models/wip/sft-labelwords/final \\
        --read-tokens 4 --out runs/reader-warm [--epochs 20] [--threads 2] [--json F]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def pair_split() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(fit pairs, held-out pairs) over the label-words vocabulary, split as word_probe splits it."""
    from scripts.word_probe import pairs_of
    from t2l_edge.data import label_vocab

    test, fit, rng = label_vocab.probe_split()
    return pairs_of(fit, rng), pairs_of(test, rng, rounds=1)


def packed_texts(embed, pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(packed descriptions trimmed to the longest text, Y word index, N word index) per wording."""
    from scripts.word_probe import WORDINGS, texts_of
    from t2l_edge.data import label_vocab

    index = {w: k for k, w in enumerate(label_vocab.vocab_words())}
    texts = texts_of(pairs)
    seq = np.concatenate([embed(texts[k:k + 512]) for k in range(0, len(texts), 512)])
    width = 1 + int((np.abs(seq[:, 1:]).max(-1) > 0).sum(1).max())
    return (seq[:, :width], np.repeat([index[y] for y, _ in pairs], WORDINGS),
            np.repeat([index[n] for _, n in pairs], WORDINGS))


class SplitHeads:
    """The temporary heads: Y from the first half of the queries' reads, N from the second."""

    def __init__(self, reader, out: int):
        import torch

        queries, dim = reader.query.shape
        if queries < 2 or queries % 2:
            raise SystemExit(f"error: the reader has {queries} queries; warm-up needs an even number (2, 4, ...)")
        self.half = queries // 2 * dim
        self.heads = [torch.nn.Sequential(torch.nn.Linear(self.half, 1024), torch.nn.GELU(), torch.nn.Linear(1024, out))
                      for _ in range(2)]

    def parameters(self):
        return [p for h in self.heads for p in h.parameters()]

    def __call__(self, read):
        """[T, queries * dim] -> [T, 2, out]: the Y and the N prediction."""
        import torch

        return torch.stack([self.heads[0](read[:, : self.half]), self.heads[1](read[:, self.half:])], 1)


def train_reader(net, data, cand: np.ndarray, epochs: int, lr: float = 1e-3, batch: int = 256, log=print):
    """Fit net.reader's queries and keys (and the temporary heads) on data = (seq, yes, no)."""
    import torch

    from t2l_edge.hypernet.reader import split_packed

    reader = net.reader
    head = SplitHeads(reader, cand.shape[1])
    params = [reader.query, *reader.key.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    seq, yes, no = (torch.from_numpy(a) for a in data)
    target = torch.from_numpy(cand)
    gen = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(seq), generator=gen).split(batch):
            pred = head(reader.pool(*split_packed(seq[idx])[1:]))
            loss = (2 - torch.nn.functional.cosine_similarity(pred[:, 0], target[yes[idx]])
                    - torch.nn.functional.cosine_similarity(pred[:, 1], target[no[idx]])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(seq):.4f}")
    return head


def binding(net, head, data, cand: np.ndarray) -> dict:
    import torch

    from scripts.word_probe import _binding, ranks, summary
    from t2l_edge.hypernet.reader import split_packed

    seq, yes, no = data
    with torch.no_grad():
        pred = head(net.reader.pool(*split_packed(torch.from_numpy(seq))[1:])).numpy()
    return {"yes": {**summary(ranks(pred[:, 0], cand, yes)), "binding": round(_binding(pred[:, 0], cand, yes, no), 3)},
            "no": {**summary(ranks(pred[:, 1], cand, no)), "binding": round(_binding(pred[:, 1], cand, no, yes), 3)}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", type=Path, required=True, help="hypernetwork folder to start from (pooled-only or reader)")
    p.add_argument("--read-tokens", type=int, default=4, help="the reader's learned queries, when --init has no reader")
    p.add_argument("--out", type=Path, required=True, help="new hypernetwork folder (refused if it exists)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args()
    if args.out.exists():
        raise SystemExit(f"error: {args.out} exists; choose a new --out")
    import torch

    from dataclasses import replace

    from scripts.word_probe import base_targets
    from t2l_edge.data import label_vocab
    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet
    from t2l_edge.hypernet.model import HyperNetwork
    from t2l_edge.train.run import _load_weights
    from t2l_edge.train.tasks import DescriptionEmbedder

    if args.threads:
        torch.set_num_threads(args.threads)
    earlier, meta = load_hypernet(args.init)
    net = HyperNetwork(replace(earlier.cfg, read_tokens=earlier.cfg.read_tokens or args.read_tokens), earlier.base)
    _load_weights(net, str(args.init), log=print)
    embed = DescriptionEmbedder(pieces=True, values=net.cfg.piece_values)  # what SFT will feed it
    cand = base_targets(label_vocab.vocab_words())
    t0 = time.time()
    fit, test = (packed_texts(embed, pairs) for pairs in pair_split())
    print(f"embedded {len(fit[0])} + {len(test[0])} wordings in {time.time() - t0:.0f} s")
    net.train()
    head = train_reader(net, fit, cand, args.epochs)
    net.eval()
    out = {"init": str(args.init), "read_tokens": net.cfg.read_tokens, "epochs": args.epochs, "fit_wordings": len(fit[0]),
           "test_wordings": len(test[0]), "held_out": binding(net, head, test, cand), "fit": binding(net, head, fit, cand)}
    print(json.dumps(out, indent=1))
    save_hypernet(net, args.out, provenance={**meta.get("provenance", {}), "reader_warmup": out})
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
