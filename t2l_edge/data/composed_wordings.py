"""Wordings of a surface rule composed from parts: thousands of distinct sentences, not thirty.

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

Each rule (RULES) brings only what its clauses are about (digits, commas) and one opening that
names it; subjects, verbs, label forms, frames and closings are shared, so across rules a role
can hang on how a sentence ties a word to a condition, not on one rule's phrases.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from functools import cached_property, lru_cache

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
    asks: tuple[str, str]  # a question the has-clause answers yes, one the lacks-clause answers yes

    @cached_property
    def naming(self) -> dict[str, dict[str, frozenset]]:
        """{kind: {word: the parts of that kind that contain it}}, for the kinds a named word may
        occur in: built once per Parts, looked up for every wording (usable)."""
        return {kind: _naming(getattr(self, kind)) for kind in ("has", "lacks", "labels", "verbs")}


def _parts(subjects, has_verbs, lacks_verbs, objects, label_forms, verbs, openings, closings, asks) -> Parts:
    """Clauses and labels composed from smaller parts. An object is (one, several): "a digit",
    "digits"; has_verbs take the one ("contains a digit"), lacks_verbs the several ("lacks digits")."""
    has = tuple(f"{s} {v} {one}" for s in subjects for v in has_verbs for one, _ in objects)
    lacks = tuple(f"{s} {v} {many}" for s in subjects for v in lacks_verbs for _, many in objects)
    labels = tuple((yes.format(one=one, many=many), no.format(one=one, many=many))
                   for yes, no in label_forms for one, many in objects)
    return Parts(has, lacks, labels, tuple(verbs), tuple(openings), tuple(closings), tuple(asks))


@dataclass(frozen=True)
class RuleWords:
    """What one rule's wordings say about it; the rest of the grammar is shared."""
    objects: tuple[tuple[str, str], ...]  # (one, several) in trained wordings
    heldout_objects: tuple[tuple[str, str], ...]
    topic: str  # the one trained opening that names the rule
    asks: tuple[str, str]


RULES = {
    "digit": RuleWords(
        objects=(("a digit", "digits"), ("a numeral", "numerals"), ("a number written in digits", "numbers written in digits"),
                 ("a figure like 5", "figures like 5"), ("at least one digit", "digits at all")),
        heldout_objects=(("a character from 0 to 9", "characters from 0 to 9"), ("a quantity in figures", "quantities in figures")),
        topic="You sort sentences by whether they quote numbers. ",
        asks=("Is there a digit?", "Is the sentence free of digits?")),
    "comma": RuleWords(
        objects=(("a comma", "commas"), ("at least one comma", "commas at all"), ("a comma (,)", "commas (,)"),
                 ("a comma between words", "commas between words"), ("a punctuation comma", "punctuation commas")),
        heldout_objects=(("a ',' character", "',' characters"), ("the mark that splits a list", "marks that split a list")),
        topic="You check sentences for commas. ",
        asks=("Is there a comma?", "Is the sentence free of commas?")),
    "apostrophe": RuleWords(
        objects=(("an apostrophe", "apostrophes"), ("at least one apostrophe", "apostrophes at all"),
                 ("an apostrophe (')", "apostrophes (')"), ("an apostrophe as in it's", "apostrophes as in it's"),
                 ("a possessive apostrophe", "possessive apostrophes")),
        heldout_objects=(("a ' character", "' characters"), ("the mark in don't", "marks like the one in don't")),
        topic="You look for apostrophes in sentences. ",
        asks=("Is there an apostrophe?", "Is the sentence free of apostrophes?")),
    "hyphen": RuleWords(
        objects=(("a hyphen", "hyphens"), ("at least one hyphen", "hyphens at all"), ("a hyphen (-)", "hyphens (-)"),
                 ("a hyphenated word", "hyphenated words"), ("a dash inside a word", "dashes inside words")),
        heldout_objects=(("a '-' character", "'-' characters"), ("the mark in well-known", "marks like the one in well-known")),
        topic="You check sentences for hyphens. ",
        asks=("Is there a hyphen?", "Is the sentence free of hyphens?")),
    "capitals": RuleWords(
        objects=(("a word in all capitals", "words in all capitals"), ("an acronym", "acronyms"),
                 ("an all-caps word", "all-caps words"), ("a word like NASA", "words like NASA"),
                 ("a fully capitalised word", "fully capitalised words")),
        heldout_objects=(("an abbreviation in upper case", "abbreviations in upper case"),
                         ("a run of capital letters", "runs of capital letters")),
        topic="You spot acronyms in sentences. ",
        asks=("Is there a word in capitals?", "Is the sentence free of all-caps words?")),
}

