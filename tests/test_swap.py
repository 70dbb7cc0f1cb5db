"""Swap controls on generators with known behaviour, the statistics, and the held-out pool split.

A fake engine scores an item well only when the active adapter is "for" the item's task (or
for every task). A generator whose adapters follow the description must then show a positive
diagonal advantage and full top-1 retrieval; one that makes the same generic adapter from any
text must show exactly none, even though it beats the base.
"""

from __future__ import annotations

import numpy as np
import pytest

from t2l_edge.data.schema import Example
from t2l_edge.evaluation.swap import EMPTY, NEUTRAL, SwapTask, columns, random_strings, run_swap
from t2l_edge.evaluation.swap_report import render_swap
from t2l_edge.evaluation.swap_sets import HELDOUT_EVERY, heldout_pool_ids
from t2l_edge.evaluation.swap_stats import analyse

TASKS = ("alpha", "beta", "gamma")


class Tagged:
    def __init__(self, tag: str):
        self.tag = tag


class FakeEngine:
    """Text in, code points out. An item's task is the first word of its prompt; the right
    option (or gold answer) gets log-probability -1 per token under an adapter tagged with that
    task or with "*", and -4 otherwise, while the wrong option gets -2."""

    def __init__(self):
        self.active = None

    def use(self, adapter):
        self.active = adapter.tag

    def clear(self):
        self.active = None

    def tokenize(self, text, add_bos=True, special=False):
        return [ord(c) for c in text]

    def score_tokens(self, ctx, conts):
        prompt = "".join(map(chr, ctx)).split("Question: ", 1)[1]
        helped = self.active in ("*", prompt.split()[0])
        return [(-1.0 if helped else -4.0) * len(c) if "right" in "".join(map(chr, c)) or "gold" in "".join(map(chr, c))
                else -2.0 * len(c) for c in conts]


class FollowingGen:
    def make(self, text):
        return Tagged(next((t for t in TASKS if t in text), "none"))


class IgnoringGen:
    def make(self, text):
        return Tagged("*")


def _tasks(n_items: int = 6) -> list[SwapTask]:
    out = []
    for k, name in enumerate(TASKS):
        if k < 2:  # multiple choice: options of equal length, so acc_norm compares log-probs
            items = [Example(f"{name} q{i}", "right", ["wrong", "right"] if i % 2 else ["right", "wrong"], 1 if i % 2 else 0, f"{name}-{i}")
                     for i in range(n_items)]
        else:
            items = [Example(f"{name} q{i}", "gold", id=f"{name}-{i}") for i in range(n_items)]
        out.append(SwapTask(f"toy.{name}", items, [f"do the {name} task", f"{name}, please"]))
    return out


def test_columns_cover_own_other_random_empty_neutral_and_base():
    cols = columns(_tasks(), n_descriptions=2, n_random=3)
    names = [c.name for c in cols]
    assert names == ["task:toy.alpha", "task:toy.beta", "task:toy.gamma", "random:0", "random:1", "random:2", "empty", "neutral", "base"]
    assert cols[0].texts == ["do the alpha task", "alpha, please"] and cols[-1].texts == []
    assert cols[names.index("empty")].texts == [EMPTY] and cols[names.index("neutral")].texts == [NEUTRAL]
    assert random_strings(3) == random_strings(3) and len(set(random_strings(3))) == 3  # fixed and distinct


def test_a_description_following_generator_shows_a_positive_diagonal_advantage():
    run = run_swap(FakeEngine(), FollowingGen(), _tasks(), n_descriptions=2)
    res = analyse(run, n_boot=300)
    s = res["summary"]
    assert s["acc_norm"]["tasks"] == 2 and s["loglik"]["tasks"] == 1
    assert s["acc_norm"]["diagonal_advantage"]["diff"] == pytest.approx(1.0)  # own always right, swaps always wrong
    assert s["acc_norm"]["diagonal_advantage"]["ci95"][0] > 0
    assert s["loglik"]["diagonal_advantage"]["diff"] == pytest.approx(3.0)  # -1 vs -4 nats per token
    assert s["acc_norm"]["own_minus_random"]["diff"] == pytest.approx(1.0)
    assert s["top1_task"]["share"] == 1.0 and s["top1_all"]["share"] == 1.0 and s["top1_task"]["chance"] == pytest.approx(1 / 3)
    assert res["matrix"]["toy.alpha"]["task:toy.alpha"] == 1.0 and res["matrix"]["toy.alpha"]["task:toy.beta"] == 0.0
    opt = analyse({"columns": run["columns"], "tasks": run["tasks_option_logp"]}, n_boot=300)["summary"]
    assert list(run["tasks_option_logp"]) == ["toy.alpha", "toy.beta"] and opt["option_logp"]["tasks"] == 2
    assert opt["option_logp"]["diagonal_advantage"]["diff"] > 0 and "acc_norm" not in opt
    # the prompt rows: the fake ignores the prompt text, so they equal the adapter alone / the base
    assert s["acc_norm"]["prompt_own_minus_own"]["diff"] == 0.0
    assert res["per_task"]["toy.alpha"]["prompt-base"] == res["per_task"]["toy.alpha"]["base"]


