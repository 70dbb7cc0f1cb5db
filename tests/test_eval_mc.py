"""Scoring rules on handmade items with a fake engine whose log-probabilities are known."""

import numpy as np

from t2l_edge.data.schema import Example
from t2l_edge.evaluation.mc import ItemScore, bootstrap_ci, score_item, summarize


class FakeEngine:
    """log p(continuation) = -(number of characters) unless the text contains 'right'."""

    def tokenize(self, text, add_bos=True, special=False):
        return [ord(c) for c in text]

    def format_chat(self, prompt, history=()):
        turns = "".join(f"<user>{u}</user><assistant>{a}</assistant>" for u, a in history)
        return f"{turns}<user>{prompt}</user><assistant>"

    def score_tokens(self, ctx, conts):
        return [0.0 if "right" in "".join(map(chr, c)) else -float(len(c)) for c in conts]


def test_acc_and_length_normalisation():
    s = ItemScore("x", gold=1, logprobs=[-2.0, -3.0], lengths=[2, 30])
    assert s.pred == 0 and s.pred_norm == 1  # per character the long option wins
    out = summarize([s, ItemScore("y", 0, [-1.0, -5.0], [5, 5])])
    assert out["acc"] == 0.5 and out["acc_norm"] == 1.0
    assert out["gold"] == [1, 0] and out["pred_norm"] == [1, 0]


def test_score_item_plain_and_chat():
    ex = Example("Which?", "the right one", ["wrong", "the right one"], 1, "q1")
    for style in ("plain", "chat"):
        assert score_item(FakeEngine(), "arc_easy", ex, style).pred == 1


def test_letter_style_scores_the_letter_of_the_listed_option():
    class LetterEngine(FakeEngine):
        def score_tokens(self, ctx, conts):  # the letter whose listed option says "right" wins
            text = "".join(map(chr, ctx))
            good = next(line[0] for line in text.splitlines() if "right" in line and line[1:3] == ". ")
            return [0.0 if "".join(map(chr, c)).strip() == good else -1.0 for c in conts]

    ex = Example("Which?", "the right one", ["wrong", "also wrong", "the right one"], 2, "q2")
    s = score_item(LetterEngine(), "arc_easy", ex, "letter")
    assert s.pred == 2 and s.pred_norm == 2 and s.lengths == [1, 1, 1]


def test_winogrande_partial_scoring_scores_the_same_text():
    ex = Example("The cup fell because _ was slippery.", "it", ["it", "he"], 0, "w1")
    s = score_item(FakeEngine(), "winogrande", ex)
    assert s.logprobs[0] == s.logprobs[1]  # same scored continuation for both options
    assert s.lengths == [len(" was slippery.")] * 2


def test_bootstrap_ci_brackets_the_mean():
    correct = np.array([1.0] * 60 + [0.0] * 40)
    lo, hi = bootstrap_ci(correct)
    assert lo < 0.6 < hi and hi - lo < 0.25


def test_report_table():
    from t2l_edge.commands.report import render

    rows = [{"label": "base", "row": "base", "style": "plain", "limit": 50,
             "benchmarks": {"piqa": {"acc_norm": 0.6, "acc_norm_spread": [0.6, 0.6]},
                            "arc_easy": {"acc_norm": 0.4, "acc_norm_spread": [0.4, 0.4]}}},
            {"label": "t2l", "row": "t2l", "style": "chat", "limit": 50,
             "benchmarks": {"piqa": {"acc_norm": 0.7, "acc_norm_spread": [0.65, 0.75]}}}]
    text = render(rows, ["arc_easy", "piqa"])
    lines = text.splitlines()
    assert lines[0] == "| row | style | arc_easy | piqa | AVG |"
    assert lines[2] == "| base | plain | 40.0 | 60.0 | 50.0 |"
    assert lines[4:6] == ["| row | style | piqa | AVG |", "|---|---|---|---|"]  # another style: its own table
    assert lines[6] == "| t2l | chat | 70.0 (65.0-75.0) | 70.0 |"


class ContextEngine(FakeEngine):
    """Records every scored context as text."""

    def __init__(self):
        self.contexts = []

    def score_tokens(self, ctx, conts):
        self.contexts.append("".join(map(chr, ctx)))
        return super().score_tokens(ctx, conts)


def test_shots_come_before_the_question_in_every_style():
    shot = Example("Sky colour?", "blue", ["blue", "red"], 0, "s1")
    ex = Example("Which?", "the right one", ["wrong", "the right one"], 1, "q1")
    for style, solved in (("plain", "Question: Sky colour?\nAnswer: blue\n\n"),
                          ("letter", "Question: Sky colour?\nA. blue\nB. red\nAnswer: A\n\n"),
                          ("chat", "<user>Sky colour?\nOptions: blue | red</user><assistant>blue</assistant>")):
        eng = ContextEngine()
        score_item(eng, "arc_easy", ex, style, shots=[shot])
        ctx = eng.contexts[0]
        assert ctx.index(solved) < ctx.index("Which?"), (style, ctx)
    eng = ContextEngine()  # winogrande: the shot is the sentence with its blank filled
    w = Example("The cup fell because _ was slippery.", "it", ["it", "he"], 0, "w1")
    score_item(eng, "winogrande", w, "plain", shots=[Example("Tom ran since _ was late.", "he", ["he", "it"], 0, "w0")])
    assert eng.contexts[0].startswith("Tom ran since he was late.\n\nThe cup fell because it")


