"""The tasks every trainer trains on: the task store, their descriptions embedded by the bundle's
own ONNX encoder, and one held-out task split shared by T2L and the LoRA baselines."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..data.descriptions import descriptions as committed
from ..data.store import TaskStore
from ..core.errors import T2LError
from .batches import TaskData

HELDOUT_EVERY = 23  # every 23rd pool task (sorted ids) is validation-only: ~11 of 255, like the paper


def task_descriptions(store: TaskStore, tid: str, which: str, allow_seed: bool) -> list[str]:
    descs = committed(tid, which)
    if not descs and allow_seed:
        seed = store.task(tid).get("seed_text", "").strip()
        descs = [seed.split("\n")[0][:600]] if seed else []
    return descs


class DescriptionEmbedder:
    """The bundle's own int8 ONNX encoder, as every trainer embeds descriptions (no train/serve
    skew). `name` goes into provenance; export checks it against the bundle it writes. With
    `pieces` it returns packed descriptions (core/description_seq.py) for generators that read
    word pieces."""

    def __init__(self, pieces: bool = False, values: str = "minilm"):
        from t2l_edge.export.encoder import encoder_label, ensure_encoder

        from ..runtime.encoder_runtime import OnnxEncoder

        info = ensure_encoder("int8", pieces=pieces, values=values)
        self._encoder = OnnxEncoder(info["onnx"], info["tokenizer"])
        self.pieces = pieces
        self.name = encoder_label(info)

    def __call__(self, descriptions: list[str]) -> np.ndarray:
        from ..core.text import normalize_description

        clean = [normalize_description(d)[0] for d in descriptions]
        return self._encoder.encode_packed(clean) if self.pieces else self._encoder.encode(clean)


def split_ids(cfg, store: TaskStore) -> tuple[list[str], set[str]]:
    """(all task ids, the held-out ones): the same for sft, mt-lora and recon, so their
    validation losses are comparable."""
    ids = cfg.tasks or store.task_ids()
    unknown = [t for t in cfg.heldout_tasks if t not in ids]
    if unknown:  # else validation would silently score nothing
        raise T2LError(f"heldout_tasks names {len(unknown)} task(s) this pool does not have, e.g. {unknown[0]!r}",
                       "use ids from the task store (comma-separated with --set, no brackets or spaces)")
    heldout = set(cfg.heldout_tasks or ids[::HELDOUT_EVERY])
    if cfg.max_train_tasks:  # fewer training tasks, same validation: the task-scaling runs
        import random

        pool = [t for t in ids if t not in heldout]
        keep = set(random.Random(cfg.seed).sample(pool, min(cfg.max_train_tasks, len(pool))))
        ids = [t for t in ids if t in heldout or t in keep]
    return ids, heldout


def task_examples(store: TaskStore | None, tid: str) -> tuple[list, list]:
    """(train, val) examples. `bench.NAME` is a benchmark's disjoint never-scored part (the
    oracle LoRA's data), split 90/10 by a fixed shuffle; `syn.FAMILY.VARIANT` a code-built task
    (data/synthetic.py) on the store's inputs; anything else is a pool task."""
    if tid.startswith("bench."):
        import random

        from ..data.benchmarks import load_benchmark

        items = load_benchmark(tid.split(".", 1)[1], part="train")
        if len(items) < 20:
            raise T2LError(f"{tid} has only {len(items)} training items", "choose a benchmark with a train part")
        order = list(range(len(items)))
        random.Random(0).shuffle(order)
        cut = max(10, len(items) // 10)
        return [items[i] for i in order[cut:]], [items[i] for i in order[:cut]]
    if store is None:
        raise T2LError(f"{tid} is a pool task and needs the task store", "run `t2l-edge data build`")
    if tid.startswith("syn."):
        from ..data.synthetic import variant_examples

        try:
            return variant_examples(tid, store.examples, "train"), variant_examples(tid, store.examples, "val")
        except KeyError:
            raise T2LError(f"{tid} is not a code-built task", "use syn.FAMILY.VARIANT, as the trainer's syn_* logs name them") from None
    return store.examples(tid, "train"), store.examples(tid, "val")


def load_plain_tasks(cfg, emb_dim: int, pool_split: bool, log=print):
    """For the LoRA baselines: (train, val) TaskData with a zero embedding, since a plain LoRA
    ignores descriptions. pool_split (mt-lora): the pool split exactly as in SFT. Otherwise
    (task-specific LoRA): cfg.tasks, each validated on its own held-out examples."""
    zero = np.zeros((1, emb_dim), dtype=np.float32)
    only_bench = bool(cfg.tasks) and all(t.startswith("bench.") for t in cfg.tasks)
    store = None if only_bench else TaskStore(cfg.store)
    ids, heldout = split_ids(cfg, store) if pool_split else (list(cfg.tasks), set())
    train, val = [], []
    for tid in ids:
        tr, va = task_examples(store, tid)
        if tid in heldout:
            val.append(TaskData(tid, va, zero))
        else:
            train.append(TaskData(tid, tr, zero))
            if not heldout:  # a single task validates on its own held-out examples
                val.append(TaskData(tid, va, zero))
    log(f"{len(train)} training tasks, {len(val)} validation tasks")
    prov = {"tasks": ids if len(ids) <= 20 else f"{len(ids)} tasks", "n_train_tasks": len(train), "n_val_tasks": len(val)}
    if store is not None:
        prov["store_sha256"] = store.manifest["content_sha256"]
    return train, val, prov


def load_tasks(cfg, log=print, store: TaskStore | None = None, embed=None):
    """(train TaskData list, validation TaskData list, provenance dict)."""
    store = store or TaskStore(cfg.store)
    ids, heldout = split_ids(cfg, store)
    embed = embed or DescriptionEmbedder()
    train, val, skipped = [], [], []
    for tid in ids:
        which = "heldout" if tid in heldout else "train"
        descs = task_descriptions(store, tid, which, cfg.allow_seed_descriptions)
        if not descs:
            skipped.append(tid)
            continue
        emb = embed(descs)
        split = "val" if tid in heldout else "train"
        td = TaskData(tid, store.examples(tid, split), emb, list(descs), family=store.task(tid).get("family", ""))
        (val if tid in heldout else train).append(td)
    if not train:
        raise T2LError("no training task has descriptions", "add t2l_edge/data/descriptions/*.json or --set allow_seed_descriptions=true")
    log(f"{len(train)} training tasks, {len(val)} held-out tasks, {len(skipped)} skipped for lack of descriptions")
    if store.manifest.get("without"):
        log(f"note: a partial pool, built without {', '.join(store.manifest['without'])}: fine for benches and smoke tests, not for a model to ship")
    data_hash = hashlib.sha256(json.dumps({"store": store.manifest["content_sha256"], "train": [t.task_id for t in train],
                                           "val": [t.task_id for t in val], "seed_desc": cfg.allow_seed_descriptions}).encode()).hexdigest()
    prov = {"data_hash": data_hash, "store_sha256": store.manifest["content_sha256"], "n_train_tasks": len(train),
            "n_val_tasks": len(val), "encoder": embed.name, "store_without": store.manifest.get("without", [])}
    return train, val, prov


def load_sft_data(cfg, log=print):
    """(train, val, ExtraData, provenance) for `train sft`: the pool's tasks, plus the conflict
    families and family-balanced sampling weights when the config asks for them."""
    from .config import SAMPLE_BY
    from .conflict import load_families
    from .loop import ExtraData
    from .batches import family_weights

    store, embed = TaskStore(cfg.store), DescriptionEmbedder(
        pieces=bool(cfg.hypernet.get("read_tokens")), values=cfg.hypernet.get("piece_values", "minilm"))
    train, val, prov = load_tasks(cfg, log=log, store=store, embed=embed)
    from ..evaluation.swap import random_strings

    extra = ExtraData(n_pairs=cfg.synthetic_pairs, random_emb=embed(random_strings(3)))
    if cfg.sample_by != "task":
        family_of = {t: store.task(t)["family"] for t in store.task_ids()}
        extra.weights = family_weights(train, family_of, SAMPLE_BY[cfg.sample_by])
    if cfg.synthetic_pairs:
        heldout = set(split_ids(cfg, store)[1])
        extra.train_families = load_families(store, embed, "train", exclude=heldout, names=cfg.families,
                                             only=frozenset(cfg.family_variants))
        extra.val_families = load_families(store, embed, "val", exclude=heldout, names=cfg.families)
        sizes = {f.name: (f.n_inputs, len(f.variants)) for f in extra.train_families}
        log(f"conflict families (inputs, variants): {sizes}; {cfg.synthetic_pairs} pairs per batch")
        prov["conflict_families"] = {f.name: [v.task_id for v in f.variants] for f in extra.train_families}
    if cfg.role_weight > 0:
        from .roles import role_data

        extra.roles, extra.val_roles = (role_data(fams, embed, split, tasks) for fams, split, tasks in
                                        ((extra.train_families, "train", train), (extra.val_families, "val", val)))
        if extra.roles is None:
            raise T2LError("role_weight > 0, but no training description of the chosen families names its two words",
                           "add a label family (label_words, rule_words_split, ...) to families")
        log(f"role term: {len(extra.roles)} training descriptions, "
            f"{len(extra.val_roles) if extra.val_roles is not None else 0} held out")
    prov["sample_by"] = cfg.sample_by
    return train, val, extra, prov


def mean_description_count(tasks: list[TaskData]) -> float:
    return float(np.mean([len(t.desc_emb) for t in tasks])) if tasks else 0.0
