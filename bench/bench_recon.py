"""T2L-recon step cost for its two losses, side by side in one run (on demand, not a test).

A step = M hypernetwork forward for --batch library tasks -> loss -> backward -> AdamW.
`delta` (L1 on delta W = scale * B @ A) materialises a full [out, in] matrix per task, layer
and module; `ab` (L1 on z-scored A and B) stays at rank size. Needs a `train lora` library.

    .venv/bin/python -m bench.bench_recon [--library runs/lora-library] [--steps 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from bench._common import machine_info, write_result

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", default=str(ROOT / "runs" / "lora-library"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "recon.json"))
    args = ap.parse_args()

    from t2l_edge.hypernet.config import HyperConfig
    from t2l_edge.hypernet.model import HyperNetwork
    from t2l_edge.train.recon import _pick, _stats, recon_loss
    from t2l_edge.train.recon import load_library

    torch.set_num_threads(args.threads)
    library, base, _ = load_library(args.library, log=lambda s: None)
    net = HyperNetwork(HyperConfig.from_dict({"variant": "M"}), base)
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
    stats = {"A": _stats(library, "A"), "B": _stats(library, "B")}
    times = {"delta": [], "ab": []}
    for rep in range(2):  # alternate the losses so background load hits both alike
        for kind in times:
            for s in range(args.steps):
                tasks, emb = _pick(library, args.batch, np.random.default_rng([rep, s]), "train_emb")
                t0 = time.perf_counter()
                recon_loss(net, tasks, emb, kind, stats).backward()
                opt.step()
                opt.zero_grad()
                times[kind].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    res = {"machine": machine_info(threads=args.threads),
           "library_tasks": len(library), "batch": args.batch,
           "s_per_step": med, "delta_over_ab": med["delta"] / med["ab"]}
    write_result(args.out, res)


if __name__ == "__main__":
    main()
