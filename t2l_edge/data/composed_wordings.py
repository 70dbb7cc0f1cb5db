"""Wordings of the digit rule composed from parts: thousands of distinct sentences, not thirty.

A word-piece reader trained on rule_words_worded's 30 fixed wordings read the roles of unseen
words in them (0.98) but read two held-out wordings at chance: it learned thirty templates, not
how a sentence ties a word to a condition (docs/specificity.md, "Where role reading fails").
Here each variant draws its wordings from a small grammar: a frame (the sentence's structure and
which word it names first) filled with condition clauses, class labels, verbs and an optional
opening and closing. The two held-out wordings use clauses, labels, verbs and openings that no
trained wording uses: the first in a trained frame, the second in a frame no trained wording has.

Frames name the digit word first or the no-digit word first about equally often, and either
word may sit next to either condition's polarity ("Y unless no digit ...", "N unless a digit
..."), so neither word order nor the nearest clause gives the role away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .descriptions import HELDOUT_PER_TASK

TRAINED_PER_VARIANT = 30  # as rule_words_worded, so runs on either see as many wordings per variant


@dataclass(frozen=True)
class Parts:
    """One side of the split: everything a frame is filled with."""
    has: tuple[str, ...]  # clauses true when the sentence has a digit
    lacks: tuple[str, ...]  # clauses true when it has none
    labels: tuple[tuple[str, str], ...]  # (short name of the digit class, of the other)
    verbs: tuple[str, ...]
    openings: tuple[str, ...]
    closings: tuple[str, ...]


def _parts(subjects, has_verbs, lacks_verbs, objects, label_forms, verbs, openings, closings) -> Parts:
    """Clauses and labels composed from smaller parts. An object is (one, several): "a digit",
    "digits"; has_verbs take the one ("contains a digit"), lacks_verbs the several ("lacks digits")."""
    has = tuple(f"{s} {v} {one}" for s in subjects for v in has_verbs for one, _ in objects)
    lacks = tuple(f"{s} {v} {many}" for s in subjects for v in lacks_verbs for _, many in objects)
    labels = tuple((yes.format(one=one, many=many), no.format(one=one, many=many))
                   for yes, no in label_forms for one, many in objects)
    return Parts(has, lacks, labels, tuple(verbs), tuple(openings), tuple(closings))


# Trained and held-out parts share no subject, verb, object, label form, opening or closing, so a
# held-out clause is new in every word that says what the condition is.
TRAINED_PARTS = _parts(
    subjects=("the sentence", "the text", "it", "the input", "the line"),
    has_verbs=("contains", "has", "includes", "shows", "mentions"),
    lacks_verbs=("contains no", "has no", "does not include any", "is free of", "lacks"),
    objects=(("a digit", "digits"), ("a numeral", "numerals"), ("a number written in digits", "numbers written in digits"),
             ("a figure like 5", "figures like 5"), ("at least one digit", "digits at all")),
    label_forms=(("{many}", "no {many}"), ("with {many}", "without {many}"), ("has {one}", "has no {many}")),
    verbs=("answer", "reply", "say", "write", "output", "respond with", "return"),
    openings=("", "", "", "Task: ", "Read the sentence. ", "Look at the text. ", "Check each sentence. ",
              "You sort sentences by whether they quote numbers. ", "Classify the input. "),
    closings=("", "", "", " One word only.", " Answer with the word alone.", " Nothing else.", " Be brief."),
)

HELDOUT_PARTS = _parts(
    subjects=("this passage", "the given string"),
    has_verbs=("carries", "features"),
    lacks_verbs=("carries no", "is without"),
    objects=(("a character from 0 to 9", "characters from 0 to 9"), ("a quantity in figures", "quantities in figures")),
    label_forms=(("{many} present", "{many} absent"),),
    verbs=("give", "print"),
    openings=("Instructions: ", "Here is a sentence. "),
    closings=(" No explanation.", " Keep it short."),
)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# Frames: (fill dict -> sentence). Keys: y, n (the words), p (a has-clause), q (a lacks-clause),
# lp, ln (the labels), v (a verb). Each frame names y first or n first, as its comment says.
TRAINED_FRAMES = (
    lambda f: f"If {f['p']}, {f['v']} {f['y']}; otherwise {f['v']} {f['n']}.",  # y first
    lambda f: f"{_cap(f['v'])} {f['y']} if {f['p']} and {f['n']} if {f['q']}.",  # y first
    lambda f: f"{f['y']} when {f['p']}, {f['n']} when {f['q']}.",  # y first
    lambda f: f"{f['lp']}: {f['y']} / {f['ln']}: {f['n']}",  # y first
    lambda f: f"{f['y']} = {f['lp']}, {f['n']} = {f['ln']}",  # y first
    lambda f: f"Use the word {f['y']} when {f['p']} and {f['n']} otherwise.",  # y first
    lambda f: f"{_cap(f['v'])} {f['y']} or {f['n']}: {f['y']} if {f['p']}, {f['n']} if not.",  # y first
    lambda f: f"Is there a digit? {_cap(f['v'])} {f['y']} for yes and {f['n']} for no.",  # y first
    lambda f: f"{f['y']} for {f['lp']}, {f['n']} for {f['ln']}",  # y first
    lambda f: f"{_cap(f['v'])} {f['y']} unless {f['q']}; in that case {f['v']} {f['n']}.",  # y first, lacks-clause
    lambda f: f"{f['y']} if {f['p']}; if {f['q']}, {f['n']}.",  # y first
    lambda f: f"If {f['q']}, {f['v']} {f['n']}; otherwise {f['v']} {f['y']}.",  # n first
    lambda f: f"{_cap(f['v'])} {f['n']} if {f['q']} and {f['y']} if {f['p']}.",  # n first
    lambda f: f"{f['n']} when {f['q']}, {f['y']} when {f['p']}.",  # n first
    lambda f: f"{f['ln']}: {f['n']} / {f['lp']}: {f['y']}",  # n first
    lambda f: f"{f['n']} = {f['ln']}, {f['y']} = {f['lp']}",  # n first
    lambda f: f"Use the word {f['n']} when {f['q']} and {f['y']} otherwise.",  # n first
    lambda f: f"{_cap(f['v'])} {f['n']} or {f['y']}: {f['n']} if {f['q']}, {f['y']} if not.",  # n first
    lambda f: f"Is the sentence free of digits? {_cap(f['v'])} {f['n']} for yes and {f['y']} for no.",  # n first
    lambda f: f"{f['n']} for {f['ln']}, {f['y']} for {f['lp']}",  # n first
    lambda f: f"{_cap(f['v'])} {f['n']} unless {f['p']}; in that case {f['v']} {f['y']}.",  # n first, has-clause
    lambda f: f"{f['n']} if {f['q']}; if {f['p']}, {f['y']}.",  # n first
)

# Structures no trained frame has: "means", "get ... the rest get", a question with the answers after.
HELDOUT_FRAMES = (
    lambda f: f"Two possible answers: {f['y']} means {f['p']}, {f['n']} means {f['q']}.",  # y first
    lambda f: f"Sentences where {f['q']} get {f['n']}; the rest get {f['y']}.",  # n first
)


def _free_of(part, words: tuple[str, str]) -> bool:
    """Whether a part (a string, or a pair of labels) leaves both named words out, so each word
    occurs only where the frame puts it."""
    text = " ".join(part) if isinstance(part, tuple) else part
    tokens = set(text.lower().replace(",", " ").replace(":", " ").split())
    return not any(w.lower() in tokens for w in words)


def _fill(rng: random.Random, parts: Parts, y: str, n: str) -> dict:
    pick = lambda options: rng.choice([o for o in options if _free_of(o, (y, n))] or list(options))  # noqa: E731
    lp, ln = pick(parts.labels)  # both labels of one pair, so "digits" never meets "numeric"
    return {"y": y, "n": n, "p": pick(parts.has), "q": pick(parts.lacks), "lp": lp, "ln": ln, "v": pick(parts.verbs)}


def _compose(rng: random.Random, frame, parts: Parts, y: str, n: str) -> str:
    body = frame(_fill(rng, parts, y, n))
    opening, closing = rng.choice(parts.openings), rng.choice(parts.closings)
    if opening and not body.startswith((y, n)):  # the named words keep their case: the base answers them as written
        body = _cap(body)
    if closing and not body.endswith("."):
        body += "."
    text = opening + body + closing
    return text.lower() if rng.random() < 0.15 else text  # some users type in lower case


def composed_digit_wordings(y: str, n: str) -> list[str]:
    """TRAINED_PER_VARIANT distinct trained wordings, then HELDOUT_PER_TASK held-out ones, all
    fixed by the two words (and their order), so a variant's wordings never change between runs."""
    rng = random.Random(f"composed-digit:{y}:{n}")
    trained: list[str] = []
    while len(trained) < TRAINED_PER_VARIANT:
        text = _compose(rng, rng.choice(TRAINED_FRAMES), TRAINED_PARTS, y, n)
        if text not in trained:
            trained.append(text)
    # Held out: new parts in a trained frame, then new parts in a new frame, so a check can
    # tell a reader that fails on new clauses from one that fails on new sentence structure.
    held = [_compose(rng, rng.choice(TRAINED_FRAMES), HELDOUT_PARTS, y, n),
            _compose(rng, rng.choice(HELDOUT_FRAMES), HELDOUT_PARTS, y, n)]
    return trained + held[:HELDOUT_PER_TASK]
