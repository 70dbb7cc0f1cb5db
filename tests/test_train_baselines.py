"""The LoRA baselines train in the shared loop: a task-specific LoRA learns its task, is saved
as a lossless GGUF that reads back to the same weights, and a finished task is skipped."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from t2l_edge.formats.gguf_adapter import read_gguf_adapter
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.train.config import SFTConfig
from t2l_edge.train.baselines import FixedLoRA
from t2l_edge.train.baselines import run_lora
from t2l_edge.train.baselines import run_mt_lora
from tests.helpers.tiny_models import tiny_spec
from tests.helpers.train_fixtures import char_formatter, tiny_causal_lm, toy_store

HCFG = HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4)


def _cfg(tmp_path, **kw):
    settings = dict(out=str(tmp_path / "run"), store=str(tmp_path / "store"), steps=30, batch_tasks=4, lr=2e-2,
                    bf16=False, log_every=1, eval_every=10, eval_examples=8, checkpoint_every=100, neftune_alpha=0.0,
                    label_smoothing=0.0, l2=0.0)
    return SFTConfig(**{**settings, **kw})


def test_fixed_lora_starts_as_the_base():
    lora = FixedLoRA(HCFG, tiny_spec())
    out = lora(torch.zeros(3, 32))
    for m, (a, b) in out.items():
        assert a.shape[0] == 3 and torch.count_nonzero(b) == 0 and a.abs().max() > 0


def test_task_lora_learns_and_round_trips_through_gguf(tmp_path):
    toy_store(tmp_path / "store")
    model, wrapped = tiny_causal_lm()
    cfg = _cfg(tmp_path, tasks=["toy.t1"])
    res = run_lora(cfg, HCFG, tiny_spec(), model, wrapped, char_formatter, pad_id=0, log=lambda s: None)
    log = [json.loads(x) for x in (tmp_path / "run" / "toy.t1" / "log.jsonl").read_text().splitlines()]
    vals = [r["val_loss"] for r in log if "val_loss" in r]
    assert vals[-1] < 0.3 * vals[0], vals
    ad = read_gguf_adapter(tmp_path / "run" / "toy.t1" / "best" / "adapter.gguf", tiny_spec())
    info = json.loads((tmp_path / "run" / "toy.t1" / "best" / "info.json").read_text())
    assert ad.rank == 4 and ad.extra["training"]["task"] == "toy.t1" and info["kind"] == "lora"
    # best/ holds the best validation step, and its matrices are non-trivial
    assert info["val_loss"] == min(vals) and all(np.abs(ad.B[m]).max() > 0 for m in ad.targets)
    # running the same command again skips the finished task
    again = run_lora(cfg, HCFG, tiny_spec(), model, wrapped, char_formatter, pad_id=0, log=lambda s: None)
    assert again["toy.t1"]["best_val"] == res["toy.t1"]["best_val"]


def test_mt_lora_uses_the_pool_split(tmp_path):
    toy_store(tmp_path / "store", n_tasks=3)
    model, wrapped = tiny_causal_lm()
    cfg = _cfg(tmp_path, heldout_tasks=["toy.t2"], steps=10)
    res = run_mt_lora(cfg, HCFG, tiny_spec(), model, wrapped, char_formatter, pad_id=0, log=lambda s: None)
    assert res["step"] == 10 and np.isfinite(res["best_val"])
    info = json.loads((tmp_path / "run" / "best" / "info.json").read_text())
    assert info["kind"] == "mt-lora" and info["n_train_tasks"] == 2 and info["n_val_tasks"] == 1


def test_a_held_out_task_the_pool_lacks_is_refused(tmp_path):
    from t2l_edge.core.errors import T2LError
    from t2l_edge.data.store import TaskStore
    from t2l_edge.train.tasks import split_ids

    toy_store(tmp_path / "store", n_tasks=3)
    cfg = _cfg(tmp_path, heldout_tasks=["toy.t2", "[toy.t3"])  # a bracket left by a YAML-style --set
    with pytest.raises(T2LError, match="does not have"):
        split_ids(cfg, TaskStore(cfg.store))


def test_length_matching_cuts_padding_and_keeps_the_plain_sampler_unchanged():
    from t2l_edge.data.schema import Example
    from t2l_edge.train.batches import TaskData, make_batch
    from tests.helpers.train_fixtures import char_formatter

    rng = np.random.default_rng(0)
    tasks = [TaskData(f"t{k}", [Example("q" * int(rng.integers(2, 40)), "a") for _ in range(30)], np.zeros((1, 4), np.float32))
             for k in range(8)]
    computed = {}
    for mode in (False, True):
        computed[mode] = sum(make_batch(tasks, char_formatter, s, 0, 6, 0, match_lengths=mode).input_ids.numel() for s in range(40))
    assert computed[True] < 0.9 * computed[False]  # 0.81 measured here
    a = make_batch(tasks, char_formatter, 3, 0, 6, 0)
    b = make_batch(tasks, char_formatter, 3, 0, 6, 0, match_lengths=False)
    assert torch.equal(a.input_ids, b.input_ids)


def test_a_task_stopped_by_until_is_resumed_not_skipped(tmp_path):
    toy_store(tmp_path / "store")
    model, wrapped = tiny_causal_lm()
    cfg = _cfg(tmp_path, tasks=["toy.t0"], steps=8)
    first = run_lora(cfg, HCFG, tiny_spec(), model, wrapped, char_formatter, pad_id=0, stop_at=3, log=lambda s: None)
    assert first["toy.t0"]["step"] == 3 and not (tmp_path / "run" / "toy.t0" / "done.json").exists()
    again = run_lora(cfg, HCFG, tiny_spec(), model, wrapped, char_formatter, pad_id=0, resume=True, log=lambda s: None)
    assert again["toy.t0"]["step"] == 8 and (tmp_path / "run" / "toy.t0" / "done.json").is_file()


def test_max_train_tasks_subsets_training_tasks_and_keeps_validation():
    from t2l_edge.train.config import SFTConfig
    from t2l_edge.train.tasks import split_ids

    class Store:
        def task_ids(self):
            return [f"t{i:02d}" for i in range(40)]

    all_ids, held = split_ids(SFTConfig(), Store())
    ids, held5 = split_ids(SFTConfig(max_train_tasks=5), Store())
    assert held5 == held and held <= set(ids) and len(set(ids) - held) == 5
    assert ids == [t for t in all_ids if t in set(ids)]  # order kept: batches stay reproducible
    assert split_ids(SFTConfig(max_train_tasks=5), Store()) == (ids, held5)  # seeded
    assert set(split_ids(SFTConfig(max_train_tasks=5, seed=1), Store())[0]) != set(ids)