def test_a_generator_that_ignores_the_description_shows_none():
    run = run_swap(FakeEngine(), IgnoringGen(), _tasks(), n_descriptions=2)
    s = analyse(run, n_boot=300)["summary"]
    for metric in ("acc_norm", "loglik"):
        assert s[metric]["diagonal_advantage"]["diff"] == 0.0 and s[metric]["diagonal_advantage"]["ci95"] == [0.0, 0.0]
        assert s[metric]["own_minus_random"]["diff"] == 0.0
        assert s[metric]["own_minus_base"]["diff"] > 0  # it helps, just not because of the description
    assert s["top1_task"]["share"] == pytest.approx(1 / 3)  # a three-way tie in every row: chance
    opt = analyse({"columns": run["columns"], "tasks": run["tasks_option_logp"]}, n_boot=300)["summary"]["option_logp"]
    assert opt["diagonal_advantage"]["diff"] == 0.0 and opt["own_minus_base"]["diff"] > 0


def test_paired_interval_is_tighter_than_the_cells_and_brackets_the_difference():
    rng = np.random.default_rng(0)
    base = rng.normal(-2, 1, 40)  # hard and easy items shared by both columns
    run = {"columns": ["task:a", "task:b", "base"],
           "tasks": {"a": {"metric": "loglik", "scores": {"task:a": list(base + 0.3), "task:b": list(base + rng.normal(0, 0.05, 40)),
                                                          "base": list(base)}},
                     "b": {"metric": "loglik", "scores": {"task:a": list(base), "task:b": list(base + 0.3), "base": list(base)}}}}
    adv = analyse(run, n_boot=500)["summary"]["loglik"]["diagonal_advantage"]
    assert adv["ci95"][0] < adv["diff"] < adv["ci95"][1] and adv["ci95"][0] > 0.2  # item noise (sd 1) cancels


def test_markdown_names_every_contrast_and_bolds_the_diagonal():
    run = run_swap(FakeEngine(), FollowingGen(), _tasks(4), n_descriptions=1)
    result = {"kind": "swap", "set": "toy", "label": "toy", "config": {"limit": 4, "seed": 0, "descriptions": 1, "bundle": "x"},
              **run, **analyse(run, n_boot=100)}
    text = render_swap(result)
    assert "diagonal advantage" in text and "top-1 retrieval" in text and "own - random strings" in text
    assert "| alpha (acc) | **100.0** | 0.0 |" in text
    assert "| gamma (ll) | -4.000 | -4.000 | **-1.000** |" in text


def test_heldout_pool_split_matches_the_trainers(tmp_path):
    pytest.importorskip("torch")
    from t2l_edge.data.store import TaskStore, write_store
    from t2l_edge.train.config import SFTConfig
    from t2l_edge.train.tasks import HELDOUT_EVERY as TRAIN_EVERY
    from t2l_edge.train.tasks import split_ids

    tasks = [{"id": f"toy.t{k:02d}", "source": "toy", "family": "toy", "license": "none", "format": "gen", "seed_text": "",
              "examples": [Example(f"q {i}", "a") for i in range(20)]} for k in range(50)]
    store = TaskStore(write_store(tmp_path / "s", tasks, {"inputs_key": "toy"}, {}))
    assert HELDOUT_EVERY == TRAIN_EVERY
    assert set(heldout_pool_ids(store.task_ids())) == split_ids(SFTConfig(), store)[1]


def test_a_partial_pool_has_no_validation_set(tmp_path):
    """Every 23rd id of a partial store is not one of the pool's validation tasks, so `--set
    pool` refuses it instead of scoring tasks the generator trained on."""
    from t2l_edge.core.errors import T2LError
    from t2l_edge.data.store import write_store
    from t2l_edge.evaluation.swap_sets import load_set

    tasks = [{"id": f"toy.t{k:02d}", "source": "toy", "family": "toy", "license": "none", "format": "gen", "seed_text": "",
              "examples": [Example(f"q {i}", "a") for i in range(20)]} for k in range(30)]
    path = write_store(tmp_path / "s", tasks, {"inputs_key": "toy", "without": ["bigbench"]}, {})
    with pytest.raises(T2LError, match="partial pool"):
        load_set("pool", store=path)


def test_guided_columns_use_the_guided_adapters():
    """`run_swap(..., guidance=g)` asks the generator for guided adapters; 1 leaves the call as it was."""
    asked = []

    class Recording(FollowingGen):
        def make(self, text, guidance=None):
            asked.append(guidance)
            return super().make(text)

    run_swap(FakeEngine(), Recording(), _tasks(2), n_descriptions=1, prompt_rows=False, guidance=2.0)
    assert asked and set(asked) == {2.0}
    asked.clear()
    run_swap(FakeEngine(), Recording(), _tasks(2), n_descriptions=1, prompt_rows=False)
    assert set(asked) == {None}


def test_heatmap_renders_a_mixed_metric_matrix(tmp_path):
    pytest.importorskip("matplotlib")
    from t2l_edge.analysis.plots import swap_heatmap

    run = run_swap(FakeEngine(), FollowingGen(), _tasks(4), n_descriptions=1)
    result = {"kind": "swap", "set": "toy", **run, **analyse(run, n_boot=50)}
    assert swap_heatmap(result, tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_short_names_drop_source_prefixes():
    from t2l_edge.evaluation.swap_report import short

    assert short("ni.subtask046_miscellaenous_question_typing") == "miscellaenous_questio~"
    assert short("bench.arc_easy") == "arc_easy" and short("mmlu.anatomy") == "anatomy"
