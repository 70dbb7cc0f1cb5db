"""Conflict tasks built in code: one input, several tasks, a different right answer for each.

Plain SFT on the pool lets a generator ignore the description: one generic "answer briefly in
the option format" adapter fits most of it. Here a family holds several variants whose examples
are built from the SAME inputs (example j of every variant comes from input j), and only the
description says which variant is asked for. An adapter that ignores the description cannot fit
two variants of one input at once, so the loss pays for reading it. The trainer puts pairs of
one family's variants on one input into a batch (train/conflict.py).

Families and their inputs (all from the training pool's own train/val splits, never from a
benchmark or the unseen-task reserve):
  mc_format  MC questions of sciq, commonsense_qa, social_i_qa: letter / number / text / a wrong letter
  rte_labels RTE pairs with label words the description names (yes/no, true/false, ...)
  mrpc_labels MRPC pairs likewise (same/different, yes/no, ...)
  sentence_ops news sentences (MRPC's first, RTE's second): copy, first word, last word, second word, first three words
  topic      MMLU questions: "is this about TOPIC? yes or no", one variant per topic
  label_words RTE pairs answered with one of 24 word pairs the description names (cat/dog, alpha/beta, ...)
  mrpc_words MRPC pairs answered with the same 24 word pairs (same meaning or not)
  label_words_wide RTE pairs with ~250 other word pairs, validated on pairs of words it never trains on
  label_words_vocab the same with ~1,500 pairs of common words, validated on the wide family's held-out pairs
  say_word_split, label_words_split  answer a named word / bind two, over label_vocab.probe_split's words
  rule_words_split  news sentences answered Y or N by a surface rule (has a digit, has a comma)
  rule_words_roles  the same with each pair in both roles, paired with its role-swapped twin
  rule_words_few    rule_words_roles on its first 4 pairs only (16 variants)
  rule_words_worded rule_words_roles' digit rule with 32 wordings, half naming the no-digit word first
  rule_words_composed the same variants, each with 30 wordings composed from parts (composed_wordings.py)
  rule_words_composed_wide the same from about twice as many parts of each kind, the same held-out wordings
  rule_words_composed_rules rule_words_composed under both rules, digit and comma, from one shared grammar

Pool tasks held out for validation are never a source (the trainer passes them as `exclude`),
so no held-out task's inputs are seen in training under any answer. The product's steering check
(scripts/steer_check.py) uses other tasks on purpose.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from functools import partial

from . import label_vocab
from .composed_wordings import (WORD_RULE, composed_comma_wordings, composed_digit_wordings, composed_wordings,
                                wide_digit_wordings)
from .descriptions import HELDOUT_PER_TASK
from .schema import Example

LETTERS = "ABCDE"
MAX_INPUTS = 600  # per family and split: enough for thousands of steps, cheap to build


@dataclass
class Variant:
    name: str
    descriptions: list[str]  # the last HELDOUT_PER_TASK are validation wording, as for pool tasks
    answer: object  # (source Example, input index) -> answer text, or None to skip the input
    roles: tuple[str, ...] = ()  # label families: (the word for the class that holds, the word for the other)
    object: str = ""  # rule families: the word the rule is about, where the rule is about a word ("apple")


@dataclass
class Family:
    name: str
    source_tasks: tuple[str, ...]
    prompt: object  # source Example -> prompt text
    variants: list[Variant]
    keep: object = None  # source Example -> bool (inputs the family can use)
    text: object = None  # source Example -> the input text, when it is not the source's prompt
    val_variants: list | None = None  # validation tasks the family never trains on (else: `variants`)
    twin: object = None  # Variant -> key: variants sharing one are paired on purpose (train/conflict.py)

    def split_variants(self, split: str) -> list[Variant]:
        return self.val_variants if split == "val" and self.val_variants else self.variants


def _listed(ex: Example) -> str:
    lines = [f"{LETTERS[i]}. {o}" for i, o in enumerate(ex.options)]
    return ex.prompt + "\n" + "\n".join(lines)


def _first_wrong(ex: Example) -> str:
    return LETTERS[1 if ex.answer_index == 0 else 0]


MC_FORMAT = Family(
    "mc_format", ("olmo.sciq", "olmo.commonsense_qa", "olmo.social_i_qa"), _listed, [
        Variant("letter", [
            "Answer with the letter of the correct option.",
            "Reply with just the letter: A, B, C, D or E.",
            "letter only",
            "Pick the right choice and give only its letter, nothing else.",
            "You are taking a multiple-choice test on a bubble sheet. Output the single capital letter of the best answer.",
            "Which option is right? Answer A, B, C, D or E.",
            "multiple choice, respond with the option letter",
            "Read the question and the lettered choices, then write the letter that marks the correct one.",
            "Give the letter of the answer.",
            "Just the letter of the correct choice, please.",
        ], lambda ex, i: LETTERS[ex.answer_index]),
        Variant("number", [
            "Answer with the number of the correct option: 1 for the first, 2 for the second, and so on.",
            "Reply with the option's position as a digit (1, 2, 3, ...), not its letter.",
            "number of the right choice",
            "Count the options from 1 and output the number of the correct one.",
            "You fill in a form that only accepts digits. Write the index of the correct option, starting at 1.",
            "Which option is right? Answer 1, 2, 3, 4 or 5.",
            "give the correct option's number",
            "Do not write letters or words: give the ordinal position of the best answer as a number.",
            "Option number only.",
            "Tell me the position of the right answer as a number from 1 to 5.",
        ], lambda ex, i: str(ex.answer_index + 1)),
        Variant("text", [
            "Answer with the full text of the correct option, not its letter.",
            "Write out the right answer word for word.",
            "copy the correct answer text",
            "Ignore the letters and reply with the words of the best option.",
            "You are a quiz host reading the answer aloud. Say the correct option's text exactly as written.",
            "What is the right answer? Give the answer itself, without the letter.",
            "say the right choice in words",
            "Repeat the text of whichever option is correct, exactly as it appears in the list.",
            "Give the answer, not the letter.",
            "Respond with the correct option's wording.",
        ], lambda ex, i: ex.answer),
        Variant("wrong_letter", [
            "Give the letter of the first option that is wrong.",
            "Reply with the letter of an incorrect choice: the earliest one in the list that is not the answer.",
            "first wrong option letter",
            "Find a distractor. Output the letter of the first option that is not correct.",
            "You are building a test key of wrong answers. Write the letter of the first incorrect option.",
            "Which is the first option that is NOT right? Answer with its letter.",
            "letter of the first incorrect choice",
            "Skip the correct option: name, by its letter, the first choice in the list that is false.",
            "First wrong letter.",
            "Point out the first incorrect option by its letter.",
        ], lambda ex, i: _first_wrong(ex)),
    ], keep=lambda ex: 2 <= len(ex.options) <= 5 and all(len(o) <= 60 for o in ex.options))


def _label_variant(name: str, yes: str, no: str, descriptions: list[str], positive_index: int) -> Variant:
    """positive_index: the source's answer_index that means 'follows' / 'same meaning'."""
    return Variant(name, descriptions, lambda ex, i: yes if ex.answer_index == positive_index else no, (yes, no))


