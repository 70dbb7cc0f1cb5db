"""runtime/task_bank.py: the pool's tasks as description centroids, cached per bundle, and
`make-adapter --nearest` naming the closest ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from t2l_edge.cli import main
from t2l_edge.evaluation.swap_sets import heldout_pool_ids
from t2l_edge.runtime.task_bank import TaskBank, task_bank

pytestmark = pytest.mark.torch_free


def test_nearest_ranks_by_cosine_and_marks_validation_only_tasks():
    ids = [f"t{k:02d}" for k in range(30)]
    cents = np.eye(30, 8, dtype=np.float32) * 3 + 0.01  # task k points along axis k (k < 8)
    bank = TaskBank(ids, cents, length=1.0)
    query = np.zeros((1, 8), np.float32)
    query[0, 2], query[0, 5] = 1.0, 0.9
    near = bank.nearest(query, k=2)[0]
    assert [n["task"] for n in near] == ["t02", "t05"] and near[0]["cosine"] > near[1]["cosine"]
    held = set(heldout_pool_ids(ids))
    assert all(n["trained"] == (n["task"] not in held) for n in bank.nearest(np.eye(1, 8, 0, dtype=np.float32), k=30)[0])


def test_the_bank_is_built_once_then_read_from_the_cache(tiny_llama_bundle, tmp_path, monkeypatch):
    from t2l_edge.runtime import Generator

    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))
    gen = Generator.load(tiny_llama_bundle, threads=1)
    told = []
    built = task_bank(gen, announce=told.append)
    assert told and len(built.ids) > 200 and built.centroids.shape[0] == len(built.ids)
    assert len(list((tmp_path / "cache" / "task-banks").glob("*.npz"))) == 1

    def no_embedding(_):
        raise AssertionError("a cached bank must not embed again")

    monkeypatch.setattr(gen, "embed", no_embedding)
    again = task_bank(gen, announce=told.append)
    assert len(told) == 1 and again.ids == built.ids
    np.testing.assert_array_equal(again.centroids, built.centroids)
    np.testing.assert_allclose(again.reference_embedding(), built.reference_embedding())


def test_make_adapter_nearest_names_pool_tasks_and_warns_when_far(stored_bundle, tmp_path, monkeypatch, capsys):
    import t2l_edge.runtime.task_bank as tb

    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tb, "FAR_COSINE", 1.01)  # every description counts as far, so the warning shows
    out = tmp_path / "a.gguf"
    assert main(["make-adapter", "answer yes or no", "--bundle", str(stored_bundle), "-o", str(out), "--json", "--nearest"]) == 0
    captured = capsys.readouterr()
    near = json.loads(captured.out.strip())["nearest"]
    assert len(near) == 3 and all({"task", "cosine", "trained"} <= set(n) for n in near)
    assert near[0]["cosine"] >= near[1]["cosine"] >= near[2]["cosine"]
    assert "unlike every task" in captured.err and "once for this bundle" in captured.err
