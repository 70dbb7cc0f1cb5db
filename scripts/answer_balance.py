#!/usr/bin/env python
"""How much of a multiple-choice score an answer bias alone explains. For the seeded items
`t2l-edge eval` scores, print the accuracy of always giving the same option position (what a
model that always says "A" gets in the letter style), and for each result file with per-item
records the share of items on which it gave its most common answer.

    .venv/bin/python scripts/answer_balance.py [--limit 60] [results/base-letter.json ...]
"""
import argparse
import json
from collections import Counter
from pathlib import Path

from t2l_edge.data.benchmarks import MC, load_benchmark
from t2l_edge.evaluation.mc import LETTERS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    results = {f.stem: json.loads(f.read_text()) for f in args.files}
    print("| " + " | ".join(["benchmark", "always first option", "best constant option"] + [f"{k}: most common answer" for k in results]) + " |")
    print("|---|---|---|" + "---|" * len(results))
    firsts, bests = [], []
    for b in MC:
        golds = [ex.answer_index for ex in load_benchmark(b, limit=args.limit, seed=args.seed)]
        counts = Counter(golds)
        firsts.append(counts[0] / len(golds))
        bests.append(max(counts.values()) / len(golds))
        cells = []
        for r in results.values():
            per = r["benchmarks"].get(b, {}).get("per_description", [])
            if not per or "pred_norm" not in per[0]:
                cells.append("n/a")
                continue
            preds = [p for d in per for p in d["pred_norm"]]
            top, n = Counter(preds).most_common(1)[0]
            cells.append(f"{LETTERS[top]} on {100 * n / len(preds):.0f}%")
        print("| " + " | ".join([b, f"{100 * firsts[-1]:.1f}", f"{100 * bests[-1]:.1f}"] + cells) + " |")
    print("| " + " | ".join(["AVG", f"{100 * sum(firsts) / len(firsts):.1f}", f"{100 * sum(bests) / len(bests):.1f}"] + [""] * len(results)) + " |")


if __name__ == "__main__":
    main()
