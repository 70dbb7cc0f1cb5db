"""The steering check: its scorer (label and exact matching), its task list, and the script's
loop on a fake engine whose answers are known."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from t2l_edge.evaluation.steer import OTHER_OFFSET, SteerTask, match, normalise, other_task, tasks

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "steer_check.py"


def _script():
    spec = importlib.util.spec_from_file_location("steer_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_normalise_drops_case_punctuation_and_later_lines():
    assert normalise("  Paris!\nThe capital of France.") == "paris"
    assert normalise("“Great” movie...") == "great movie"
    assert normalise("HELLO, World", case_sensitive=True) == "HELLO World"


def test_label_matching():
    senti = SteerTask("s", "d", [], labels=("great", "awful"))
    assert match(senti, "Great.", "great") == {"exact": True, "lenient": True}
    assert match(senti, "It was great!", "great") == {"exact": False, "lenient": True}
    assert match(senti, "great or awful", "great")["lenient"] is False  # both labels: no answer
    assert match(senti, "greatly", "great")["lenient"] is False  # whole words only
    assert match(senti, "awful", "great") == {"exact": False, "lenient": False}


def test_exact_aliases_and_case_sensitive_tasks():
    city = SteerTask("c", "d", [], aliases={"United States": ("USA",)})
    assert match(city, "USA.", "United States")["exact"]
    assert match(city, "It is in the United States", "United States") == {"exact": False, "lenient": True}
    shout = SteerTask("u", "d", [], case_sensitive=True)
    assert match(shout, "DINNER IS READY.", "DINNER IS READY")["exact"]
    assert not match(shout, "dinner is ready", "DINNER IS READY")["lenient"]


def test_task_list_is_big_enough_and_lenders_differ():
    ts = tasks()
    assert len(ts) >= 10 and len({t.name for t in ts}) == len(ts)
    assert all(len(t.items) >= 20 for t in ts)
    assert all(other_task(ts, i) is not t for i, t in enumerate(ts)) and OTHER_OFFSET % len(ts)
    for t in ts:  # each gold matches itself, so a perfect model scores 100
        assert all(match(t, gold, gold)["exact"] for _, gold in t.items), t.name
    yes = sum(g == "yes" for _, g in next(t for t in ts if t.name == "yes_no").items)
    assert 0.3 < yes / 22 < 0.7  # both answers common


class Tagged:
    def __init__(self, text):
        self.text = text


class FakeGen:
    def __init__(self):
        self.guidance_seen = set()

    def make(self, text, guidance=1.0):
        self.guidance_seen.add(guidance)
        return Tagged(text)


class FakeEngine:
    """Answers right when the active adapter or the prompt carries the task's own description."""

    def __init__(self, task_list):
        self.active, self.tasks = None, task_list

    def use(self, adapter):
        self.active = adapter.text

    def clear(self):
        self.active = None

    def generate(self, prompt, max_tokens=16, temperature=0.0):
        inp = prompt.split("\n\n")[-1]
        for t in self.tasks:
            for i, gold in t.items:
                if i == inp and (self.active == t.description or prompt.startswith(t.description)):
                    return type("R", (), {"text": f"{gold}."})()
        return type("R", (), {"text": "I am not sure."})()


def test_run_and_markdown_on_a_fake_engine():
    mod = _script()
    ts = tasks()[:3]
    pairs = [(t, other_task(ts, i)) for i, t in enumerate(ts)]
    gen = FakeGen()
    res = mod.run(FakeEngine(ts), gen, pairs, limit=4, log=lambda s: None, guidance=2.0)
    assert gen.guidance_seen == {2.0}, "both adapters are made at the asked guidance"
    for name, r in res.items():
        c = r["conditions"]
        assert r["n"] == 4 and c["own"]["exact"] == c["prompt"]["exact"] == c["own+prompt"]["exact"] == 1.0
        assert c["base"]["lenient"] == c["other"]["lenient"] == 0.0
    md = mod.markdown(res, list(mod.CONDITIONS))
    assert md.splitlines()[0] == "| task | base | own | other | prompt | own+prompt |"
    assert "beats another task's description (lenient) on 3 of 3 tasks" in md
    assert "| **average** | 0 (0) | 100 (100) | 0 (0) | 100 (100) | 100 (100) |" in md


def test_unknown_task_is_a_one_line_error(capsys):
    assert _script().main(["--tasks", "nonsense"]) == 2
    assert "unknown task or condition: nonsense" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--help"])
def test_help_has_an_example(flag, capsys):
    with pytest.raises(SystemExit):
        _script().main([flag])
    assert "example:" in capsys.readouterr().out