RTE_LABELS = Family("rte_labels", ("olmo.rte",), lambda ex: ex.prompt, [
    _label_variant("yes_no", "yes", "no", [
        "Does the second sentence follow from the first? Answer yes or no.",
        "Answer yes if the hypothesis is implied by the text, otherwise no.",
        "entailment, answer yes/no",
        "Read both sentences. If the first one makes the second true, say yes; if not, say no.",
        "You are a careful reader checking claims against a passage. Reply yes when the passage supports the claim and no when it does not.",
        "Is the second statement implied by the first? yes or no",
        "yes or no: does it follow?",
        "Decide whether the conclusion can be drawn from the premise, and answer with the single word yes or no.",
        "Say yes if it follows, no if it doesn't.",
        "Given a text and a statement, answer yes when the statement must be true, else no.",
    ], 0),
    _label_variant("true_false", "true", "false", [
        "Judge whether the second sentence is true given the first. Answer true or false.",
        "Reply true if the passage implies the statement, and false otherwise.",
        "true/false entailment",
        "Treat the first sentence as fact. Is the second sentence then true? Write true or false.",
        "You grade true-or-false items: mark the statement true only if the given text guarantees it, otherwise false.",
        "Based only on the first sentence, is the second one true or false?",
        "answer true or false",
        "Output the word true when the hypothesis follows from the premise and the word false when it does not.",
        "True or false: the text implies the claim.",
        "Label the claim true or false using only the passage.",
    ], 0),
    _label_variant("entailment", "entailment", "not entailment", [
        "Classify the sentence pair as entailment or not entailment.",
        "Label the relation between premise and hypothesis: entailment, or not entailment.",
        "rte: entailment / not entailment",
        "Decide if the first sentence entails the second. Use the labels entailment and not entailment.",
        "You are annotating a natural language inference corpus with two labels, entailment and not entailment.",
        "Does the premise entail the hypothesis? Answer entailment or not entailment.",
        "nli label (entailment or not entailment)",
        "Write entailment when the second sentence is a consequence of the first; write not entailment in every other case.",
        "Entailment or not entailment?",
        "Tag each pair with entailment or not entailment.",
    ], 0),
    _label_variant("one_zero", "1", "0", [
        "Output 1 if the second sentence follows from the first, else 0.",
        "Answer with a digit: 1 for entailed, 0 for not entailed.",
        "1 = follows, 0 = does not",
        "Binary entailment: print 1 when the hypothesis is implied by the premise and 0 when it is not.",
        "You produce labels for a machine learning dataset, where 1 marks an entailed hypothesis and 0 marks the rest.",
        "Is the claim supported by the text? Reply 1 for yes and 0 for no.",
        "0 or 1 entailment label",
        "Read the premise, then the hypothesis, and answer with the number 1 if the first implies the second, otherwise the number 0.",
        "1 if implied, 0 if not.",
        "Give 1 or 0: does the first sentence imply the second?",
    ], 0),
    _label_variant("no_yes", "no", "yes", [
        "Answer yes if the second sentence does NOT follow from the first, and no if it does.",
        "Is the hypothesis unsupported by the text? Reply yes or no.",
        "yes = not implied, no = implied",
        "Flip the usual question: say yes when the premise fails to imply the claim, and no when it implies it.",
        "You look for unsupported claims. For each pair, answer yes if the claim goes beyond the text, no if the text backs it up.",
        "Does the second sentence fail to follow from the first? yes or no",
        "is the claim unsupported? yes/no",
        "Reply with yes when the conclusion cannot be drawn from the premise, and with no when it can.",
        "Yes if it does not follow, no if it does.",
        "Answer yes for a non-entailed hypothesis and no for an entailed one.",
    ], 0),
])

