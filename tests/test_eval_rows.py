"""The rows of the results table: what each one changes, and its errors before any work."""

from pathlib import Path

import pytest

from t2l_edge.data.benchmarks import BENCHMARKS, MC
from t2l_edge.core.errors import T2LError
from t2l_edge.evaluation.rows import heldout, other_benchmark, random_description, variants


def test_random_description_is_seeded_nonsense_of_the_same_length():
    like = "Answer grade-school science questions by picking the correct option."
    a, b = random_description(like, 0), random_description(like, 0)
    assert a == b and len(a) == len(like) and a != random_description(like, 1)
    assert all(w.isalpha() and w.islower() for w in a.split())


def test_control_other_lends_descriptions_from_a_different_benchmark():
    lenders = [other_benchmark(b) for b in BENCHMARKS]
    assert all(lender != b for lender, b in zip(lenders, BENCHMARKS))
    assert sorted(lenders) == sorted(BENCHMARKS)  # a rotation: every benchmark lends once
    vs = variants("control-other", "arc_easy", 2, 0)
    assert [v.generate_from for v in vs] == heldout(other_benchmark("arc_easy"))[:2]


def test_oracle_other_scores_the_lender_benchmarks_lora(tmp_path: Path):
    for b in BENCHMARKS:
        (tmp_path / f"bench.{b}" / "best").mkdir(parents=True)
        (tmp_path / f"bench.{b}" / "best" / "adapter.gguf").write_bytes(b"GGUF")
    [own] = variants("oracle", "piqa", 2, 0, adapter_dir=tmp_path)
    [other] = variants("oracle-other", "piqa", 2, 0, adapter_dir=tmp_path)
    assert own.adapter.parent.parent.name == "bench.piqa"
    assert other.adapter.parent.parent.name == "bench.arc_challenge"  # as control-other pairs them
    lenders = {b: variants("oracle-other", b, 2, 0, adapter_dir=tmp_path)[0].adapter.parent.parent.name for b in MC}
    assert sorted(lenders.values()) == sorted(f"bench.{b}" for b in MC)  # a rotation among the MC benchmarks
    assert all(lenders[b] != f"bench.{b}" for b in MC)
    assert all(lenders[b] == f"bench.{other_benchmark(b)}" for b in MC if other_benchmark(b) in MC)


def test_t2l_and_desc_rows_use_the_heldout_descriptions():
    assert [v.generate_from for v in variants("t2l", "piqa", 2, 0)] == heldout("piqa")[:2]
    assert [v.in_prompt for v in variants("desc-in-prompt", "piqa", 2, 0)] == heldout("piqa")[:2]
    assert all(v.adapter is None and not v.shots for v in variants("base", "piqa", 2, 0))


def test_row_errors_say_what_to_do(tmp_path: Path):
    for call, needle in ((lambda: variants("oracle", "piqa", 2, 0, adapter_dir=tmp_path), "t2l-edge train lora"),
                         (lambda: variants("icl", "gsm8k", 2, 0), "multiple-choice"),
                         (lambda: variants("nonsense", "piqa", 2, 0), "choose from")):
        with pytest.raises(T2LError) as exc:
            call()
        assert needle in exc.value.one_line()
    assert "arc_easy" in MC
