#!/usr/bin/env python
"""The README's training-log numbers from the runs' own logs: steps reached, median seconds per
step, and held-out validation loss at every evaluation (best in bold).

    .venv/bin/python scripts/training_log.py runs/sft-plain runs/mt-lora-plain ...
A `train lora` folder (one sub-folder per task) is summarised per task.
"""
import argparse
import json
import statistics
from pathlib import Path


def summary(log: Path) -> str:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    steps = [r for r in rows if "step" in r and "s" in r]
    vals = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    best = min(vals, key=lambda v: v[1]) if vals else None
    hist = ", ".join(f"**{v:.3f} at {s}**" if (s, v) == best else f"{v:.3f} at {s}" for s, v in vals)
    last = steps[-1]["step"] if steps else 0
    sec = statistics.median(r["s"] for r in steps) if steps else float("nan")
    return f"{last} steps, {sec:.1f} s/step median; val {hist or '-'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="*", type=Path, help="run folders (with log.jsonl, or one sub-folder per task)")
    for run in ap.parse_args().runs:
        if (run / "log.jsonl").is_file():
            print(f"{run}: {summary(run / 'log.jsonl')}")
        else:
            for task in sorted(p for p in run.iterdir() if (p / "log.jsonl").is_file()):
                print(f"{run}/{task.name}: {summary(task / 'log.jsonl')}")


if __name__ == "__main__":
    main()
