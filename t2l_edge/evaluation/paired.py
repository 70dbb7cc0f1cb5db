"""Paired difference between two result files (evaluation/results.py) scored on the same items:
the table's average (benchmarks weighted equally) of row minus reference, with a bootstrap 95% interval that
resamples items within each benchmark. Pairing removes the item difficulty both rows share, so
the interval is narrower than the two rows' own intervals suggest."""

from __future__ import annotations

import numpy as np

from .results import item_scores


def paired_difference(row: dict, ref: dict, n_boot: int = 2000, seed: int = 0) -> dict | None:
    """{"diff", "ci95", "benchmarks"} in accuracy units, or None when the files cannot be
    paired (no per-item records, different items, or no benchmark in common)."""
    pairs = []
    for b in row["benchmarks"]:
        if b not in ref["benchmarks"]:
            continue
        a, r = item_scores(row["benchmarks"][b]), item_scores(ref["benchmarks"][b])
        if a is None or r is None or a[0] != r[0]:
            return None  # the same items are a precondition, not something to approximate
        pairs.append(a[1] - r[1])
    if not pairs:
        return None
    rng = np.random.default_rng(seed)
    boots = np.mean([[d[rng.integers(0, len(d), len(d))].mean() for d in pairs] for _ in range(n_boot)], axis=1)
    return {"diff": float(np.mean([d.mean() for d in pairs])),
            "ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))], "benchmarks": len(pairs)}