# Trained and held-out parts share no subject, verb, object, label form, opening or closing, so a
# held-out clause is new in every word that says what the condition is.
_TRAINED_GRAMMAR = dict(
    subjects=("the sentence", "the text", "it", "the input", "the line"),
    has_verbs=("contains", "has", "includes", "shows", "mentions"),
    lacks_verbs=("contains no", "has no", "does not include any", "is free of", "lacks"),
    label_forms=(("{many}", "no {many}"), ("with {many}", "without {many}"), ("has {one}", "has no {many}")),
    verbs=("answer", "reply", "say", "write", "output", "respond with", "return"),
    closings=("", "", "", " One word only.", " Answer with the word alone.", " Nothing else.", " Be brief."),
)
_HELDOUT_GRAMMAR = dict(
    subjects=("this passage", "the given string"),
    has_verbs=("carries", "features"),
    lacks_verbs=("carries no", "is without"),
    label_forms=(("{many} present", "{many} absent"),),
    verbs=("give", "print"),
    openings=("Instructions: ", "Here is a sentence. "),
    closings=(" No explanation.", " Keep it short."),
)


def _trained_openings(topic: str) -> tuple[str, ...]:
    return ("", "", "", "Task: ", "Read the sentence. ", "Look at the text. ", "Check each sentence. ", topic,
            "Classify the input. ")


TRAINED = {name: _parts(**_TRAINED_GRAMMAR, objects=r.objects, openings=_trained_openings(r.topic), asks=r.asks)
           for name, r in RULES.items()}
HELDOUT = {name: _parts(**_HELDOUT_GRAMMAR, objects=r.heldout_objects, asks=r.asks) for name, r in RULES.items()}

# Rules about one word ("Y if the text contains the word "apple""), named WORD_RULE + the word:
# one grammar for any word, so a generator can be asked about words no training rule named.
WORD_RULE = "word-"


def word_rule_words(word: str) -> RuleWords:
    """What the wordings of "the text contains `word`" say about it, trained and held out."""
    q = f'"{word}"'
    return RuleWords(
        objects=((f"the word {q}", f"the word {q}"), (q, q), (f"the word {word}", f"the word {word}"),
                 (f"{q} as a word", f"{q} as a word"), (f"the token {q}", f"the token {q}")),
        heldout_objects=((f"an occurrence of {q}", f"occurrences of {q}"), (f"{q} somewhere in it", f"{q} anywhere")),
        topic=f"You look for the word {q} in sentences. ",
        asks=(f"Is the word {q} there?", f"Is the sentence free of {q}?"))


@lru_cache(maxsize=None)
def _rule_parts(rule: str, heldout: bool) -> Parts:
    if not rule.startswith(WORD_RULE):
        return (HELDOUT if heldout else TRAINED)[rule]
    r = word_rule_words(rule[len(WORD_RULE):])
    if heldout:
        return _parts(**_HELDOUT_GRAMMAR, objects=r.heldout_objects, asks=r.asks)
    return _parts(**_TRAINED_GRAMMAR, objects=r.objects, openings=_trained_openings(r.topic), asks=r.asks)


