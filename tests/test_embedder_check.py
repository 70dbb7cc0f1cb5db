"""scripts/embedder_check.py: the task-separation figures on embeddings whose answer is known."""

import numpy as np

from scripts.embedder_check import bench_top1, task_metrics


def _clusters(spread: float, seed: int = 0, tasks: int = 6, dim: int = 16):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(tasks, dim))
    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)
    train = {f"t{i}": unit(centres[i] + spread * rng.normal(size=(8, dim))) for i in range(tasks)}
    held = {f"t{i}": unit(centres[i] + spread * rng.normal(size=(2, dim))) for i in range(tasks)}
    return train, held


def test_tight_clusters_are_told_apart():
    m = task_metrics(*_clusters(0.05))
    assert m["heldout_top1"] == 1.0 and m["between_share"] > 0.95 and m["heldout_margin"] > 0


def test_embeddings_that_ignore_the_task_are_not():
    rng = np.random.default_rng(1)
    noise = {f"t{i}": rng.normal(size=(8, 16)) for i in range(6)}
    held = {f"t{i}": rng.normal(size=(2, 16)) for i in range(6)}
    m = task_metrics(noise, held)
    assert m["between_share"] < 0.3 and m["heldout_margin"] < 0.1


def test_bench_retrieval_leaves_the_description_out():
    train, _ = _clusters(0.05)
    assert bench_top1(train) == 1.0
    same = {t: np.repeat(train["t0"][:1], 4, axis=0) for t in ("a", "b")}  # identical benchmarks: a tie
    assert bench_top1(same) == 0.5