MRPC_LABELS = Family("mrpc_labels", ("olmo.mrpc",), lambda ex: ex.prompt, [
    _label_variant("yes_no", "yes", "no", [
        "Do the two sentences mean the same thing? Answer yes or no.",
        "Say yes if the second sentence paraphrases the first, otherwise no.",
        "paraphrase? yes/no",
        "Compare the sentences. If they express the same meaning, reply yes; if they differ, reply no.",
        "You check rewrites for an editor: answer yes when the rewrite keeps the meaning and no when it changes it.",
        "Same meaning? yes or no",
        "yes or no: are these paraphrases",
        "Decide whether both sentences report the same content and answer with the single word yes or no.",
        "Yes if equivalent, no if not.",
        "Are the two sentences equivalent in meaning? Answer yes or no.",
    ], 1),
    _label_variant("same_different", "same", "different", [
        "Label the sentence pair same if they mean the same thing, different if not.",
        "Answer same or different: do the two sentences say the same thing?",
        "same / different meaning",
        "Read both sentences and write same when they are paraphrases of each other, different otherwise.",
        "You sort sentence pairs into two bins named same and different by their meaning.",
        "Do these sentences have the same meaning or a different one? Answer same or different.",
        "same or different?",
        "Output the word same for pairs that convey identical information and the word different for pairs that do not.",
        "Same or different meaning?",
        "Tag the pair same or different.",
    ], 1),
    _label_variant("equivalent", "equivalent", "not equivalent", [
        "Classify the pair as equivalent or not equivalent.",
        "Are the sentences semantically equivalent? Use the labels equivalent and not equivalent.",
        "mrpc: equivalent / not equivalent",
        "Decide whether the second sentence is a faithful paraphrase of the first: answer equivalent or not equivalent.",
        "You annotate a paraphrase corpus with two labels, equivalent and not equivalent.",
        "Equivalent or not equivalent?",
        "paraphrase label (equivalent or not equivalent)",
        "Write equivalent when both sentences state the same facts; write not equivalent when they differ in any way that matters.",
        "Is it equivalent or not equivalent?",
        "Label each sentence pair equivalent or not equivalent.",
    ], 1),
    _label_variant("one_zero", "1", "0", [
        "Output 1 if the two sentences are paraphrases, else 0.",
        "Answer with a digit: 1 for the same meaning, 0 for a different meaning.",
        "1 = paraphrase, 0 = not",
        "Binary paraphrase detection: print 1 when the sentences mean the same and 0 when they do not.",
        "You produce labels for a dataset where 1 marks a paraphrase pair and 0 marks any other pair.",
        "Same meaning? Reply 1 for yes and 0 for no.",
        "0 or 1 paraphrase label",
        "Compare the two sentences and answer with the number 1 if they are equivalent, otherwise the number 0.",
        "1 if same meaning, 0 if not.",
        "Give 1 or 0: are these sentences paraphrases?",
    ], 1),
])


def _words(text: str) -> list[str]:
    """Words without surrounding punctuation (SST-2 puts spaces around its punctuation)."""
    out = [w.strip(".,;:!?\"'()-`") for w in text.split()]
    return [w for w in out if w]


def _word_at(k: int):
    def answer(ex: Example, i: int):
        ws = _words(ex.prompt)
        return ws[k] if len(ws) >= 4 else None
    return answer


def _one_sentence(ex: Example) -> str:
    """MRPC's first sentence, RTE's hypothesis: one news-style sentence of the pair."""
    lines = ex.prompt.split("\n")
    return lines[0] if ex.id.startswith("olmo.mrpc") else lines[-1]


SENTENCE_OPS = Family("sentence_ops", ("olmo.mrpc", "olmo.rte"), lambda ex: ex.prompt, [
    Variant("copy", [
        "Repeat the sentence exactly.",
        "Copy the input text word for word.",
        "echo the sentence",
        "Write the same sentence back without changing anything.",
        "You are a transcription checker: reproduce the given sentence exactly as it is.",
        "Say the sentence again, unchanged.",
        "repeat it",
        "Output the input sentence verbatim, keeping every word in order.",
        "Just repeat what I wrote.",
        "Return the text unchanged.",
    ], lambda ex, i: ex.prompt),
    Variant("first_word", [
        "Answer with the first word of the sentence.",
        "What is the sentence's first word? Reply with that word only.",
        "first word",
        "Ignore the meaning and output only the opening word of the text.",
        "You index sentences by how they start. Give the very first word of each.",
        "Which word comes first in this sentence?",
        "give me the first word",
        "Write the word that begins the sentence, without punctuation.",
        "First word only.",
        "Return the initial word of the input.",
    ], _word_at(0)),
    Variant("last_word", [
        "Answer with the last word of the sentence.",
        "What is the final word of the text? Reply with that word only.",
        "last word",
        "Ignore the meaning and output only the closing word of the sentence, without punctuation.",
        "You index sentences by how they end. Give the very last word of each.",
        "Which word comes last in this sentence?",
        "give me the last word",
        "Write the word that ends the sentence, leaving out any punctuation.",
        "Last word only.",
        "Return the final word of the input.",
    ], _word_at(-1)),
    Variant("second_word", [
        "Answer with the second word of the sentence.",
        "What is the sentence's second word? Reply with that word only.",
        "second word",
        "Skip the first word and output only the word right after it.",
        "You check word order. Give the word in position two of each sentence.",
        "Which word comes second in this sentence?",
        "give me the 2nd word",
        "Write the word that follows the sentence's first word, without punctuation.",
        "Second word only.",
        "Return word number two of the input.",
    ], _word_at(1)),
    Variant("first_three", [
        "Answer with the first three words of the sentence.",
        "Copy only the opening three words of the text.",
        "first three words",
        "Truncate the sentence after its third word and output what remains, without punctuation.",
        "You write very short previews: give the first three words of each sentence.",
        "What are the first 3 words here?",
        "give me the first 3 words",
        "Write the sentence's first three words, in order, separated by spaces.",
        "First three words only.",
        "Return the beginning of the sentence: three words.",
    ], lambda ex, i: " ".join(_words(ex.prompt)[:3]) if len(_words(ex.prompt)) >= 4 else None),
], keep=lambda ex: 4 <= len(_one_sentence(ex).split()) <= 30, text=_one_sentence)

