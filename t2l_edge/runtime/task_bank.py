"""The pool's tasks as the generator's encoder sees them: one centroid per task, the mean
embedding of its committed training descriptions.

Two uses. Guidance's description-free reference is the adapter made from their mean
(core/guidance.py). And `make-adapter --nearest` names the pool tasks closest to a
description: the generator reads its description on tasks it trained on and hardly at all on
new ones (docs/specificity.md), so the nearest trained task is the most honest hint of what an
adapter will do. Embedding the ~7,000 descriptions takes about 30 s on 2 cores, so the bank is
cached once per bundle (its encoder) and description set.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from ..core.paths import cache_root

FAR_COSINE = 0.45  # below this a description is unlike every pool task: nonsense strings sit at ~0.40


@dataclass
class TaskBank:
    ids: list[str]
    centroids: np.ndarray  # [tasks, emb_dim] float32
    length: float  # the mean norm of a description's embedding

    def reference_embedding(self) -> np.ndarray:
        """The mean of the task centroids (each task once), at a description's mean length."""
        c = self.centroids.mean(0)
        return (c * (self.length / float(np.linalg.norm(c)))).astype(np.float32)

    def trained(self) -> np.ndarray:
        """[tasks] bool: False for the validation-only tasks the default split holds out."""
        from ..evaluation.swap_sets import heldout_pool_ids  # the trainers' default split (tested equal)

        held = set(heldout_pool_ids(self.ids))
        return np.array([t not in held for t in self.ids])

    def nearest(self, emb: np.ndarray, k: int = 3) -> list[list[dict]]:
        """Per embedding, the k closest tasks by cosine, each {task, cosine, trained}."""
        unit = self.centroids / np.linalg.norm(self.centroids, axis=1, keepdims=True)
        sims = (emb / np.linalg.norm(emb, axis=1, keepdims=True)) @ unit.T
        trained = self.trained()
        return [[{"task": self.ids[j], "cosine": round(float(row[j]), 3), "trained": bool(trained[j])}
                 for j in np.argsort(-row)[:k]] for row in sims]


def nearest_line(near: list[dict]) -> str:
    """One line for people: the closest tasks with their cosines, validation-only ones marked."""
    return "closest pool tasks: " + ", ".join(
        f"{n['task']} ({n['cosine']:.2f}{'' if n['trained'] else ', validation-only'})" for n in near)


def far_warning(description: str, near: list[dict]) -> str | None:
    """The warning for a description unlike every pool task (None when some task is close)."""
    if near[0]["cosine"] >= FAR_COSINE:
        return None
    return (f"'{description[:40]}' is unlike every task in the generator's training pool (best cosine "
            f"{near[0]['cosine']:.2f}); expect a generic adapter, not one for this task")


def _pool_descriptions() -> dict[str, list[str]]:
    from ..data.descriptions import descriptions, load_all

    texts = {t: descriptions(t, "train") for t in sorted(load_all()) if not t.startswith("bench.")}
    return {t: d for t, d in texts.items() if d}


def task_bank(gen, announce=None) -> TaskBank:
    """The bank for `gen`'s bundle, from the cache or built (and cached) now; `announce(text)`
    is told before a build, which takes about 30 s."""
    texts = _pool_descriptions()
    digest = hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_root() / "task-banks" / f"{gen.manifest.bundle_id}-{digest}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                return TaskBank([str(t) for t in z["ids"]], z["centroids"], float(z["length"]))
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is rebuilt below
    if announce:
        announce(f"embedding the descriptions of {len(texts)} pool tasks once for this bundle (about 30 s; cached in {path.parent})")
    per_task = [gen.embed(d) for d in texts.values()]
    bank = TaskBank(list(texts), np.stack([e.mean(0) for e in per_task]).astype(np.float32),
                    float(np.mean([np.linalg.norm(e, axis=1).mean() for e in per_task])))
    _save(bank, path)
    return bank


def _save(bank: TaskBank, path) -> None:
    from ..core.atomic import atomic_output

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, force=True) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, ids=np.array(bank.ids), centroids=bank.centroids, length=np.float64(bank.length))
    except OSError:
        pass  # a read-only cache only costs the next call the same 30 s