# The digit rule's trained parts with about twice as many of each kind: whether a reader that
# fell on new parts (scripts/part_swap.py) generalises further when each kind has more examples.
# No part is shared with HELDOUT["digit"].
WIDE_PARTS = _parts(
    subjects=("the sentence", "the text", "it", "the input", "the line", "the example", "the statement",
              "this text", "the message", "the snippet", "the phrase", "the item"),
    has_verbs=("contains", "has", "includes", "shows", "mentions", "uses", "displays", "holds", "comes with", "quotes"),
    lacks_verbs=("contains no", "has no", "does not include any", "is free of", "lacks", "shows no", "uses no",
                 "does not have any", "mentions no", "has zero", "is devoid of"),
    objects=(("a digit", "digits"), ("a numeral", "numerals"), ("a number written in digits", "numbers written in digits"),
             ("a figure like 5", "figures like 5"), ("at least one digit", "digits at all"),
             ("a numeric character", "numeric characters"), ("a digit such as 3 or 7", "digits such as 3 or 7"),
             ("a number in numerals", "numbers in numerals"), ("an Arabic numeral", "Arabic numerals"),
             ("a digit character", "digit characters")),
    label_forms=(("{many}", "no {many}"), ("with {many}", "without {many}"), ("has {one}", "has no {many}"),
                 ("{many} found", "no {many} found"), ("{many}: yes", "{many}: no"), ("contains {many}", "contains no {many}")),
    verbs=("answer", "reply", "say", "write", "output", "respond with", "return", "produce", "state", "emit", "type", "put"),
    openings=("", "", "", "Task: ", "Read the sentence. ", "Look at the text. ", "Check each sentence. ",
              "You sort sentences by whether they quote numbers. ", "Classify the input. ", "Rule: ", "Your job: ",
              "Simple check. ", "Read carefully. ", "You are a digit detector. ", "Examine the input. ", "Quick task: "),
    closings=("", "", "", " One word only.", " Answer with the word alone.", " Nothing else.", " Be brief.",
              " Only the word.", " No other text.", " Single word answer.", " Do not explain."),
    asks=RULES["digit"].asks,
)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# Frames: (fill dict -> sentence). Keys: y, n (the words), p (a has-clause), q (a lacks-clause),
# lp, ln (the labels), v (a verb), ah, al (the rule's questions). Each frame names y first or n
# first, as its comment says.
TRAINED_FRAMES = (
    lambda f: f"If {f['p']}, {f['v']} {f['y']}; otherwise {f['v']} {f['n']}.",  # y first
    lambda f: f"{_cap(f['v'])} {f['y']} if {f['p']} and {f['n']} if {f['q']}.",  # y first
    lambda f: f"{f['y']} when {f['p']}, {f['n']} when {f['q']}.",  # y first
    lambda f: f"{f['lp']}: {f['y']} / {f['ln']}: {f['n']}",  # y first
    lambda f: f"{f['y']} = {f['lp']}, {f['n']} = {f['ln']}",  # y first
    lambda f: f"Use the word {f['y']} when {f['p']} and {f['n']} otherwise.",  # y first
    lambda f: f"{_cap(f['v'])} {f['y']} or {f['n']}: {f['y']} if {f['p']}, {f['n']} if not.",  # y first
    lambda f: f"{f['ah']} {_cap(f['v'])} {f['y']} for yes and {f['n']} for no.",  # y first
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
    lambda f: f"{f['al']} {_cap(f['v'])} {f['n']} for yes and {f['y']} for no.",  # n first
    lambda f: f"{f['n']} for {f['ln']}, {f['y']} for {f['lp']}",  # n first
    lambda f: f"{_cap(f['v'])} {f['n']} unless {f['p']}; in that case {f['v']} {f['y']}.",  # n first, has-clause
    lambda f: f"{f['n']} if {f['q']}; if {f['p']}, {f['y']}.",  # n first
)

# Structures no trained frame has: "Y means ...", "... get N; the rest get Y".
HELDOUT_FRAMES = (
    lambda f: f"Two possible answers: {f['y']} means {f['p']}, {f['n']} means {f['q']}.",  # y first
    lambda f: f"Sentences where {f['q']} get {f['n']}; the rest get {f['y']}.",  # n first
)


