"""`t2l-edge specificity` end to end on a tiny llama and a tiny bundle built in code (the task
set replaced by three handmade tasks), then `report` and `plot` on its result file."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("matplotlib")

from t2l_edge.core.basemodel import read_base_spec  # noqa: E402
from t2l_edge.cli import main  # noqa: E402
from t2l_edge.data.schema import Example  # noqa: E402
from t2l_edge.evaluation import swap_sets  # noqa: E402
from t2l_edge.evaluation.swap import SwapTask  # noqa: E402
from tests.helpers.tiny_models import tiny_bundle  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_base, tiny_encoder_export):
    d = tmp_path_factory.mktemp("swap")
    base = tiny_base
    bundle = tiny_bundle(d / "bundle", "M", encoder=tiny_encoder_export, spec=read_base_spec(base), perturb=0.5)[0]
    return {"base": base, "bundle": bundle, "dir": d}


def _toy_set(name, tasks=None, limit=None, seed=0, store=None):
    yes_no = [Example(f"is {i} the answer", ["no", "yes"][i % 2], ["no", "yes"], i % 2, f"yn-{i}") for i in range(3)]
    pick = [Example(f"pick one {i}", "cat", ["dog", "cat", "bird"], 1, f"pick-{i}") for i in range(3)]
    gen = [Example(f"say {i}", f"{i} {i}", id=f"say-{i}") for i in range(3)]
    return [SwapTask("toy.yes_no", yes_no, ["answer yes or no"]), SwapTask("toy.pick", pick, ["pick correct option"]),
            SwapTask("toy.say", gen, ["write the text"])]


def test_specificity_report_and_plot(world, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(swap_sets, "load_set", _toy_set)
    out, png = tmp_path / "swap-toy.json", tmp_path / "heat.png"
    assert main(["specificity", "--set", "bench", "--bundle", str(world["bundle"]), "--base", str(world["base"]),
                 "--threads", "1", "--random", "3", "--out", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "diagonal advantage" in text and "top-1 retrieval" in text
    res = json.loads(out.read_text())
    assert res["kind"] == "swap" and list(res["matrix"]) == ["toy.yes_no", "toy.pick", "toy.say"]
    assert res["columns"] == ["task:toy.yes_no", "task:toy.pick", "task:toy.say", "random:0", "random:1", "random:2",
                              "empty", "neutral", "base"]
    for tid, row in res["tasks"].items():
        assert all(len(v) == 3 for v in row["scores"].values()) and len(row["prompt-base"]) == len(row["prompt-own"]) == 3
    ll = res["per_task"]["toy.say"]
    assert ll["metric"] == "loglik" and ll["own"] < 0  # a log-probability
    assert res["per_task"]["toy.pick"]["metric"] == "acc_norm" and 0 <= res["per_task"]["toy.pick"]["own"] <= 1
    # the tiny generator's adapters do change the model: an adapted column differs from the base
    say = res["matrix"]["toy.say"]
    assert any(abs(say[c] - say["base"]) > 1e-6 for c in res["columns"] if c != "base")
    assert png.read_bytes()[:8] == PNG
    # an existing heat-map is never replaced silently, and the refusal comes before any scoring
    again = ["specificity", "--set", "bench", "--bundle", str(world["bundle"]), "--base", str(world["base"]),
             "--out", str(tmp_path / "again.json")]
    assert main(again + ["--plot", str(png)]) == 2 and "exists" in capsys.readouterr().err
    (tmp_path / "again.png").write_bytes(b"mine")  # the default heat-map goes beside --out
    assert main(again) == 2 and (tmp_path / "again.png").read_bytes() == b"mine"
    assert not (tmp_path / "again.json").exists()
    capsys.readouterr()
    cost = res["prompt_cost"]["toy.say"]  # the description as a prompt: tokens and FLOPs per query
    assert cost["description_tokens"] >= 3 and cost["extra_flops_per_query"] > 0
    assert set(res["option_logp"]["per_task"]) == {"toy.yes_no", "toy.pick"}  # the continuous view: multiple choice only
    assert all(v <= 0 for v in res["option_logp"]["matrix"]["toy.pick"].values())  # log-probabilities

    assert main(["report", str(out)]) == 0
    md = capsys.readouterr().out
    assert "swap-toy" in md and "| yes_no (acc) |" in md and "| say (ll) |" in md and "log P(gold | options)" in md and "GFLOP per query" in md
    assert main(["plot", "--swap", str(out), "--skip-bundle", "--out", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "swap-toy.png").read_bytes()[:8] == PNG
    assert main(["report", str(out), "--vs", str(out)]) == 2  # a swap file is no reference row
    assert "swap file" in capsys.readouterr().err


def test_unknown_set_is_a_one_line_error(capsys):
    assert main(["specificity", "--set", "nonsense", "--no-plot"]) == 2
    assert "choose from bench, pool, unseen" in capsys.readouterr().err