# topic name -> MMLU subjects that count as that topic
TOPICS = {
    "mathematics": ("abstract_algebra", "college_mathematics", "elementary_mathematics", "high_school_mathematics",
                    "high_school_statistics"),
    "biology": ("college_biology", "high_school_biology", "anatomy", "virology", "medical_genetics"),
    "physics": ("college_physics", "high_school_physics", "conceptual_physics", "astronomy"),
    "history": ("high_school_european_history", "high_school_us_history", "high_school_world_history", "prehistory"),
    "law": ("professional_law", "international_law", "jurisprudence"),
    "economics": ("high_school_macroeconomics", "high_school_microeconomics", "econometrics"),
    "computer science": ("college_computer_science", "high_school_computer_science", "computer_security", "machine_learning"),
    "chemistry": ("college_chemistry", "high_school_chemistry"),
}


def _topic_descriptions(topic: str) -> list[str]:
    return [
        f"Is this question about {topic}? Answer yes or no.",
        f"Reply yes if the question belongs to {topic}, otherwise no.",
        f"{topic} question? yes/no",
        f"Decide whether a student would need to study {topic} to answer this. Say yes or no.",
        f"You sort exam questions by subject. Answer yes when the question is a {topic} question and no when it is from another subject.",
        f"Does this question concern {topic}? yes or no",
        f"yes if {topic}, no if not",
        f"Read the question, ignore its answer, and tell me with one word, yes or no, whether its subject is {topic}.",
        f"Is the subject {topic}? Yes or no.",
        f"Answer yes for {topic} questions and no for all others.",
    ]


def _topic_of(task_id: str) -> str | None:
    subject = task_id.split(".", 1)[1]
    return next((t for t, subs in TOPICS.items() if subject in subs), None)


TOPIC = Family("topic", tuple(f"mmlu.{s}" for subs in TOPICS.values() for s in subs), lambda ex: ex.prompt, [
    Variant(f"is_{t.replace(' ', '_')}", _topic_descriptions(t), (lambda t: lambda ex, i: "yes" if ex.extra.get("topic") == t else "no")(t))
    for t in TOPICS
])

# (word for an entailed pair, word for the rest). Most pairs carry no meaning of their own, so
# only the description says which word answers: the generator has to pass the words named in the
# text through to the output, not recognise one of a few label sets. No colour, sentiment or
# yes/no words (the steering check's labels and answers).
LABEL_WORD_PAIRS = (
    ("cat", "dog"), ("alpha", "beta"), ("apple", "pear"), ("lion", "tiger"), ("tea", "coffee"),
    ("gold", "silver"), ("pass", "fail"), ("match", "mismatch"), ("keep", "drop"), ("plus", "minus"),
    ("river", "mountain"), ("piano", "guitar"), ("A", "B"), ("X", "O"), ("check", "cross"),
    ("ok", "nope"), ("supported", "unsupported"), ("valid", "invalid"), ("agree", "disagree"),
    ("hit", "miss"), ("sure", "doubtful"), ("bird", "fish"), ("salt", "sugar"), ("Q", "Z"),
)


def _label_word_descriptions(y: str, n: str) -> list[str]:
    return [
        f"If the second sentence follows from the first, answer {y}; otherwise answer {n}.",
        f"Answer {y} when the hypothesis is implied by the text and {n} when it is not.",
        f"entailment: {y} / {n}",
        f"Reply {n} if the claim is not supported by the passage, {y} if it is.",
        f"You label sentence pairs for a dataset. Use the word {y} for entailed pairs and {n} for all others.",
        f"Does it follow? Say {y} for yes and {n} for no.",
        f"{y} = follows, {n} = does not follow",
        f"Read the premise and the hypothesis, then write {y} if the premise makes the hypothesis true, or {n} if it does not.",
        f"Label each pair {y} (entailed) or {n} (not entailed).",
        f"{n} if it does not follow, {y} if it does.",
    ]


LABEL_WORDS = Family("label_words", ("olmo.rte",), lambda ex: ex.prompt, [
    _label_variant(f"{y}_{n}".lower(), y, n, _label_word_descriptions(y, n), 0) for y, n in LABEL_WORD_PAIRS
])



def _paraphrase_word_descriptions(y: str, n: str) -> list[str]:
    return [
        f"If the two sentences mean the same thing, answer {y}; otherwise answer {n}.",
        f"Answer {y} when the second sentence is a paraphrase of the first and {n} when it is not.",
        f"paraphrase: {y} / {n}",
        f"Reply {n} if the sentences say different things, {y} if they say the same.",
        f"You label rewrites for an editor. Use the word {y} when the meaning is kept and {n} when it changed.",
        f"Same meaning? Say {y} for yes and {n} for no.",
        f"{y} = same meaning, {n} = different meaning",
        f"Compare both sentences, then write {y} if they report the same content, or {n} if they do not.",
        f"Tag each pair {y} (equivalent) or {n} (not equivalent).",
        f"{n} when the meaning differs, {y} when it matches.",
    ]


# The label_words rule on a second input type: the same word pairs, asked of MRPC sentence pairs
# ("same meaning?"), so the words to pass through and the relation to judge both come from the
# description, and neither input type alone says which.
MRPC_WORDS = Family("mrpc_words", ("olmo.mrpc",), lambda ex: ex.prompt, [
    _label_variant(f"{y}_{n}".lower(), y, n, _paraphrase_word_descriptions(y, n), 1) for y, n in LABEL_WORD_PAIRS
])