def test_plain_training_shape_is_what_the_plain_style_scores():
    """`train --set prompt_style=plain` must put the answer exactly where `eval --style plain`
    scores the option: same context string, answer after one space, no end token."""
    from t2l_edge.train.prompts import PlainFormatter

    class CharTokenizer:
        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [ord(c) for c in text]}

    seen = {}

    class Recorder(FakeEngine):
        def score_tokens(self, ctx, conts):
            seen["ctx"], seen["conts"] = ctx, conts
            return super().score_tokens(ctx, conts)

    ex = Example("Which is a mammal?", "whale", ["shark", "whale"], 1, "q3")
    score_item(Recorder(), "arc_easy", ex, "plain")
    ids, n_prompt = PlainFormatter(CharTokenizer(), max_len=200)(ex)
    assert ids[:n_prompt] == seen["ctx"] and ids[n_prompt:] == seen["conts"][1]
    assert PlainFormatter(CharTokenizer(), max_len=10)(ex) is None  # too long: skipped, as in chat


def test_unknown_prompt_style_is_refused_before_training():
    import pytest

    from t2l_edge.core.errors import T2LError
    from t2l_edge.train.config import PROMPT_STYLES, SFTConfig, resolve
    from t2l_edge.train.prompts import FORMATTERS

    assert set(FORMATTERS) == set(PROMPT_STYLES)
    assert resolve(SFTConfig, None, ["prompt_style=plain"]).prompt_style == "plain"
    with pytest.raises(T2LError, match="prompt_style 'cloze'"):
        resolve(SFTConfig, None, ["prompt_style=cloze"])


def _result(style, preds_by_bench, label):
    golds = [0] * 40
    return {"label": label, "row": label, "style": style, "limit": 40, "benchmarks": {
        b: {"acc_norm": float(np.mean([p == 0 for p in preds])), "acc_norm_spread": [0, 0],
            "per_description": [{"gold": golds, "pred_norm": preds}]} for b, preds in preds_by_bench.items()}}


def test_paired_difference_and_its_report_column():
    from t2l_edge.commands.report import render
    from t2l_edge.evaluation.paired import paired_difference

    ref = _result("letter", {"piqa": [0] * 20 + [1] * 20, "boolq": [1] * 40}, "base")  # 50% and 0%
    same = _result("letter", {"piqa": [0] * 20 + [1] * 20, "boolq": [1] * 40}, "same")
    better = _result("letter", {"piqa": [0] * 40, "boolq": [0] * 10 + [1] * 30}, "better")  # +50 and +25 points
    assert paired_difference(same, ref) == {"diff": 0.0, "ci95": [0.0, 0.0], "benchmarks": 2}
    d = paired_difference(better, ref)
    assert abs(d["diff"] - 0.375) < 1e-9 and d["ci95"][0] < 0.375 < d["ci95"][1] and d["ci95"][0] > 0.2
    other_items = _result("letter", {"piqa": [0] * 40}, "x")
    other_items["benchmarks"]["piqa"]["per_description"][0]["gold"] = [1] * 40
    assert paired_difference(other_items, ref) is None  # different items are never compared
    text = render([ref, better], ["boolq", "piqa"], refs=[ref])
    assert "AVG - base (paired 95% CI)" in text.splitlines()[0]
    assert text.splitlines()[2].endswith("(reference) |") and "+37.5 (" in text.splitlines()[3]


def test_mixed_training_shape_is_one_of_the_two_and_fixed_per_example():
    """`prompt_style=mixed` gives each example the chat or the plain shape, about half each, and
    always the same one for the same example (resume replays identical batches)."""
    from t2l_edge.train.prompts import ChatFormatter, MixedFormatter, PlainFormatter

    class CharTokenizer:
        eos_token = "$"

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [ord(c) for c in text]}

        def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=False):
            return "<user>" + messages[0]["content"] + "<assistant>"

    tok = CharTokenizer()
    chat, plain, mixed = ChatFormatter(tok, 400), PlainFormatter(tok, 400), MixedFormatter(tok, 400)
    shapes = []
    for i in range(40):
        ex = Example(f"Question {i}?", "yes", ["yes", "no"], 0, f"t-{i}")
        got = mixed(ex)
        assert got == mixed(ex)
        assert got in (chat(ex), plain(ex))
        shapes.append(got == chat(ex))
    assert 10 <= sum(shapes) <= 30