def _tokens(part) -> set[str]:
    text = " ".join(part) if isinstance(part, tuple) else part
    return set(text.lower().replace(",", " ").replace(":", " ").split())


def _naming(options: tuple) -> dict[str, frozenset]:
    """{word: the options that contain it}."""
    index: dict[str, set] = {}
    for o in options:
        for t in _tokens(o):
            index.setdefault(t, set()).add(o)
    return {t: frozenset(os) for t, os in index.items()}


def usable(parts: Parts, y: str, n: str) -> Parts:
    """The parts without those that contain a named word, so each word occurs only where the frame
    puts it (a kind keeps all its parts when every one would go)."""
    out = {}
    for field, naming in parts.naming.items():
        taken = naming.get(y.lower(), frozenset()) | naming.get(n.lower(), frozenset())
        if taken:  # rare: most words name no part
            out[field] = tuple(o for o in getattr(parts, field) if o not in taken) or getattr(parts, field)
    return dataclasses.replace(parts, **out) if out else parts


def _fill(rng: random.Random, parts: Parts, y: str, n: str) -> dict:
    """Parts for one frame; `parts` already passed through usable()."""
    lp, ln = rng.choice(parts.labels)  # both labels of one pair, so "digits" never meets "numeric"
    return {"y": y, "n": n, "p": rng.choice(parts.has), "q": rng.choice(parts.lacks), "lp": lp, "ln": ln,
            "v": rng.choice(parts.verbs), "ah": parts.asks[0], "al": parts.asks[1]}


def compose(rng: random.Random, frame, parts: Parts, y: str, n: str) -> str:
    body = frame(_fill(rng, usable(parts, y, n), y, n))
    opening, closing = rng.choice(parts.openings), rng.choice(parts.closings)
    if opening and not body.startswith((y, n)):  # the named words keep their case: the base answers them as written
        body = _cap(body)
    if closing and not body.endswith("."):
        body += "."
    text = opening + body + closing
    return text.lower() if rng.random() < 0.15 else text  # some users type in lower case


def _trained(rng: random.Random, parts: Parts, y: str, n: str) -> list[str]:
    out: list[str] = []
    while len(out) < TRAINED_PER_VARIANT:
        text = compose(rng, rng.choice(TRAINED_FRAMES), parts, y, n)
        if text.lower() not in {o.lower() for o in out}:  # the encoder is uncased: "Say x" is "say x"
            out.append(text)
    return out


def composed_wordings(rule: str, y: str, n: str) -> list[str]:
    """TRAINED_PER_VARIANT distinct trained wordings of `rule` (RULES), then HELDOUT_PER_TASK
    held-out ones, all fixed by the rule and the two words (and their order), so a variant's
    wordings never change between runs."""
    return list(_composed(rule, y, n))


def composed_digit_wordings(y: str, n: str) -> list[str]:
    return composed_wordings("digit", y, n)


def composed_comma_wordings(y: str, n: str) -> list[str]:
    return composed_wordings("comma", y, n)


@lru_cache(maxsize=None)  # the wide family takes its held-out wordings from here: composed once
def _composed(rule: str, y: str, n: str) -> tuple[str, ...]:
    rng = random.Random(f"composed-{rule}:{y}:{n}")
    trained = _trained(rng, _rule_parts(rule, False), y, n)
    # Held out: new parts in a trained frame, then new parts in a new frame, so a check can
    # tell a reader that fails on new clauses from one that fails on new sentence structure.
    held = [compose(rng, rng.choice(TRAINED_FRAMES), _rule_parts(rule, True), y, n),
            compose(rng, rng.choice(HELDOUT_FRAMES), _rule_parts(rule, True), y, n)]
    return tuple(trained + held[:HELDOUT_PER_TASK])


def wide_digit_wordings(y: str, n: str) -> list[str]:
    """As composed_digit_wordings, the trained wordings from WIDE_PARTS; the same held-out ones."""
    trained = _trained(random.Random(f"wide-digit:{y}:{n}"), WIDE_PARTS, y, n)
    return trained + list(_composed("digit", y, n)[-HELDOUT_PER_TASK:])
