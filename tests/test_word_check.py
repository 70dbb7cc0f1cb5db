"""scripts/word_check.py's input choice: balanced between a variant's two gold words."""

from scripts.word_check import balanced, first_word
from t2l_edge.data.schema import Example


def _exs(golds: str) -> list[Example]:
    return [Example(f"input {i}", g, id=str(i)) for i, g in enumerate(golds)]


def test_balanced_alternates_the_two_answers_so_naming_one_word_scores_half():
    got = balanced(_exs("yyyyynyn"), 4)
    assert [ex.answer for ex in got] == ["y", "n", "y", "n"]
    assert [ex.prompt for ex in got][:2] == ["input 0", "input 5"]  # first of each, in order


def test_balanced_stops_at_the_rarer_answer_and_keeps_one_answer_families_whole():
    assert [ex.answer for ex in balanced(_exs("yyyyn"), 6)] == ["y", "n"]
    assert len(balanced(_exs("yyyy"), 3)) == 3


def test_first_word_ignores_punctuation_and_case():
    assert first_word("  Wealth. and more") == "wealth" and first_word("...") == ""
