"""Wire the real pieces for `t2l-edge train sft`: base from GGUF, task store, descriptions,
the bundle's own ONNX encoder, and a held-out task split."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..data.descriptions import descriptions as committed
from ..data.store import TaskStore
from ..errors import T2LError
from .sft_data import TaskData

HELDOUT_EVERY = 23  # every 23rd pool task (sorted ids) is validation-only: ~11 of 255, like the paper


def task_descriptions(store: TaskStore, tid: str, which: str, allow_seed: bool) -> list[str]:
    descs = committed(tid, which)
    if not descs and allow_seed:
        seed = store.task(tid).get("seed_text", "").strip()
        descs = [seed.split("\n")[0][:600]] if seed else []
    return descs


def load_tasks(cfg, log=print):
    """(train TaskData list, validation TaskData list, provenance dict)."""
    from export.encoder import ensure_encoder

    from ..encoder_runtime import OnnxEncoder
    from ..text import normalize_description

    store = TaskStore(cfg.store)
    ids = cfg.tasks or store.task_ids()
    heldout = set(cfg.heldout_tasks or ids[::HELDOUT_EVERY])
    enc_info = ensure_encoder("int8")
    encoder = OnnxEncoder(enc_info["onnx"], enc_info["tokenizer"])
    train, val, skipped = [], [], []
    for tid in ids:
        which = "heldout" if tid in heldout else "train"
        descs = task_descriptions(store, tid, which, cfg.allow_seed_descriptions)
        if not descs:
            skipped.append(tid)
            continue
        emb = encoder.encode([normalize_description(d)[0] for d in descs])
        split = "val" if tid in heldout else "train"
        td = TaskData(tid, store.examples(tid, split) if split == "val" else store.examples(tid, "train"), emb)
        (val if tid in heldout else train).append(td)
    if not train:
        raise T2LError("no training task has descriptions", "add t2l_edge/data/descriptions/*.json or --set allow_seed_descriptions=true")
    log(f"{len(train)} training tasks, {len(val)} held-out tasks, {len(skipped)} skipped for lack of descriptions")
    data_hash = hashlib.sha256(json.dumps({"store": store.manifest["content_sha256"], "train": [t.task_id for t in train],
                                           "val": [t.task_id for t in val], "seed_desc": cfg.allow_seed_descriptions}).encode()).hexdigest()
    prov = {"data_hash": data_hash, "store_sha256": store.manifest["content_sha256"], "n_train_tasks": len(train),
            "n_val_tasks": len(val), "encoder": enc_info["report"]["encoder"] + " int8"}
    return train, val, prov


def mean_description_count(tasks: list[TaskData]) -> float:
    return float(np.mean([len(t.desc_emb) for t in tasks])) if tasks else 0.0
