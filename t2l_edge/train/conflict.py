"""Conflict pairs: two tasks of one synthetic family on the same input, with different answers.

A generator that ignores its description gives both rows the same adapter, so at least one of
them keeps a high loss; only reading the description fits both. The pair is drawn with the
step's own rng, so batches stay a pure function of (seed, step) and resume stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .batches import TaskData


@dataclass
class ConflictFamily:
    name: str
    variants: list[TaskData]  # aligned: examples[j] of every variant share one input
    twins: list[list[int]] = field(default_factory=list)  # groups of variant indices paired on purpose

    @property
    def n_inputs(self) -> int:
        return min(len(v.examples) for v in self.variants)


def conflict_rows(families: list[ConflictFamily], formatter, rng: np.random.Generator, n_pairs: int) -> list[tuple]:
    """Up to 2 * n_pairs rows ((token ids, n prompt), embedding, (example, description text)), consecutive pairs sharing an
    input. The two variants are chosen among those whose answers differ on that input (for the
    topic family that always includes the one "yes"), so every pair is a real conflict."""
    rows: list[tuple] = []
    usable = [f for f in families if f.n_inputs and len(f.variants) >= 2]
    if not usable:
        return rows
    for _ in range(n_pairs):
        fam = usable[int(rng.integers(len(usable)))]
        for _try in range(8):  # an input whose two answers both fit max_len
            j = int(rng.integers(fam.n_inputs))
            pair = _pick_pair(fam, j, rng)
            if pair is None:
                continue
            encs = [formatter(v.examples[j]) for v in pair]
            if all(e is not None for e in encs):
                for e, v in zip(encs, pair):
                    k = int(rng.integers(len(v.desc_emb)))
                    rows.append((e, v.desc_emb[k], (v.examples[j], v.description(k))))
                break
    return rows


TWIN_SHARE = 0.5  # of a twinned family's pairs, drawn within one twin group


def _pick_pair(fam: ConflictFamily, j: int, rng: np.random.Generator) -> tuple[TaskData, TaskData] | None:
    # Only a twinned family draws the extra number, so older runs keep their batches exactly.
    if fam.twins and rng.random() < TWIN_SHARE:
        return _pick_twins(fam, j, rng)
    answers = [v.examples[j].answer for v in fam.variants]
    distinct = sorted(set(answers))
    if len(distinct) < 2:
        return None
    # Two different answers first, then one variant giving each: rare answers (the topic
    # family's single "yes") are picked as often as common ones.
    a, b = rng.choice(len(distinct), size=2, replace=False)
    side_a = [v for v, ans in zip(fam.variants, answers) if ans == distinct[a]]
    side_b = [v for v, ans in zip(fam.variants, answers) if ans == distinct[b]]
    return side_a[int(rng.integers(len(side_a)))], side_b[int(rng.integers(len(side_b)))]


def _pick_twins(fam: ConflictFamily, j: int, rng: np.random.Generator) -> tuple[TaskData, TaskData] | None:
    """Two variants of one twin group whose answers on input j differ (the same words with the
    roles exchanged, say), or None when the drawn group agrees on it."""
    group = [fam.variants[k] for k in fam.twins[int(rng.integers(len(fam.twins)))]]
    a = group[int(rng.integers(len(group)))]
    others = [v for v in group if v.examples[j].answer != a.examples[j].answer]
    return (a, others[int(rng.integers(len(others)))]) if others else None


def split_descriptions(descriptions: list[str], split: str) -> list[str]:
    """A variant's training descriptions, or for "val" its held-out ones (the last HELDOUT_PER_TASK)."""
    from ..data.descriptions import HELDOUT_PER_TASK

    return descriptions[:-HELDOUT_PER_TASK] if split == "train" else descriptions[-HELDOUT_PER_TASK:]


def load_families(store, embed, split: str, exclude=frozenset(), names=(), only=()) -> list[ConflictFamily]:
    """The code-built families (data/synthetic.py) from the store's own inputs. split "train"
    uses the training descriptions and inputs; "val" the held-out ones of both. `exclude`: the
    pool's held-out tasks, whose inputs no family may use. `names`: only these families (a
    config's `families`); empty = all, so a run keeps its data when a family is added later.
    `only`: of the trained variants, just those whose task id matches one of these (a config's
    `family_variants`: ids or shell-style patterns such as syn.rule_words_roles.digit_*), for runs
    that train on a handful of variants or on one rule; validation keeps its own."""
    from ..data import synthetic

    out = []
    for fam in synthetic.FAMILIES:
        if names and fam.name not in names:
            continue
        tasks = synthetic.build_family(fam, store.examples, split, exclude=exclude)
        variants, split_variants = [], fam.split_variants(split)
        if only and split == "train":
            split_variants = [v for v in split_variants if synthetic.id_matches(synthetic.task_id(fam, v), only)]
        for v in split_variants:
            descs = split_descriptions(v.descriptions, split)
            tid = synthetic.task_id(fam, v)
            variants.append(TaskData(tid, tasks[tid], embed(descs), list(descs)))
        out.append(ConflictFamily(fam.name, variants, _twin_groups(fam, split_variants)))
    return out


def _twin_groups(fam, variants) -> list[list[int]]:
    """Indices of the variants sharing a twin key (the family's `twin`), groups of two or more."""
    if fam.twin is None:
        return []
    groups: dict[str, list[int]] = {}
    for k, v in enumerate(variants):
        groups.setdefault(fam.twin(v), []).append(k)
    return [g for g in groups.values() if len(g) > 1]
