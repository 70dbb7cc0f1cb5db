"""The three task sets of the swap evaluation, as `swap.SwapTask`s with held-out descriptions.

  bench   the 7 multiple-choice benchmarks (plain cloze, the primary format), their held-out
          descriptions (`descriptions/bench.json`)
  pool    the pool's validation-only tasks: every HELDOUT_EVERY-th task of the sorted store
          ids, as `train/tasks.split_ids` holds them out by default, scored on their
          `val` examples with their 2 held-out descriptions. Re-derived here because
          train/tasks imports torch; `tests/test_swap.py` checks the two agree.
  unseen  tasks no trainer sees (`unseen.py`, the reserve rule)
"""

from __future__ import annotations

import random
from pathlib import Path

from ..core.errors import T2LError
from .swap import SwapTask

SETS = ("bench", "pool", "unseen")
HELDOUT_EVERY = 23  # must equal train/tasks.HELDOUT_EVERY (tested)


def heldout_pool_ids(task_ids: list[str]) -> list[str]:
    """The validation-only pool tasks of a default training config."""
    return sorted(task_ids)[::HELDOUT_EVERY]


def _subset(items: list, limit: int | None, seed: int) -> list:
    if limit and limit < len(items):
        return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), limit))]
    return items


def bench_tasks(names: list[str] | None, limit: int | None, seed: int) -> list[SwapTask]:
    from ..data.benchmarks import MC, load_benchmark
    from .rows import heldout

    names = names or list(MC)
    bad = [b for b in names if b not in MC]
    if bad:
        raise T2LError(f"not a multiple-choice benchmark: {', '.join(bad)}", f"choose from {', '.join(MC)}")
    return [SwapTask(f"bench.{b}", load_benchmark(b, limit=limit, seed=seed), heldout(b), bench=b) for b in names]


def pool_tasks(names: list[str] | None, limit: int | None, seed: int, store: Path | None = None) -> list[SwapTask]:
    from ..data.descriptions import descriptions
    from ..data.store import TaskStore

    st = TaskStore(store)
    if st.manifest.get("without"):  # its sorted ids are not the pool's, so neither is every 23rd
        raise T2LError(f"{st.path} is a partial pool (built without {', '.join(st.manifest['without'])}); "
                       "its validation tasks are not the pool's", "build the full pool with `t2l-edge data build`")
    held = heldout_pool_ids(st.task_ids())
    names = names or held
    bad = [t for t in names if t not in held]
    if bad:
        raise T2LError(f"not a validation-only pool task: {', '.join(bad)}", f"choose from {', '.join(held)}")
    out = []
    for tid in names:
        descs = descriptions(tid, "heldout")
        if not descs:
            raise T2LError(f"{tid} has no held-out description", "add descriptions for it under t2l_edge/data/descriptions/")
        out.append(SwapTask(tid, _subset(st.examples(tid, "val"), limit, seed), descs))
    return out


def unseen_tasks(names: list[str] | None, limit: int | None, seed: int) -> list[SwapTask]:
    from .unseen import UNSEEN_TASKS, load_unseen, unseen_descriptions

    names = names or list(UNSEEN_TASKS)
    return [SwapTask(t, load_unseen(t, limit, seed), unseen_descriptions(t)) for t in names]


def load_set(name: str, tasks: list[str] | None = None, limit: int | None = 20, seed: int = 0,
             store: Path | None = None) -> list[SwapTask]:
    """The tasks of one set; `tasks` narrows it (benchmark names without the `bench.` prefix
    are accepted too)."""
    if name == "bench":
        return bench_tasks([t.removeprefix("bench.") for t in tasks] if tasks else None, limit, seed)
    if name == "pool":
        return pool_tasks(tasks, limit, seed, store)
    if name == "unseen":
        return unseen_tasks(tasks, limit, seed)
    raise T2LError(f"unknown task set '{name}'", f"choose from {', '.join(SETS)}")
