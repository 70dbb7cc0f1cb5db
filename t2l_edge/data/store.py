"""The local task store: every training task normalised to one schema, split, decontaminated.

Layout (default ~/.cache/t2l-edge/tasks):
  manifest.json          inputs (package sha256s), code version, counts, content hash
  index.json             per task: id, source, family, license, format, counts, seed text
  examples/<id>.jsonl.gz one Example per line, with "split": "train" | "val"
  decontamination.json   what the 13-gram check dropped
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
from pathlib import Path

from ..core.atomic import atomic_dir
from ..core.errors import T2LError
from .schema import Example

STORE_VERSION = 1
MAX_PROMPT_CHARS = 1500  # ~400 SmolLM2 tokens: keeps CPU training steps short
MAX_ANSWER_CHARS = 400
VAL_MAX = 32


def default_store() -> Path:
    from .packages import cache_root

    return cache_root() / "tasks"


def split_examples(tid: str, examples: list[Example]) -> dict[str, list[Example]]:
    order = list(range(len(examples)))
    random.Random(f"split:{tid}").shuffle(order)
    n_val = min(VAL_MAX, max(8, len(examples) // 10))
    val = set(order[:n_val])
    return {"train": [examples[i] for i in order if i not in val], "val": [examples[i] for i in sorted(val)]}


def write_store(out: Path, tasks: list[dict], manifest: dict, report: dict) -> Path:
    """tasks: [{id, source, family, license, format, seed_text, examples}] -> the store folder (atomic)."""
    with atomic_dir(out) as tmp:
        (tmp / "examples").mkdir()
        index, digest = [], hashlib.sha256()
        for t in sorted(tasks, key=lambda t: t["id"]):
            parts = split_examples(t["id"], t["examples"])
            lines = [json.dumps({"split": s, **ex.to_dict()}, ensure_ascii=False, sort_keys=True) for s in ("train", "val") for ex in parts[s]]
            data = ("\n".join(lines) + "\n").encode()
            digest.update(data)
            # mtime=0: the same data gives the same bytes, so the content hash is reproducible.
            (tmp / "examples" / f"{t['id']}.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
            index.append({k: t[k] for k in ("id", "source", "family", "license", "format", "seed_text")} |
                         {"n_train": len(parts["train"]), "n_val": len(parts["val"])})
        (tmp / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False))
        (tmp / "decontamination.json").write_text(json.dumps(report, indent=1))
        manifest = {**manifest, "store_version": STORE_VERSION, "n_tasks": len(index),
                    "n_examples": sum(t["n_train"] + t["n_val"] for t in index), "content_sha256": digest.hexdigest()}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out


class TaskStore:
    """Read access for trainers and evaluation."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_store()
        if not (self.path / "manifest.json").is_file():
            raise T2LError(f"no task store at {self.path}", "run `t2l-edge data build` first")
        self.manifest = json.loads((self.path / "manifest.json").read_text())
        self._index = {t["id"]: t for t in json.loads((self.path / "index.json").read_text())}
        self._cache: dict[str, dict[str, list[Example]]] = {}

    def task_ids(self) -> list[str]:
        return sorted(self._index)

    def task(self, tid: str) -> dict:
        if tid not in self._index:
            raise T2LError(f"unknown task '{tid}'", f"the known task ids are in {self.path / 'index.json'} (written by `t2l-edge data build`)")
        return self._index[tid]

    def examples(self, tid: str, split: str = "train") -> list[Example]:
        self.task(tid)
        if tid not in self._cache:
            parts: dict[str, list[Example]] = {"train": [], "val": []}
            raw = gzip.decompress((self.path / "examples" / f"{tid}.jsonl.gz").read_bytes()).decode()
            for line in raw.split("\n"):  # not splitlines(): examples may contain U+2028
                if not line:
                    continue
                d = json.loads(line)
                parts[d.pop("split")].append(Example.from_dict(d))
            self._cache[tid] = parts
        return self._cache[tid][split]
