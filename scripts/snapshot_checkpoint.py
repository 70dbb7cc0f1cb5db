#!/usr/bin/env python
"""Turn a run's resume state (RUN/checkpoint) into an exportable hypernetwork folder.

A run keeps two things: best/ (lowest validation CE) and checkpoint/ (the latest step, for
--resume). Validation CE is not the only thing we select on: a later step can have a larger
description gap at about the same CE. This writes that later step as a hypernet folder, with
the run's metadata and the step and validation figures from its log, so `t2l-edge export`
takes it like best/.

    .venv/bin/python scripts/snapshot_checkpoint.py runs/sft-labelwords -o runs/sft-labelwords/final
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def last_validation(run: Path, step: int) -> dict:
    """The validation figures the run logged at `step` ({} if it logged none there)."""
    figures = {}
    for line in (run / "log.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("step") == step and "val_loss" in row:
            figures = {k: v for k, v in row.items() if k.startswith(("val_", "syn_"))}
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="training run folder (holds best/ and checkpoint/)")
    ap.add_argument("-o", "--output", type=Path, required=True, help="hypernet folder to create")
    args = ap.parse_args()
    if args.output.exists():
        raise SystemExit(f"error: {args.output} exists; remove it or choose another -o")

    from safetensors.torch import load_file

    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet

    net, meta = load_hypernet(args.run / "best")
    net.load_state_dict(load_file(str(args.run / "checkpoint" / "weights.safetensors")))
    step = json.loads((args.run / "checkpoint" / "state.json").read_text())["step"]
    prov = {**meta["provenance"], "step": step, "selected": "last step (checkpoint/), not best/"}
    prov.update(last_validation(args.run, step))
    save_hypernet(net, args.output, prov)
    print(f"wrote {args.output} (step {step}, val_loss {prov.get('val_loss')}, val_gap {prov.get('val_gap')})")


if __name__ == "__main__":
    main()
