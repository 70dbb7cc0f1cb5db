"""Do a generator's description embeddings tell a rule family's rules apart?

The rule map (hypernet.word_which_rule) reads the pooled description embedding. Before blaming
the map for an adapter that follows the wrong rule, check that the embedding carries the rule:
the cosine between rules' mean embeddings, each centred on the mean over all rules (about 0 or
below for rules the embedding tells apart, near 1 for rules it confuses).

    .venv/bin/python -m scripts.rule_embeddings --bundle B [--family rule_words_composed_more]
        [--variants 8] [--wordings 4] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from scripts.rule_matrix import rule_families, rule_of
from scripts.word_check import _emit


def centred_cosines(by_rule: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """{rule: {rule: cosine}} of the rules' mean unit embeddings, centred on their grand mean."""
    means = {r: (e / np.linalg.norm(e, axis=1, keepdims=True)).mean(0) for r, e in by_rule.items()}
    grand = np.mean(list(means.values()), axis=0)
    unit = {r: (m - grand) / np.linalg.norm(m - grand) for r, m in means.items()}
    return {a: {b: round(float(unit[a] @ unit[b]), 3) for b in unit} for a in unit}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", type=Path, required=True, help="generator bundle (t2l-edge export)")
    p.add_argument("--family", default="rule_words_composed_more", help="a rule family whose variants are named RULE_Y_N")
    p.add_argument("--variants", type=int, default=8, help="held-out variants per rule")
    p.add_argument("--wordings", type=int, default=4, help="the first N descriptions of each")
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    from t2l_edge.runtime import Generator

    fam = rule_families().get(args.family)
    if fam is None:
        p.error(f"--family {args.family!r} is not a rule family; choose from {', '.join(rule_families())}")
    gen = Generator.load(args.bundle)
    texts: dict[str, list[str]] = {}
    for v in fam.val_variants:
        if len(texts.setdefault(rule_of(v), [])) < args.variants * args.wordings:
            texts[rule_of(v)] += v.descriptions[:args.wordings]
    out = {"bundle": str(args.bundle), "family": fam.name,
           "centred_cosine": centred_cosines({r: gen.embed(t) for r, t in texts.items()})}
    return _emit(out, args.json)


if __name__ == "__main__":
    sys.exit(main())
