"""Task descriptions: committed JSON files, `{task_id: [description, ...]}`, under descriptions/.

For a training task the last 2 descriptions are held out (validation on unseen wording); the
rest are for training. Benchmark descriptions (`bench.*`) are all held out by definition.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from ..core.errors import T2LError

FOLDER = Path(__file__).parent / "descriptions"
HELDOUT_PER_TASK = 2
MIN_TRAINING, MIN_BENCHMARK, MAX_CHARS = 8, 5, 600


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def check_file(path: Path) -> dict[str, list[str]]:
    """Load one file and enforce the schema; raises T2LError naming the first problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise T2LError(f"{path.name} is not valid JSON ({exc})", "fix the file") from None
    if not isinstance(data, dict):
        raise T2LError(f"{path.name} must hold an object of task id -> list of descriptions", "fix the file")
    for tid, descs in data.items():
        need = MIN_BENCHMARK if tid.startswith("bench.") else MIN_TRAINING
        if not isinstance(descs, list) or len(descs) < need:
            raise T2LError(f"{path.name}: {tid} has {len(descs) if isinstance(descs, list) else 0} descriptions, needs {need}", "write more")
        seen = set()
        for d in descs:
            if not isinstance(d, str) or not d.strip() or d != d.strip():
                raise T2LError(f"{path.name}: {tid} has an empty or untrimmed description", "fix the file")
            if len(d) > MAX_CHARS:
                raise T2LError(f"{path.name}: {tid} has a description of {len(d)} characters (max {MAX_CHARS})", "shorten it")
            if _key(d) in seen:
                raise T2LError(f"{path.name}: {tid} repeats '{d[:40]}'", "remove the duplicate")
            seen.add(_key(d))
    return data


@lru_cache(maxsize=1)
def load_all(folder: str = str(FOLDER)) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(Path(folder).glob("*.json")):
        for tid, descs in check_file(path).items():
            if tid in out:
                raise T2LError(f"{tid} is described in two files", "keep one")
            out[tid] = descs
    return out


def descriptions(task_id: str, which: str = "train") -> list[str]:
    descs = load_all().get(task_id, [])
    if task_id.startswith("bench."):
        return descs if which == "heldout" else []
    return descs[:-HELDOUT_PER_TASK] if which == "train" else descs[-HELDOUT_PER_TASK:]
