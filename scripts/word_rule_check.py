"""Word rule check: does an adapter find the word its description names, even a word no training description named?

rule_words_composed_word asks "answer Y if the text contains the word "apple", N otherwise" over
lists of words (data/synthetic.py). Each held-out variant's adapter answers the same lists, each
answer scored as m = log p(Y) - log p(N). Its *separation by a word* is the mean of m over the
lists that carry the word minus the mean over those that do not. An adapter that follows its
description separates best by its own word; one that learned "some listed word" separates by
every word alike. Per group of variants (the word trained under other word pairs, or held out of
training entirely: synthetic.HELDOUT_WORDS) it reports the own word's separation, the mean
separation by the other words, their difference, and `follows`: the share of adapters whose own
word separates best (chance: 1 / the words tested). 95% intervals over adapters.

    .venv/bin/python -m scripts.word_rule_check --bundle B --store DIR [--inputs 30] [--wordings=0,1]
        [--threads 2] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from scripts.word_check import HELD_WORDINGS, _emit, margin, mean_ci, parse_wordings

FAMILY = "rule_words_composed_word"


def testable(listed: np.ndarray) -> bool:
    """Whether a word is listed in at least two inputs and missing from at least two."""
    return listed.sum() >= 2 and (~listed).sum() >= 2


def word_separations(prefs: np.ndarray, truth: dict[str, np.ndarray]) -> dict[str, float]:
    """{word: mean preference where the word is listed minus where it is not}, for testable words."""
    return {w: float(prefs[t].mean() - prefs[~t].mean()) for w, t in truth.items() if testable(t)}


def adapter_row(by_word: dict[str, float], own: str) -> dict:
    """One adapter's own-word separation, the mean of the others', and whether its own is the largest."""
    others = [s for w, s in by_word.items() if w != own]
    return {"own": by_word[own], "others": float(np.mean(others)), "follows": max(by_word, key=by_word.get) == own}


def summarise(rows: list[dict]) -> dict:
    return {"adapters": len(rows), "own": mean_ci([r["own"] for r in rows]),
            "others": mean_ci([r["others"] for r in rows]),
            "own_minus_others": mean_ci([r["own"] - r["others"] for r in rows]),
            "follows": round(float(np.mean([r["follows"] for r in rows])), 3) if rows else None}


def check(engine, gen, fam, inputs: list, wordings: tuple[int, ...]) -> dict:
    from t2l_edge.data import synthetic

    truth = {w: np.array([synthetic.RULE_TESTS[synthetic.WORD_RULE + w](ex.prompt) for ex in inputs])
             for w in synthetic.WORD_RULE_VOCAB}
    groups: dict[str, list] = {"trained_word": [], "heldout_word": []}
    for v in fam.val_variants:
        y, n = v.roles
        group = "heldout_word" if v.object in synthetic.HELDOUT_WORDS else "trained_word"
        for w in wordings:
            engine.use(gen.make(v.descriptions[w]))
            by_word = word_separations(np.array([margin(engine, ex.prompt, y, n) for ex in inputs]), truth)
            if v.object in by_word:
                groups[group].append(adapter_row(by_word, v.object))
    tested = sum(1 for t in truth.values() if testable(t))
    return {**{g: summarise(rows) for g, rows in groups.items()}, "words_tested": tested,
            "chance": round(1 / tested, 3) if tested else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", type=Path, required=True, help="generator bundle (t2l-edge export)")
    p.add_argument("--store", type=Path, required=True, help="task store with olmo.rte and olmo.mrpc (t2l-edge data build)")
    p.add_argument("--inputs", type=int, default=30, help="word lists every adapter answers")
    p.add_argument("--wordings", default=",".join(map(str, HELD_WORDINGS)), metavar="I,J",
                   help="which of each variant's descriptions make its adapters, by index (-2,-1: held out of training)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    from t2l_edge.data import synthetic
    from t2l_edge.data.store import TaskStore
    from t2l_edge.engine import Engine
    from t2l_edge.runtime import Generator

    fam = next(f for f in synthetic.FAMILIES if f.name == FAMILY)
    wordings = parse_wordings(p, args.wordings, fam.val_variants)
    if args.inputs < 4:
        p.error("--inputs: at least 4, so a word can be listed in two and missing from two")
    inputs = synthetic.family_inputs(fam, TaskStore(args.store).examples, "val")[:args.inputs]
    with Engine(None, n_threads=args.threads) as engine:
        out = check(engine, Generator.load(args.bundle), fam, inputs, wordings)
    return _emit({"bundle": str(args.bundle), "family": FAMILY, "wordings": list(wordings), "inputs": len(inputs),
                  "heldout_words": list(synthetic.HELDOUT_WORDS), **out}, args.json)


if __name__ == "__main__":
    sys.exit(main())