# label_words at scale (data/label_vocab.py): ~300 pairs of words, none of the 24 above, and a
# validation set of pairs whose words no training pair uses. Its syn_gap is the one figure here
# that measures reading a description the generator never saw the task of.
LABEL_WORDS_WIDE = Family("label_words_wide", ("olmo.rte",), lambda ex: ex.prompt, [
    _label_variant(f"{y}_{n}".lower(), y, n, _label_word_descriptions(y, n), 0) for y, n in label_vocab.train_pairs()
], val_variants=[
    _label_variant(f"{y}_{n}".lower(), y, n, _label_word_descriptions(y, n), 0) for y, n in label_vocab.val_pairs()
])

# label_words at vocabulary scale: ~1,500 pairs over ~1,500 common words, validated on the wide
# family's held-out pairs (label_vocab.py), so its syn_gap compares with the wide family's.
LABEL_WORDS_VOCAB = Family("label_words_vocab", ("olmo.rte",), lambda ex: ex.prompt, [
    _label_variant(f"{y}_{n}", y, n, _label_word_descriptions(y, n), 0) for y, n in label_vocab.vocab_train_pairs()
], val_variants=LABEL_WORDS_WIDE.val_variants)


def _say_word_descriptions(x: str) -> list[str]:
    return [
        f"Answer with the word {x}.",
        f"Whatever the input, reply {x}.",
        f"Respond only with {x}.",
        f"output: {x}",
        f"Your answer is always the single word {x}.",
        f"Ignore the text and write {x}.",
        f"Reply to every message with {x} and nothing else.",
        f"The only valid answer is {x}.",
        f"Say {x}.",
        f"Always answer {x}, no matter what the passage says.",
    ]


def _say_word_variant(x: str) -> Variant:
    return Variant(f"say_{x}", _say_word_descriptions(x), lambda ex, i: x)


# The simplest use of a named word: answer it, whatever the input. A label-words adapter has to
# carry two named words into its output and know which class each stands for; this family asks
# for the first half only, over the same vocabulary and validated on the same held-out words,
# so the two tell "cannot carry a word" apart from "cannot bind it to a class".
SAY_WORD = Family("say_word", ("olmo.rte",), lambda ex: ex.prompt,
                  [_say_word_variant(x) for x in label_vocab.vocab_words()],
                  val_variants=[_say_word_variant(x) for x in label_vocab.val_words()])

# say_word on the probe's split (label_vocab.probe_split): trained on 1,200 words and validated
# on 40 of the 300 others, all real words the base spells as one token, as the trained ones are.
# SAY_WORD validates on the wide family's held-out words, which include codes and made-up words
# the base spells in several tokens, so it cannot tell a missing map from a spelling problem.
SAY_WORD_SPLIT = Family("say_word_split", ("olmo.rte",), lambda ex: ex.prompt,
                        [_say_word_variant(x) for x in label_vocab.probe_fit_words()],
                        val_variants=[_say_word_variant(x) for x in label_vocab.probe_val_words()])

# label_words on the same split: the binding half ("Y when entailed, N otherwise") of what
# say_word_split asks, validated on pairs of its 40 held-out words.
LABEL_WORDS_SPLIT = Family("label_words_split", ("olmo.rte",), lambda ex: ex.prompt, [
    _label_variant(f"{y}_{n}", y, n, _label_word_descriptions(y, n), 0) for y, n in label_vocab.probe_train_pairs()
], val_variants=[
    _label_variant(f"{y}_{n}", y, n, _label_word_descriptions(y, n), 0) for y, n in label_vocab.probe_val_pairs()
])


def _digit_descriptions(y: str, n: str) -> list[str]:
    return [
        f"If the sentence contains a digit, answer {y}; otherwise answer {n}.",
        f"Answer {y} when the text has a number written in digits and {n} when it has none.",
        f"digits: {y} / no digits: {n}",
        f"Reply {n} if there is no digit in the sentence, {y} if there is.",
        f"You flag sentences that quote figures. Use the word {y} for sentences with digits and {n} for the rest.",
        f"Any digits in it? Say {y} for yes and {n} for no.",
        f"{y} = has a digit, {n} = no digit",
        f"Look for any of the characters 0 to 9 in the sentence, then write {y} if you find one, or {n} if you do not.",
        f"Label each sentence {y} (contains digits) or {n} (no digits).",
        f"{n} if it has no digits, {y} if it does.",
    ]


def _comma_descriptions(y: str, n: str) -> list[str]:
    return [
        f"If the sentence contains a comma, answer {y}; otherwise answer {n}.",
        f"Answer {y} when the text has at least one comma and {n} when it has none.",
        f"comma: {y} / no comma: {n}",
        f"Reply {n} if there is no comma in the sentence, {y} if there is.",
        f"You check punctuation. Use the word {y} for sentences with a comma and {n} for the rest.",
        f"Any commas in it? Say {y} for yes and {n} for no.",
        f"{y} = has a comma, {n} = no comma",
        f"Scan the sentence for the character ',' and write {y} if you find one, or {n} if you do not.",
        f"Label each sentence {y} (contains a comma) or {n} (no comma).",
        f"{n} if it has no comma, {y} if it does.",
    ]


# A rule the base can compute from the surface, so binding is measurable: label_words_split asks
# for RTE entailment, which a 135M base barely tells apart, so "right" and "swapped" answers
# there say little about whether the generator bound each named word to its class.
SURFACE_RULES = {
    "digit": (lambda text: any(c.isdigit() for c in text), _digit_descriptions),
    "comma": (lambda text: "," in text, _comma_descriptions),
}
RULE_TRAIN_PAIRS = 600  # of label_words_split's pairs, each under every rule: 1,200 variants

