#!/usr/bin/env python
"""Where a word-piece reader's role reading fails: on new words, or on new wordings?

`val_role_acc` (train/roles.py) is measured on held-out word pairs in held-out wordings, so a
reader that fails it may fail on either. This scores role accuracy on the crossings of
{trained, held-out} pairs x {trained, held-out, each held-out} wordings of one rule family (trained pairs: its
first 40 variants), for each generator given. No base model is needed; a minute on 2 cores.

    .venv/bin/python -m scripts.role_split runs/roles-warm runs/roles-worded [--family rule_words_worded] [--json F]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TRAINED_SHOWN = 40  # trained variants scored: enough for a figure, a few seconds to embed


def crossings(fam, embed) -> dict:
    """{name: RoleData} for the crossings of pairs (trained, held-out) and wordings (trained,
    held-out, and each held-out wording alone)."""
    from t2l_edge.data.descriptions import HELDOUT_PER_TASK
    from t2l_edge.data.synthetic import task_id
    from t2l_edge.train.batches import TaskData
    from t2l_edge.train.conflict import ConflictFamily
    from t2l_edge.train.roles import role_data

    def data(variants, wordings: slice, split: str):
        rows = [TaskData(task_id(fam, v), [], embed(v.descriptions[wordings]), v.descriptions[wordings]) for v in variants]
        return role_data([ConflictFamily(fam.name, rows)], embed, split)

    wordings = {"trained wordings": slice(0, -HELDOUT_PER_TASK), "held-out wordings": slice(-HELDOUT_PER_TASK, None)}
    # Each held-out wording alone too: rule_words_composed's two differ in kind (data/composed_wordings.py).
    wordings |= {f"held-out wording {k}": slice(k, k + 1 if k < -1 else None) for k in range(-HELDOUT_PER_TASK, 0)}
    pairs = {"held-out pairs": (fam.val_variants, "val"), "trained pairs": (fam.variants[:TRAINED_SHOWN], "train")}
    return {f"{p}, {w}": data(variants, cut, split) for p, (variants, split) in pairs.items() for w, cut in wordings.items()}


def readers(p: argparse.ArgumentParser, checkpoints: list[Path]):
    """({folder: generator}, the embedder they all read with), or a one-line parser error."""
    from t2l_edge.core.errors import T2LError
    from t2l_edge.hypernet.checkpoint import load_hypernet
    from t2l_edge.train.tasks import DescriptionEmbedder

    nets = {}
    for ck in checkpoints:
        try:
            nets[str(ck)] = load_hypernet(ck)[0]
        except T2LError as e:
            p.error(str(e))
        if not nets[str(ck)].cfg.read_tokens:
            p.error(f"{ck} has no word-piece reader (hypernet.read_tokens = 0)")
    values = {net.cfg.piece_values for net in nets.values()}
    if len(values) > 1:
        p.error("the generators pool different piece values; score them in separate calls")
    return nets, DescriptionEmbedder(pieces=True, values=values.pop())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", type=Path, help="generator folders with a word-piece reader")
    p.add_argument("--family", default="rule_words_worded", help="a code-built family whose variants name two words")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    import torch

    from t2l_edge.data.synthetic import FAMILIES
    from t2l_edge.train.roles import role_accuracy

    fam = next((f for f in FAMILIES if f.name == args.family), None)
    if fam is None or not all(v.roles for v in fam.val_variants):
        p.error(f"--family {args.family}: not a family whose variants name two words (try rule_words_worded)")
    torch.set_num_threads(args.threads)
    nets, embed = readers(p, args.checkpoints)
    sets = crossings(fam, embed)
    out = {"family": fam.name, "descriptions": {k: len(d) for k, d in sets.items()},
           "role_acc": {ck: {k: round(role_accuracy(net, d), 3) for k, d in sets.items()} for ck, net in nets.items()}}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
