"""scripts/word_check.py's input choice: balanced between a variant's two gold words."""

import numpy as np

from scripts.word_check import balanced
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


def test_mean_ci_brackets_the_mean():
    from scripts.word_check import mean_ci

    got = mean_ci([1.0, 2.0, 3.0, 2.0])
    assert got["mean"] == 2.0 and got["ci95"][0] < 2.0 < got["ci95"][1]


def test_margin_is_the_log_probability_difference_of_the_two_words(tiny_base):
    from scripts.word_check import margin
    from t2l_edge.engine import Engine

    with Engine(tiny_base, n_ctx=128, kv_type="f32", n_threads=1) as e:
        ab, ba = margin(e, "The text.", "a", "b"), margin(e, "The text.", "b", "a")
        context = e.prompt_tokens(e.format_chat("The text."), chat=True)
        lp_a, lp_b = e.score_tokens(context, [e.tokenize("a", add_bos=False), e.tokenize("b", add_bos=False)])
    assert np.isfinite(ab) and abs(ab + ba) < 1e-4 and abs(ab - (lp_a - lp_b)) < 1e-4


def test_the_default_wordings_are_those_training_holds_out():
    from scripts.word_check import HELD_WORDINGS
    from t2l_edge.data.descriptions import HELDOUT_PER_TASK
    from t2l_edge.data.synthetic import RULE_WORDS_FEW

    v = RULE_WORDS_FEW.variants[0]
    assert [v.descriptions[w] for w in HELD_WORDINGS] == v.descriptions[-HELDOUT_PER_TASK:]


def test_match_keeps_one_rules_variants_of_those_checked():
    from scripts.word_check import matching_variants, seen_variants
    from t2l_edge.data.synthetic import RULE_WORDS_FEW

    held = matching_variants(RULE_WORDS_FEW, "digit_*").val_variants
    assert held and all(v.name.startswith("digit_") for v in held)
    assert len(held) == len(RULE_WORDS_FEW.val_variants) // 2  # both rules over the same held-out pairs
    seen = matching_variants(seen_variants(RULE_WORDS_FEW, 4, pattern="comma_*"), "comma_*").val_variants
    # the first 4 comma variants, not the comma ones among the first 4 of all
    assert [v.name for v in seen] == [v.name for v in RULE_WORDS_FEW.variants if v.name.startswith("comma_")][:4]


def test_disagree_keeps_the_inputs_where_the_digit_and_comma_rules_answer_differently():
    from scripts.word_check import rules_disagree

    def ex(text):
        return Example(text, "y", id="0")

    assert rules_disagree(ex("It cost 5 dollars.")) and rules_disagree(ex("Well, it rained."))
    assert not rules_disagree(ex("It rained.")) and not rules_disagree(ex("In 2004, it rained."))


def test_rule_matrix_credits_the_rule_that_moves_the_answer_apart_from_rules_and_length_that_go_with_it():
    from scripts.rule_matrix import partial_effects, pick_inputs, separations

    rng = np.random.default_rng(0)
    comma = rng.random(60) < 0.4
    digit = comma & (rng.random(60) < 0.8) | (rng.random(60) < 0.1)  # digits mostly come with commas
    lengths = np.where(comma, 25.0, 12.0) + rng.integers(0, 5, 60)
    prefs = 2.0 * comma + rng.normal(0, 0.3, 60)  # an adapter that follows the comma rule
    truth = {"digit": digit, "comma": comma}
    assert separations(prefs, truth)["digit"] > 1  # the plain separation credits digits too
    effects = partial_effects(prefs, truth, lengths)
    assert abs(effects["comma"] - 2) < 0.5 and abs(effects["digit"]) < 0.5

    def ex(text):
        return Example(text, "y", id=text)

    rules = {"digit": lambda t: any(c.isdigit() for c in t), "comma": lambda t: "," in t}
    pool = [ex("a, b"), ex("c, d"), ex("e, f"), ex("in 1, x"), ex("2 cats"), ex("plain"), ex("also plain")]
    chosen = pick_inputs(pool, rules, total=6, per_rule=2)
    assert sum(rules["digit"](e.prompt) for e in chosen) >= 2 and sum(rules["comma"](e.prompt) for e in chosen) >= 2
    assert ex("plain") in chosen and len(chosen) == len(set(e.prompt for e in chosen)) <= 6


def test_centred_rule_embeddings_are_alike_only_for_rules_the_embedding_confuses():
    from scripts.rule_embeddings import centred_cosines

    rng = np.random.default_rng(1)
    shared, a, b = rng.normal(size=(3, 16))
    by_rule = {"x": shared + a + rng.normal(0, 0.01, (4, 16)), "y": shared + a + rng.normal(0, 0.01, (4, 16)),
               "z": shared + b + rng.normal(0, 0.01, (4, 16))}
    cos = centred_cosines(by_rule)
    assert cos["x"]["y"] > 0.9 and cos["x"]["z"] < 0 and cos["z"]["z"] == 1.0


def test_the_word_rule_check_credits_an_adapter_that_moves_with_its_own_word():
    from scripts.word_rule_check import adapter_row, summarise, word_separations

    truth = {"apple": np.array([1, 1, 0, 0, 1, 0], bool), "river": np.array([0, 1, 1, 0, 0, 1], bool),
             "rare": np.array([1, 0, 0, 0, 0, 0], bool)}  # listed once: no separation
    prefs = np.where(truth["apple"], 2.0, -1.0)
    by_word = word_separations(prefs, truth)
    assert set(by_word) == {"apple", "river"} and by_word["apple"] == 3.0
    row = adapter_row(by_word, "apple")
    assert row["follows"] and row["own"] - row["others"] > 2.5
    assert not adapter_row(by_word, "river")["follows"]
    s = summarise([row, row])
    assert s["adapters"] == 2 and s["follows"] == 1.0 and s["own"]["mean"] == 3.0


def test_the_probes_auc_counts_ties_as_half():
    from scripts.object_row_probe import auc

    assert auc(np.array([0.1, 0.2, 0.9]), np.array([False, False, True])) == 1.0
    assert auc(np.array([1.0, 1.0, 1.0, 1.0]), np.array([True, False, True, False])) == 0.5
    assert auc(np.array([0.9, 0.1]), np.array([False, True])) == 0.0