# Every surface rule a family may ask, by name: SURFACE_RULES' two (with hand-written wordings)
# and three more that only composed wordings ask (RULE_WORDS_COMPOSED_MORE). Each holds on
# 10-40% of the news sentences, so a variant's inputs can be balanced between its two words.
RULE_TESTS = {
    **{name: holds for name, (holds, _) in SURFACE_RULES.items()},
    "apostrophe": lambda text: "'" in text,
    "hyphen": lambda text: "-" in text,
    "capitals": lambda text: re.search(r"\b[A-Z]{2,}\b", text) is not None,  # a word of 2+ capitals: "US", "AIDS"
}

# Rules about one word, for rule_words_composed_word: common nouns that are one piece for the
# encoder and one token for the base (" apple"), so the piece a reader finds in a description
# is the very token the base sees in the input; none is a label word (label_vocab). Every
# fourth word is held out: no trained description names it, though inputs carry it.
WORD_RULE_VOCAB = tuple("""apple river chair window garden doctor horse bread paper glass cloud forest engine summer market
mountain island kitchen bottle camera flower bridge castle dinner teacher farmer planet desert village hammer pencil
rabbit tiger lemon butter coffee silver copper wheel tower station hospital library airport soldier painter guitar
violin candle mirror blanket pocket basket ladder rocket carpet jacket garage""".split())
HELDOUT_WORDS = WORD_RULE_VOCAB[3::4]
TRAINED_WORDS = tuple(w for w in WORD_RULE_VOCAB if w not in HELDOUT_WORDS)
RULE_TESTS.update({WORD_RULE + w: (lambda text, w=w: re.search(rf"\b{w}\b", text) is not None) for w in WORD_RULE_VOCAB})


def _rule_variant(rule: str, y: str, n: str, wordings=None) -> Variant:
    """`wordings(y, n)`: the descriptions, the rule's own (SURFACE_RULES) unless given."""
    holds = RULE_TESTS[rule]
    descriptions = wordings or SURFACE_RULES[rule][1]
    about = rule[len(WORD_RULE):] if rule.startswith(WORD_RULE) else ""
    return Variant(f"{rule}_{y}_{n}", descriptions(y, n), lambda ex, i: y if holds(ex.prompt) else n, (y, n), about)


# The same words under two surface rules ("Y if the sentence has a digit, else N"; likewise a
# comma), on news sentences, validated on the split's held-out pairs under both rules. A
# generator that only names a word scores half its balanced answers right and half swapped;
# one that binds each word to its class scores more right than swapped (scripts/word_check.py).
RULE_WORDS_SPLIT = Family("rule_words_split", ("olmo.mrpc", "olmo.rte"), lambda ex: ex.prompt, [
    _rule_variant(rule, y, n) for y, n in label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS] for rule in SURFACE_RULES
], keep=SENTENCE_OPS.keep, text=_one_sentence, val_variants=[
    _rule_variant(rule, y, n) for y, n in label_vocab.probe_val_pairs() for rule in SURFACE_RULES
])


def _word_set(v: Variant) -> str:
    return "_".join(sorted(v.name.split("_")[1:]))


# rule_words_split with each pair in both roles (Y/N and N/Y), under both rules, and twins: a
# conflict pair is then often the same two words and the same input with the answers exchanged,
# which only a generator that reads which word goes with which class can fit. Random pairs of
# rule_words_split variants differ in their words, so naming the right two words fits them.
RULE_WORDS_ROLES = Family("rule_words_roles", RULE_WORDS_SPLIT.source_tasks, RULE_WORDS_SPLIT.prompt, [
    _rule_variant(rule, *words) for y, n in label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS // 2]
    for words in ((y, n), (n, y)) for rule in SURFACE_RULES
], keep=RULE_WORDS_SPLIT.keep, text=RULE_WORDS_SPLIT.text, val_variants=RULE_WORDS_SPLIT.val_variants, twin=_word_set)

# rule_words_roles on 4 word pairs only (16 variants, each seen hundreds of times): whether the
# generator can make an adapter whose answer follows the rule at all, apart from learning it for
# words it sees once or twice.
RULE_WORDS_FEW = Family("rule_words_few", RULE_WORDS_ROLES.source_tasks, RULE_WORDS_ROLES.prompt,
                        RULE_WORDS_ROLES.variants[:16], keep=RULE_WORDS_ROLES.keep, text=RULE_WORDS_ROLES.text,
                        val_variants=RULE_WORDS_ROLES.val_variants, twin=_word_set)


