#!/usr/bin/env python
"""Harness sanity: score the same seeded subset in llama.cpp and in PyTorch (the base
dequantised from the same GGUF, same token ids) and report how often they pick the same
option, and how far their per-option log-likelihoods are apart.

    .venv/bin/python scripts/torch_agreement.py [--limit 20] [--style plain] [--out results/torch-agreement.json]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from t2l_edge.core.atomic import atomic_output
from t2l_edge.data.benchmarks import MC, load_benchmark
from t2l_edge.engine import Engine
from t2l_edge.evaluation.mc import score_item
from t2l_edge.train.torch_scorer import TorchScorer
from t2l_edge.train.base_torch import load_base_torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--style", default="plain")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.out and args.out.exists():
        sys.exit(f"error: {args.out} exists (delete it first)")
    torch.set_num_threads(args.threads)
    model, _, sha = load_base_torch()
    report = {"limit": args.limit, "style": args.style, "base_sha256": sha, "benchmarks": {}}
    t0 = time.perf_counter()
    with Engine(None, n_threads=args.threads) as engine:
        scorer = TorchScorer(engine, model)
        for b in MC:
            same, same_norm, diffs, acc = 0, 0, [], [0, 0]
            items = load_benchmark(b, limit=args.limit, seed=0)
            for ex in items:
                a, t = score_item(engine, b, ex, args.style), score_item(scorer, b, ex, args.style)
                same += a.pred == t.pred
                same_norm += a.pred_norm == t.pred_norm
                diffs += list(np.abs(np.array(a.logprobs) - np.array(t.logprobs)))
                acc[0] += a.pred_norm == a.gold
                acc[1] += t.pred_norm == t.gold
            n = len(items)
            report["benchmarks"][b] = {"items": n, "same_pred": same / n, "same_pred_norm": same_norm / n,
                                       "logprob_abs_diff_mean": float(np.mean(diffs)), "logprob_abs_diff_max": float(np.max(diffs)),
                                       "acc_norm_llama": acc[0] / n, "acc_norm_torch": acc[1] / n}
            print(b, json.dumps(report["benchmarks"][b]), flush=True)
    allb = report["benchmarks"].values()
    report["same_pred_norm"] = sum(v["same_pred_norm"] * v["items"] for v in allb) / sum(v["items"] for v in allb)
    report["seconds"] = time.perf_counter() - t0
    print(f"same prediction (acc_norm) on {report['same_pred_norm']:.1%} of items")
    if args.out:
        with atomic_output(args.out, force=True) as tmp:
            tmp.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
