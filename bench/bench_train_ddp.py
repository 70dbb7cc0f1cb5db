"""Speed-up of 2-process torchrun DDP over 1 process for `t2l-edge train sft` (on demand).

Both runs are the real trainer on the real pool and SmolLM2, same global batch, same steps,
measured in the same invocation: 1 process with 2 threads vs 2 gloo processes with 1 thread
each. Step times come from each run's log.jsonl (the first steps are dropped as warm-up).

A third run, 1 process on 1 thread, gives the ceiling: two ranks can at best each do half the
batch at the 1-thread speed, so `ddp_ceiling` = (1 process, 2 threads) / (half the 1-thread
step) is the most DDP could gain over the 2-thread process, and `ddp_efficiency` how much of
that ideal the real 2-process run reached (the rest is the gradient all-reduce and the ranks
waiting on each other).

    .venv/bin/python -m bench.bench_train_ddp [--steps 12] [--batch 8] [--store DIR]

--store points the three runs at another task store, such as a partial pool from
`t2l-edge data build --without bigbench --out DIR` on a machine that cannot fetch the BIG-bench
sdist. The three runs always share one store, so the ratios compare like with like; the
seconds per step move with the rows' lengths, which depend on the tasks that fill them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import machine_info, write_result

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], env: dict) -> None:
    out = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")


def _step_times(run: Path, skip: int) -> list[float]:
    rows = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    return [r["s"] for r in rows if r["step"] > skip and "val_loss" not in r]


def _store_note(store: str | None) -> str:
    from t2l_edge.data.store import TaskStore

    without = TaskStore(store).manifest.get("without", [])
    return f"partial pool, without {', '.join(without)}" if without else "the full pool"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--store", default=None, help="task store folder (default: the full pool in the cache)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "train_ddp.json"))
    args = ap.parse_args()
    common = ["train", "sft", "--config", "configs/sft_smollm2_M.yaml", "--set", f"steps={args.steps}",
              "--set", f"batch_tasks={args.batch}", "--set", "log_every=1", "--set", f"eval_every={10 ** 6}",
              "--set", f"checkpoint_every={10 ** 6}"] + (["--set", f"store={args.store}"] if args.store else [])
    res = {"machine": machine_info(), "steps": args.steps, "batch": args.batch, "cpus": os.cpu_count(), "store": _store_note(args.store)}
    with tempfile.TemporaryDirectory() as tmp:
        one, two, single = Path(tmp) / "one", Path(tmp) / "two", Path(tmp) / "single"
        _run([sys.executable, "-m", "t2l_edge", *common, "--out", str(one), "--set", "threads=2"], {"OMP_WAIT_POLICY": "PASSIVE"})
        _run([sys.executable, "-m", "t2l_edge", *common, "--out", str(single), "--set", "threads=1"], {"OMP_WAIT_POLICY": "PASSIVE"})
        _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--rdzv_backend=c10d",
              "--rdzv_endpoint=localhost:0", "-m", "t2l_edge", *common, "--out", str(two), "--set", "threads=1"],
             {"OMP_WAIT_POLICY": "PASSIVE"})
        skip = min(2, args.steps // 3)
        t1, t2 = statistics.median(_step_times(one, skip)), statistics.median(_step_times(two, skip))
        t_single = statistics.median(_step_times(single, skip))
    ideal = t_single / 2
    res.update({"one_process_s_per_step": t1, "two_process_s_per_step": t2, "ddp_speedup": t1 / t2,
                "one_process_1thread_s_per_step": t_single, "ideal_two_process_s_per_step": ideal,
                "ddp_ceiling": t1 / ideal, "ddp_efficiency": ideal / t2, "target_speedup": 1.6})
    write_result(args.out, res)


if __name__ == "__main__":
    main()
