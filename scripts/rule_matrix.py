"""Rule matrix: which surface rule does an adapter follow, the one its description names or another?

For each held-out variant of a rule family ("answer Y if the sentence has an apostrophe, N
otherwise", over word pairs no training variant used), the adapter made from a description
answers a fixed set of news sentences, and each answer is scored as the preference
m = log p(Y) - log p(N). For every rule X (synthetic.RULE_TESTS) the adapter's *separation by X*
is the mean of m over the sentences where X holds minus the mean where it does not: high for
the rule the adapter follows, about 0 for a rule it ignores, below 0 for one it reads backwards.

The matrix has a row per named rule (the description's) and a column per tested rule, each cell
the mean over that rule's variants with a 95% interval. An adapter that follows its description
puts its largest separation on the diagonal; `follows` is the share of adapters (variant x
wording) whose own rule separates best, against 1 / the number of rules by chance. Rules hold
together (news sentences with digits often have commas), so the same is reported for each
rule's *partial* effect: its coefficient when the preferences are fit on all rules and the
sentence's length at once. The rule a family holds out of training (synthetic.HELDOUT_RULE) asks
whether the generator reads a rule it never trained on, or only tells apart the trained ones.

The sentences are the family's validation inputs, chosen so that each rule holds on at least
--per-rule of them (the rarest rules first), then filled with sentences where no rule holds.

    .venv/bin/python -m scripts.rule_matrix --bundle B --store DIR [--family rule_words_composed_more]
        [--variants 8] [--inputs 30] [--per-rule 6] [--wordings=-2,-1] [--threads 2] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from scripts.word_check import HELD_WORDINGS, _emit, margin, mean_ci, parse_wordings


def rule_of(variant) -> str:
    return variant.name.split("_", 1)[0]


def rule_families() -> dict:
    """{name: family} of the code-built families whose held-out variants each ask one surface
    rule (synthetic.RULE_TESTS): the ones a rule check can score."""
    from t2l_edge.data import synthetic

    return {f.name: f for f in synthetic.FAMILIES
            if f.val_variants and all(rule_of(v) in synthetic.RULE_TESTS for v in f.val_variants)}


def pick_inputs(examples: list, rules: dict, total: int, per_rule: int) -> list:
    """Up to `total` examples: first `per_rule` where each rule holds (rarest rule first, so a
    common rule does not use up the sentences a rare one needs), then ones where none holds."""
    chosen: list = []
    by_rarity = sorted(rules, key=lambda r: sum(rules[r](ex.prompt) for ex in examples))
    for r in by_rarity:
        have = sum(rules[r](ex.prompt) for ex in chosen)
        for ex in examples:
            if have >= per_rule or len(chosen) >= total:
                break
            if ex not in chosen and rules[r](ex.prompt):
                chosen.append(ex)
                have += 1
    chosen += [ex for ex in examples if ex not in chosen and not any(h(ex.prompt) for h in rules.values())]
    return chosen[:total]


def separations(prefs: np.ndarray, truth: dict[str, np.ndarray]) -> dict[str, float]:
    """{rule: mean preference where the rule holds minus where it does not}."""
    return {r: float(prefs[t].mean() - prefs[~t].mean()) for r, t in truth.items() if t.any() and (~t).any()}


def partial_effects(prefs: np.ndarray, truth: dict[str, np.ndarray], lengths: np.ndarray) -> dict[str, float]:
    """{rule: its coefficient when the preference is fit on all rules at once, with an intercept
    and the sentence's log length}: a rule's own effect, apart from the rules that hold on the
    same sentences (news sentences with digits often have commas too) and from length (a
    sentence where no rule holds is usually short)."""
    x = np.column_stack([np.ones(len(prefs)), np.log(lengths)] + [t.astype(np.float64) for t in truth.values()])
    coef = np.linalg.lstsq(x, prefs, rcond=None)[0]
    return dict(zip(truth, map(float, coef[2:])))


def _summary(cells: dict, follows: dict) -> dict:
    return {"matrix": {named: {r: mean_ci(s) for r, s in row.items()} for named, row in cells.items()},
            "follows": {named: round(float(np.mean(f)), 3) for named, f in follows.items()}}


def rule_matrix(engine, gen, fam, inputs: list, rules: dict, wordings: tuple[int, ...], per_rule_variants: int) -> dict:
    """Each adapter's separation and partial effect by every rule; their means by named rule."""
    truth = {r: np.array([holds(ex.prompt) for ex in inputs]) for r, holds in rules.items()}
    lengths = np.array([len(ex.prompt.split()) for ex in inputs], dtype=np.float64)
    measures = {"separation": separations, "partial": lambda prefs, t: partial_effects(prefs, t, lengths)}
    cells = {m: {} for m in measures}
    follows = {m: {} for m in measures}
    for v in fam.val_variants:
        named = rule_of(v)
        if len(follows["partial"].get(named, [])) >= per_rule_variants * len(wordings):
            continue
        y, n = v.roles  # (the word when the rule holds, the other)
        for w in wordings:
            engine.use(gen.make(v.descriptions[w]))
            prefs = np.array([margin(engine, ex.prompt, y, n) for ex in inputs])
            for m, measure in measures.items():
                by_rule = measure(prefs, truth)
                for r, value in by_rule.items():
                    cells[m].setdefault(named, {}).setdefault(r, []).append(value)
                follows[m].setdefault(named, []).append(max(by_rule, key=by_rule.get) == named)
    return {**{m: _summary(cells[m], follows[m]) for m in measures},
            "adapters": {named: len(f) for named, f in follows["partial"].items()}, "chance": round(1 / len(rules), 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", type=Path, required=True, help="generator bundle (t2l-edge export)")
    p.add_argument("--store", type=Path, required=True, help="task store with olmo.rte and olmo.mrpc (t2l-edge data build)")
    p.add_argument("--family", default="rule_words_composed_more", help="a rule family whose variants are named RULE_Y_N")
    p.add_argument("--variants", type=int, default=8, help="held-out variants per named rule")
    p.add_argument("--inputs", type=int, default=30, help="sentences every adapter answers")
    p.add_argument("--per-rule", type=int, default=6, help="of them, at least this many where each rule holds")
    p.add_argument("--wordings", default=",".join(map(str, HELD_WORDINGS)), metavar="I,J",
                   help="which of each variant's descriptions make its adapters, by index (-2,-1: held out of training)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    from t2l_edge.data import synthetic
    from t2l_edge.data.store import TaskStore
    from t2l_edge.engine import Engine
    from t2l_edge.runtime import Generator

    fam = rule_families().get(args.family)
    if fam is None:
        p.error(f"--family {args.family!r} is not a rule family; choose from {', '.join(rule_families())}")
    wordings = parse_wordings(p, args.wordings, fam.val_variants)
    store = TaskStore(args.store)
    rules = {r: synthetic.RULE_TESTS[r] for r in dict.fromkeys(rule_of(v) for v in fam.val_variants)}
    examples = synthetic.family_inputs(fam, store.examples, "val")
    inputs = pick_inputs(examples, rules, args.inputs, args.per_rule)
    with Engine(None, n_threads=args.threads) as engine:
        out = rule_matrix(engine, Generator.load(args.bundle), fam, inputs, rules, wordings, args.variants)
    held = synthetic.HELDOUT_RULE  # held out of rule_words_composed_more's training; trained nowhere
    out = {"bundle": str(args.bundle), "family": fam.name, "wordings": list(wordings), "inputs": len(inputs),
           "holding": {r: int(sum(h(ex.prompt) for ex in inputs)) for r, h in rules.items()},
           "heldout_rule": held if held in rules else None, **out}
    return _emit(out, args.json)


if __name__ == "__main__":
    sys.exit(main())
