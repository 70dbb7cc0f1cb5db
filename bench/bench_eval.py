"""An evaluation row's wall time, and how far item batching could take it.

Runs the real `t2l-edge eval --row base` (7 benchmarks, plain style, seeded items) in a child
process and reads its result file: the row's seconds and its scoring tokens/s against llama.cpp's
raw prefill measured inside that run. Then, in this process, llama.cpp's raw prefill tokens/s
for prompts of 16 to 512 tokens: a scored item is one llama_decode of its shared prefix and
options (one sequence per option), so packing k items into one decode can at most move the row
from the items' own size to the best prefill size on this curve. `batching_ceiling` is that
bound: the best raw prefill tokens/s over the scorer's own tokens/s.

    .venv/bin/python -m bench.bench_eval [--limit 60] [--threads 1] [--out bench/results/eval.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import machine_info, write_result

ROW_TARGET_S = 300.0  # issue 16: a 7 x 60 plain row in at most 5 minutes on a quiet machine
SPEEDUP_TARGET = 3.0  # issue 16: at least 3x faster than the row time it measured
PREFILL_SIZES = (16, 32, 64, 128, 256, 512)


def run_row(limit: int, threads: int, seed: int) -> tuple[dict, float]:
    """The eval command's own result file and the child process's wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "row.json"
        cmd = [sys.executable, "-m", "t2l_edge.cli", "eval", "--row", "base", "--style", "plain", "--limit", str(limit),
               "--seed", str(seed), "--threads", str(threads), "--out", str(out)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        return json.loads(out.read_text()), wall


def prefill_curve(threads: int) -> dict[str, float]:
    from t2l_edge.engine import Engine
    from t2l_edge.evaluation.speed import raw_prompt_tok_s

    with Engine(None, n_threads=threads) as engine:
        return {str(n): raw_prompt_tok_s(engine, n_tokens=n) for n in PREFILL_SIZES}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=60, help="items per benchmark")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--out", default="bench/results/eval.json")
    args = ap.parse_args()
    row, wall = run_row(args.limit, args.threads, args.seed)
    curve = prefill_curve(args.threads)
    speed = row["speed"]
    items = sum(b["items"] for b in row["benchmarks"].values())
    best = max(curve.values())
    result = {
        "machine": machine_info(load=True, threads=args.threads),
        "row": {"name": "base", "style": "plain", "limit": args.limit, "seed": args.seed, "items": items,
                "seconds_scoring_run": row["seconds"], "wall_s_with_process_start": wall,
                "seconds_per_benchmark": {k: v["seconds"] for k, v in row["benchmarks"].items()},
                "tokens_per_item": speed["decoded_tokens"] / items},
        "scoring_tok_s": speed["scoring_tok_s"],
        "raw_prompt_tok_s_256": speed["raw_prompt_tok_s"],
        "scoring_vs_raw": speed["scoring_vs_raw"],
        "raw_prefill_tok_s_by_tokens": curve,
        "batching_ceiling": best / speed["scoring_tok_s"],
        "targets": {"row_s": ROW_TARGET_S, "speedup": SPEEDUP_TARGET},
        "pass": {"row_s": wall <= ROW_TARGET_S},
    }
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
