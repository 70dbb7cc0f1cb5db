"""Regenerate docs/data.md from the task store (run `t2l-edge data build` first).

    .venv/bin/python scripts/data_stats.py [--store DIR] [--sample 40] [--out docs/data.md]

Token lengths use the SmolLM2 tokenizer (llama.cpp, vocab only) on prompt + answer, on a
seeded sample of examples per task; the chat template adds about 30 tokens on top.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pct(values: list[int], q: float) -> int:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None)
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--out", default=str(REPO / "docs" / "data.md"))
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import llama_cpp

    from t2l_edge.core.basemodel import default_base_path
    from t2l_edge.data.benchmarks import BENCHMARKS, load_benchmark
    from t2l_edge.data.descriptions import load_all
    from t2l_edge.data.store import TaskStore

    store = TaskStore(args.store)
    tok = llama_cpp.Llama(str(default_base_path()), vocab_only=True, verbose=False)
    ids = store.task_ids()
    idx = {t: store.task(t) for t in ids}
    by_source = collections.Counter(t.split(".")[0] for t in ids)
    sizes = [idx[t]["n_train"] + idx[t]["n_val"] for t in ids]
    lengths = []
    rng = random.Random(0)
    for t in ids:
        exs = store.examples(t, "train")
        for ex in rng.sample(exs, min(args.sample, len(exs))):
            lengths.append(len(tok.tokenize((ex.prompt + "\n" + ex.answer).encode(), add_bos=False)))
    descs = load_all()
    with_desc = [t for t in ids if len(descs.get(t, [])) >= 8]
    decon = json.loads((store.path / "decontamination.json").read_text())
    man = store.manifest
    lines = [
        "# Task data",
        "",
        "Regenerate: `t2l-edge data build` then `.venv/bin/python scripts/data_stats.py`.",
        f"Store content sha256 `{man['content_sha256'][:16]}…`, built from "
        + ", ".join(f"`{p['spec']}`" for p in man["packages"].values()) + ".",
        "",
        "## Training pool",
        "",
        f"{len(ids)} tasks, {man['n_examples']:,} examples "
        f"(per task: min {min(sizes)}, median {int(statistics.median(sizes))}, max {max(sizes):,}).",
        "",
        "| source | tasks |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(by_source.items())],
        "",
        "Sources: `bb.*` BIG-bench JSON tasks (English, ≥ 64 examples, at most 3 subtasks per family), "
        "`ni.*` the Natural-Instructions subtasks vendored in BIG-bench, `mmlu.*` the 57 MMLU subjects, "
        "`olmo.*` SciQ, SocialIQA, CommonsenseQA, COPA, SST-2, RTE, MRPC, CB, basic arithmetic, TriviaQA, NQ-open. "
        "Examples longer than 1,500 characters of prompt or 400 of answer are dropped; tasks left with fewer "
        "than 40 examples are dropped. Each task keeps min(32, max(8, 10%)) examples for validation.",
        "",
        f"Token length of prompt + answer (SmolLM2 tokenizer, {args.sample} sampled examples per task, "
        f"{len(lengths):,} in all): p50 {pct(lengths, .5)}, p90 {pct(lengths, .9)}, p99 {pct(lengths, .99)}, max {max(lengths)}.",
        "",
        "## Descriptions",
        "",
        f"{len(with_desc)} of {len(ids)} pool tasks have ≥ 8 committed descriptions "
        f"(`t2l_edge/data/descriptions/*.json`, {sum(len(descs.get(t, [])) for t in ids):,} in all; the last 2 of each "
        f"task are held out for validation); benchmarks described: "
        f"{sum(1 for b in BENCHMARKS if len(descs.get('bench.' + b, [])) >= 5)} of {len(BENCHMARKS)} "
        f"({min(len(descs.get('bench.' + b, [])) for b in BENCHMARKS)} to {max(len(descs.get('bench.' + b, [])) for b in BENCHMARKS)} each, all held out).",
        "",
        "## Held-out benchmarks",
        "",
        "| benchmark | scored items | train part (never scored) |",
        "|---|---|---|",
        *[f"| {b} | {len(load_benchmark(b))} | {len(load_benchmark(b, part='train'))} |" for b in BENCHMARKS],
        "",
        "## Decontamination",
        "",
        f"Every training example was checked for shared {decon['ngram']}-word spans against every benchmark item "
        f"(scored and train parts; {decon['benchmark_ngrams']:,} distinct n-grams). "
        f"{decon['examples_dropped']} of {decon['examples_checked']:,} examples were dropped. Most affected tasks:",
        "",
        "| task | dropped |",
        "|---|---|",
        *[f"| {t} | {n} |" for t, n in list(decon["tasks_affected"].items())[:10]],
        "",
        "Worst overlaps (example -> benchmark items sharing a 13-gram):",
        "",
        *[f"- `{w['example']}` -> {', '.join(w['matches'])}" for w in decon["worst"][:8]],
        "",
        "Excluded by source before the check: NI subtask029-035 (Winogrande), 043/044/047 (science multiple choice), "
        "BIG-bench tasks copying a pool source (social_iqa) or not in English (hindi, parsinlu, German mappings).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