# More wordings of the digit rule, half of them naming the no-digit word first. The 8 trained
# wordings of _digit_descriptions name the digit word first in all but one, so a reader can
# learn "the first word holds" and then reads the held-out N-first wording backwards
# (docs/specificity.md, "A held-out wording that read backwards"). Trained between the 8 and the
# two held-out wordings, which stay last, so checks stay comparable with rule_words_roles.
def _digit_more_wordings(y: str, n: str) -> list[str]:
    return [
        f"{n} for sentences without digits, {y} for sentences with them.",
        f"Write {n} unless the sentence has a digit in it; then write {y}.",
        f"Has digits -> {y}. No digits -> {n}.",
        f"no digits: {n} / digits: {y}",
        f"{n} = no digit, {y} = has a digit",
        f"Does the text contain a numeral like 3 or 42? If not, reply {n}. If so, reply {y}.",
        f"Respond with {y} if any digit appears, else {n}.",
        f"When a sentence has no digits at all, the answer is {n}; when it has one or more, the answer is {y}.",
        f"Say {n} for digit-free sentences and {y} for sentences with digits.",
        f"digit present? {y}. absent? {n}.",
        f"Output {n} if the sentence is free of digits and {y} otherwise.",
        f"Mark sentences that mention a number in figures with {y}; mark all others {n}.",
        f"Answer {n} when you see no digit and {y} when you see one.",
        f"{y} if digits, {n} if none",
        f"no digit gives {n}, a digit gives {y}",
        f"Your only outputs are {y} and {n}: {y} means the sentence contains at least one digit, {n} means it contains none.",
        f"Your only outputs are {n} and {y}: {n} means the sentence has no digits, {y} means it has some.",
        f"Check for numbers written as digits. Found one: {y}. Found none: {n}.",
        f"If you cannot find a single digit, answer {n}. Otherwise answer {y}.",
        f"Tag digit-free text as {n} and text with digits as {y}.",
        f"{y} for digits, {n} for no digits",
        f"Classify: {n} (the sentence has no digit) or {y} (it has a digit).",
    ]


def _digit_descriptions_wide(y: str, n: str) -> list[str]:
    old = _digit_descriptions(y, n)
    return old[:-HELDOUT_PER_TASK] + _digit_more_wordings(y, n) + old[-HELDOUT_PER_TASK:]


# rule_words_roles' digit rule (its 600 variants, the same held-out pairs) with 32 wordings.
RULE_WORDS_WORDED = Family("rule_words_worded", RULE_WORDS_ROLES.source_tasks, RULE_WORDS_ROLES.prompt, [
    _rule_variant("digit", *words, wordings=_digit_descriptions_wide)
    for y, n in label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS // 2] for words in ((y, n), (n, y))
], keep=RULE_WORDS_ROLES.keep, text=RULE_WORDS_ROLES.text, twin=_word_set, val_variants=[
    _rule_variant("digit", y, n, wordings=_digit_descriptions_wide) for y, n in label_vocab.probe_val_pairs()
])

# The same with wordings composed from a grammar, its held-out wordings from held-out parts only.
RULE_WORDS_COMPOSED = Family("rule_words_composed", RULE_WORDS_ROLES.source_tasks, RULE_WORDS_ROLES.prompt, [
    _rule_variant("digit", *words, wordings=composed_digit_wordings)
    for y, n in label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS // 2] for words in ((y, n), (n, y))
], keep=RULE_WORDS_ROLES.keep, text=RULE_WORDS_ROLES.text, twin=_word_set, val_variants=[
    _rule_variant("digit", y, n, wordings=composed_digit_wordings) for y, n in label_vocab.probe_val_pairs()
])

RULE_WORDS_COMPOSED_WIDE = Family("rule_words_composed_wide", RULE_WORDS_ROLES.source_tasks, RULE_WORDS_ROLES.prompt, [
    _rule_variant("digit", *words, wordings=wide_digit_wordings)
    for y, n in label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS // 2] for words in ((y, n), (n, y))
], keep=RULE_WORDS_ROLES.keep, text=RULE_WORDS_ROLES.text, twin=_word_set, val_variants=[
    _rule_variant("digit", y, n, wordings=wide_digit_wordings) for y, n in label_vocab.probe_val_pairs()
])

# rule_words_composed under both rules, one grammar: the digit variants keep their wordings, and
# a pair's comma variant differs in the rule's words alone. Each pair's four variants (two roles,
# two rules) are twins, so a conflict pair often needs the rule read, not only the roles.
COMPOSED_RULES = {"digit": composed_digit_wordings, "comma": composed_comma_wordings}
RULE_WORDS_COMPOSED_RULES = Family("rule_words_composed_rules", RULE_WORDS_ROLES.source_tasks, RULE_WORDS_ROLES.prompt, [
    _rule_variant(rule, *words, wordings=wordings)
    for y, n in label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS // 2] for words in ((y, n), (n, y))
    for rule, wordings in COMPOSED_RULES.items()
], keep=RULE_WORDS_ROLES.keep, text=RULE_WORDS_ROLES.text, twin=_word_set, val_variants=[
    _rule_variant(rule, y, n, wordings=wordings) for y, n in label_vocab.probe_val_pairs()
    for rule, wordings in COMPOSED_RULES.items()
])


