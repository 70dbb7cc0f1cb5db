"""How much of an SFT batch is padding, with and without length bucketing (on demand).

Builds the first --steps training batches of the real pool exactly as `t2l-edge train sft`
does (same seed, tasks, descriptions, chat formatting, max_len) and counts the token positions
the base model computes (rows x width) against the real tokens. No model runs: the ratio of
computed positions is what bucketing saves per step.

    .venv/bin/python -m bench.bench_padding [--steps 200]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench._common import machine_info, write_result

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "padding.json"))
    args = ap.parse_args()
    from t2l_edge.core.basemodel import default_base_path
    from t2l_edge.train.base_torch import load_base_torch
    from t2l_edge.train.config import SFTConfig, resolve
    from t2l_edge.train.prompts import ChatFormatter
    from t2l_edge.train.batches import make_batch
    from t2l_edge.train.tasks import load_tasks

    cfg = resolve(SFTConfig, ROOT / "configs" / "sft_smollm2_M.yaml", [])
    _, tok, _ = load_base_torch(default_base_path())
    train, _, _ = load_tasks(cfg, log=lambda s: None)
    fmt = ChatFormatter(tok, cfg.max_len)
    res = {"machine": machine_info(), "steps": args.steps, "batch": cfg.batch_tasks, "max_len": cfg.max_len}
    for mode in (False, True):
        computed = real = 0
        for step in range(args.steps):
            b = make_batch(train, fmt, step, cfg.seed, cfg.batch_tasks, 0, match_lengths=mode)
            computed += b.input_ids.numel()
            real += int(b.attention_mask.sum())
        res["bucketed" if mode else "plain"] = {"computed_positions": computed, "real_tokens": real,
                                                 "padding_fraction": 1 - real / computed}
    res["computed_ratio_bucketed_vs_plain"] = res["bucketed"]["computed_positions"] / res["plain"]["computed_positions"]
    write_result(args.out, res)


if __name__ == "__main__":
    main()
