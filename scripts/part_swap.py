#!/usr/bin/env python
"""Which held-out part breaks a reader's role reading on rule_words_composed (or _rules)?

role_split scores held-out wordings whose every part is new at once (clauses, labels, verbs,
openings, closings). Here each kind of part is swapped for its held-out set alone, in trained
frames, on the family's held-out word pairs, under each variant's own rule: "none" is all
trained parts, "all" all held-out parts. A reader that falls on one kind reads that kind's
trained phrases, not what they mean.
Per set: role_reads' right and swapped shares and its "word" cosine (does a half find a named
word at all, or read other pieces).
No base model is needed; a minute on 1 core.

    .venv/bin/python -m scripts.part_swap runs/roles-composed-c2 [--per-variant 8] [--family F] [--json F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
from pathlib import Path

FIELDS = ("none", "has", "lacks", "labels", "verbs", "openings", "closings", "all")
FAMILIES = ("rule_words_composed", "rule_words_composed_rules")  # composed from composed_wordings.RULES


def swapped_parts(field: str, rule: str = "digit"):
    """The rule's trained parts with one field taken from its held-out parts ("none": no field, "all": every one)."""
    from t2l_edge.data.composed_wordings import HELDOUT, TRAINED

    if field in ("none", "all"):
        return TRAINED[rule] if field == "none" else HELDOUT[rule]
    return dataclasses.replace(TRAINED[rule], **{field: getattr(HELDOUT[rule], field)})


def _family(name: str):
    from t2l_edge.data.synthetic import FAMILIES as ALL

    return next(f for f in ALL if f.name == name)


def swapped_texts(per_variant: int, fields=FIELDS, family: str = FAMILIES[0]) -> dict:
    """{field: [(held-out variant, [per_variant wordings in trained frames])]}."""
    from t2l_edge.data.composed_wordings import TRAINED_FRAMES, compose

    out = {}
    for field in fields:
        out[field] = []
        for v in _family(family).val_variants:
            parts = swapped_parts(field, rule=v.name.split("_")[0])  # variant names start with their rule
            rng = random.Random(f"part-swap:{field}:{v.name}")
            out[field].append((v, [compose(rng, rng.choice(TRAINED_FRAMES), parts, *v.roles) for _ in range(per_variant)]))
    return out


def swapped_sets(embed, per_variant: int, fields=FIELDS, family: str = FAMILIES[0]) -> dict:
    """{field: RoleData} of swapped_texts."""
    from t2l_edge.data.synthetic import task_id
    from t2l_edge.train.batches import TaskData
    from t2l_edge.train.conflict import ConflictFamily
    from t2l_edge.train.roles import role_data

    fam = _family(family)
    return {field: role_data([ConflictFamily(fam.name, [TaskData(task_id(fam, v), [], embed(texts), texts)
                                                         for v, texts in rows])], embed, "val")
            for field, rows in swapped_texts(per_variant, fields, family).items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", type=Path, help="generator folders with a word-piece reader")
    p.add_argument("--per-variant", type=int, default=8, help="wordings per held-out pair and kind of part")
    p.add_argument("--family", choices=FAMILIES, default=FAMILIES[0], help="whose held-out pairs (and rules) to word")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    import torch

    from scripts.role_split import readers
    from t2l_edge.train.roles import role_reads

    torch.set_num_threads(args.threads)
    nets, embed = readers(p, args.checkpoints)
    sets = swapped_sets(embed, args.per_variant, family=args.family)
    out = {"family": args.family, "descriptions": {k: len(d) for k, d in sets.items()},
           "reads": {ck: {k: {m: round(x, 3) for m, x in role_reads(net, d).items()} for k, d in sets.items()}
                     for ck, net in nets.items()}}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