# Four trained rules and one held out whole: whether the rule map (hypernet.word_which_rule)
# reads a rule from its description, or only tells apart the rules it was trained on. Each word
# pair (both roles) goes under two of the four trained rules, every two-rule combination equally
# often, so the family keeps rule_words_composed_rules' 300 pairs and 1,200 variants and each
# twin group still differs by its rule. Validation: the held-out pairs under all five rules.
MORE_TRAINED_RULES = ("digit", "comma", "apostrophe", "capitals")
HELDOUT_RULE = "hyphen"
_RULE_COMBOS = tuple(itertools.combinations(MORE_TRAINED_RULES, 2))
RULE_WORDS_COMPOSED_MORE = Family("rule_words_composed_more", RULE_WORDS_ROLES.source_tasks, RULE_WORDS_ROLES.prompt, [
    _rule_variant(rule, *words, wordings=partial(composed_wordings, rule))
    for i, (y, n) in enumerate(label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS // 2]) for words in ((y, n), (n, y))
    for rule in _RULE_COMBOS[i % len(_RULE_COMBOS)]
], keep=RULE_WORDS_ROLES.keep, text=RULE_WORDS_ROLES.text, twin=_word_set, val_variants=[
    _rule_variant(rule, y, n, wordings=partial(composed_wordings, rule)) for y, n in label_vocab.probe_val_pairs()
    for rule in MORE_TRAINED_RULES + (HELDOUT_RULE,)
])


WORDS_PER_INPUT = 12  # of WORD_RULE_VOCAB's 58: each word's rule holds on about a fifth of the inputs


def _word_list(ex: Example) -> str:
    """The input of rule_words_composed_word: a fixed draw of words, by the source example's id."""
    return " ".join(random.Random(f"word-list:{ex.id}").sample(WORD_RULE_VOCAB, WORDS_PER_INPUT))


# Rules about words ("Y if the text contains the word "apple", N otherwise") over lists of
# words: whether rank 1's A row, built from the word a description names (HyperConfig
# word_which_object), finds words no trained description named. Each word pair (both roles)
# goes under two trained words, cycled, so each trained word has about 27 variants; validation:
# each held-out pair under one trained and one held-out word.
RULE_WORDS_COMPOSED_WORD = Family("rule_words_composed_word", RULE_WORDS_ROLES.source_tasks, RULE_WORDS_ROLES.prompt, [
    _rule_variant(WORD_RULE + TRAINED_WORDS[(2 * i + k) % len(TRAINED_WORDS)], *words,
                  wordings=partial(composed_wordings, WORD_RULE + TRAINED_WORDS[(2 * i + k) % len(TRAINED_WORDS)]))
    for i, (y, n) in enumerate(label_vocab.probe_train_pairs()[:RULE_TRAIN_PAIRS // 2]) for words in ((y, n), (n, y))
    for k in range(2)
], keep=RULE_WORDS_ROLES.keep, text=_word_list, twin=_word_set, val_variants=[
    _rule_variant(WORD_RULE + w, y, n, wordings=partial(composed_wordings, WORD_RULE + w))
    for j, (y, n) in enumerate(label_vocab.probe_val_pairs())
    for w in (TRAINED_WORDS[j % len(TRAINED_WORDS)], HELDOUT_WORDS[j % len(HELDOUT_WORDS)])
])

FAMILIES = (MC_FORMAT, RTE_LABELS, MRPC_LABELS, SENTENCE_OPS, TOPIC, LABEL_WORDS, MRPC_WORDS, LABEL_WORDS_WIDE,
            LABEL_WORDS_VOCAB, SAY_WORD, SAY_WORD_SPLIT, LABEL_WORDS_SPLIT, RULE_WORDS_SPLIT,
            RULE_WORDS_ROLES, RULE_WORDS_FEW, RULE_WORDS_WORDED, RULE_WORDS_COMPOSED,
            RULE_WORDS_COMPOSED_WIDE, RULE_WORDS_COMPOSED_RULES, RULE_WORDS_COMPOSED_MORE,
            RULE_WORDS_COMPOSED_WORD)


def task_id(family: Family, variant: Variant) -> str:
    return f"syn.{family.name}.{variant.name}"


def id_matches(task_id: str, patterns) -> bool:
    """Whether a task id matches one of `patterns`: ids, or shell-style patterns (fnmatch)."""
    return any(fnmatchcase(task_id, p) for p in patterns)


def family_inputs(family: Family, load, split: str, limit: int = MAX_INPUTS, exclude=frozenset()) -> list[Example]:
    """The family's shared inputs: source examples of one split, shuffled by a fixed seed.
    load(task_id, split) -> [Example]; sources in `exclude` are skipped. MMLU inputs remember
    their topic in `extra`."""
    pool: list[Example] = []
    for tid in family.source_tasks:
        if tid in exclude:
            continue
        for ex in load(tid, split):
            if family.keep is not None and not family.keep(ex):
                continue
            text = family.text(ex) if family.text else ex.prompt
            extra = {"topic": _topic_of(tid)} if family is TOPIC else {}
            pool.append(Example(text, ex.answer, ex.options, ex.answer_index, ex.id, extra))
    random.Random(f"synthetic:{family.name}:{split}").shuffle(pool)
    return pool[:limit]


def build_family(family: Family, load, split: str, limit: int = MAX_INPUTS, exclude=frozenset()) -> dict[str, list[Example]]:
    """{task id: examples}, aligned: position j of every variant comes from the same input,
    so a batch can ask two variants of one input. Inputs some variant cannot answer are
    dropped for all, which keeps the alignment."""
    inputs = family_inputs(family, load, split, limit, exclude)
    variants = family.split_variants(split)
    rows = []
    for i, src in enumerate(inputs):
        answers = [v.answer(src, i) for v in variants]
        if all(a for a in answers):
            rows.append((src, answers))
    out: dict[str, list[Example]] = {}
    for k, v in enumerate(variants):
        out[task_id(family, v)] = [Example(family.prompt(src), answers[k], id=f"{task_id(family, v)}-{src.id}")
                                   for src, answers in rows]
    return out


def variant_examples(tid: str, load, split: str) -> list[Example]:
    """The examples of one code-built task (`syn.FAMILY.VARIANT`, training or held-out variant)
    on a split's inputs: what a task-specific LoRA trains and validates on (train lora)."""
    _, fam_name, name = tid.split(".", 2) if tid.count(".") >= 2 else ("", "", "")
    fam = next((f for f in FAMILIES if f.name == fam_name), None)
    variant = next((v for v in fam.variants + (fam.val_variants or []) if v.name == name), None) if fam else None
    if variant is None:
        raise KeyError(tid)
    return build_family(replace(fam, variants=[variant], val_variants=None), load, split)[tid]


def all_descriptions() -> dict[str, list[str]]:
    return {task_id(f, v): v.descriptions for f in FAMILIES for v in f.variants + (f.val_variants or [])}
