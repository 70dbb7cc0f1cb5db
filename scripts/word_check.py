"""Word check: does the adapter answer the word its description names, and the right one of two?

For the held-out variants of `say_word_split` (answer the named word, whatever the input) and
`label_words_split` ("answer Y when the second sentence follows from the first, N otherwise",
over words no training pair used), greedy answers through llama.cpp on RTE validation inputs
from a task store, and for `rule_words_split` ("answer Y if the sentence has a digit / a comma,
N otherwise") on news sentences. An answer is `right` when its first word is the gold word,
`swapped` when it is the pair's other word, and `neither` otherwise. The families' own
validation CE and gap (train sft) reward naming either word of a pair; `swapped` tells naming
from binding, and so does the mean margin log p(gold) - log p(other word). Each variant's
inputs are balanced between its two gold words, so a generator that always prefers one word
scores as many `swapped` as `right`, and a mean margin of 0.

    .venv/bin/python -m scripts.word_check --bundle B --store DIR [--inputs 6] [--families F,G] [--seen N]
        [--threads 2] [--json F]
    .venv/bin/python -m scripts.word_check --adapter LORA.gguf --task syn.FAMILY.VARIANT --store DIR --inputs 40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np

from t2l_edge.data.descriptions import HELDOUT_PER_TASK

FAMILIES = ("say_word_split", "label_words_split", "rule_words_split")
# The wordings of every code-built variant that training holds out. All of them, because one
# alone misleads: the last of the rule families' is the only one that names the other class's
# word first and by a negation ("N if it has no digits, Y if it does"), which a generator that
# binds on every other wording reads backwards (docs/specificity.md, "digit-long").
HELD_WORDINGS = tuple(range(-HELDOUT_PER_TASK, 0))
# These hold out rule_words_split's pairs (their digit ones only: rule_words_worded, _composed and
# _composed_wide); --seen differs.
CHECKABLE = FAMILIES + ("rule_words_roles", "rule_words_few", "rule_words_worded", "rule_words_composed",
                        "rule_words_composed_wide", "rule_words_composed_rules", "rule_words_composed_more")


def first_word(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text)
    return words[0].lower() if words else ""


def balanced(examples: list, n: int) -> list:
    """Up to n examples, alternating between gold answers, so each word is asked equally often."""
    by_gold: dict[str, list] = {}
    for ex in examples:
        by_gold.setdefault(ex.answer, []).append(ex)
    groups = list(by_gold.values())
    k = n // len(groups) if len(groups) > 1 else n
    return [ex for group in zip(*(g[:k] for g in groups)) for ex in group] if len(groups) > 1 else groups[0][:n]


def margin(engine, prompt: str, gold: str, other: str) -> float:
    """log p(gold) - log p(other) as the whole answer's first word, after the chat-formatted prompt."""
    context = engine.prompt_tokens(engine.format_chat(prompt), chat=True)
    golds, others = engine.score_tokens(context, [engine.tokenize(w, add_bos=False) for w in (gold, other)])
    return golds - others


def mean_ci(values: list[float]) -> dict:
    """Mean and a normal-approximation 95% interval."""
    x = np.asarray(values, dtype=np.float64)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return {"mean": round(float(x.mean()), 3), "ci95": [round(float(x.mean() - half), 3), round(float(x.mean() + half), 3)]}


def answers(engine, items: list, words: set[str]):
    """(example, right / swapped / neither, greedy first word, margin or None) for each item,
    with the active adapter; the margin only where the task has two words."""
    lower = {w.lower() for w in words}
    for ex in items:
        got = first_word(engine.generate(ex.prompt, max_tokens=4, temperature=0.0).text)
        kind = "right" if got == ex.answer.lower() else "swapped" if got in lower else "neither"
        other = next((w for w in words if w != ex.answer), None) if len(words) == 2 else None
        yield ex, kind, got, margin(engine, ex.prompt, ex.answer, other) if other else None


def rules_disagree(ex) -> bool:
    """The surface rules (synthetic.SURFACE_RULES: digit, comma) give this input different answers."""
    from t2l_edge.data.synthetic import SURFACE_RULES

    return len({holds(ex.prompt) for holds, _ in SURFACE_RULES.values()}) > 1


def check_family(engine, gen, fam, store, inputs: int, wordings: tuple[int, ...] = HELD_WORDINGS,
                 shown: int = 6, keep=None) -> dict:
    """Greedy first words scored right / swapped / neither; for two-word families also the
    binding margin: per variant, the mean over its balanced inputs of log p(gold) - log p(other
    word), which is 0 for a generator that prefers one word whatever the input and above 0 only
    where the input moves it; then its mean and 95% interval over variants, each variant's own
    interval over its inputs, and the mean over variants for each wording. Each of `wordings`
    (indices into a variant's descriptions) makes one adapter per variant; the first `shown`
    answers are kept as examples; `keep`, a test on examples, picks the inputs (rules_disagree)."""
    from t2l_edge.data import synthetic

    tasks = synthetic.build_family(fam, store.examples, "val")
    counts, examples, margins, per_variant = {"right": 0, "swapped": 0, "neither": 0}, [], [], {}
    per_wording: dict[int, list[float]] = {w: [] for w in wordings}
    for v in fam.split_variants("val"):
        exs = [ex for ex in tasks[synthetic.task_id(fam, v)] if keep is None or keep(ex)]
        items, words = balanced(exs, inputs), {ex.answer for ex in exs}
        mine = []
        for w in wordings:
            engine.use(gen.make(v.descriptions[w]))
            theirs = []
            for ex, kind, got, m in answers(engine, items, words):
                counts[kind] += 1
                theirs += [m] if m is not None else []
                if len(examples) < shown:
                    examples.append({"description": v.descriptions[w], "gold": ex.answer, "answer": got})
            if theirs:
                per_wording[w].append(float(np.mean(theirs)))
            mine += theirs
        if mine:
            margins.append(float(np.mean(mine)))
            per_variant[v.name] = {**mean_ci(mine), "inputs": len(mine)}
    n = sum(counts.values())
    out = {"n": n, **{k: round(c / n, 3) for k, c in counts.items()}}
    if margins:  # per variant too: with two or three variants the interval over variants says little
        out["margin"] = {**mean_ci(margins), "variants": len(margins)}
        out["margin_per_variant"] = per_variant
        out["margin_per_wording"] = {str(w): mean_ci(m) for w, m in per_wording.items()}
    return {**out, "examples": examples}


def check_adapter(engine, adapter: Path, tid: str, store, inputs: int) -> dict:
    """One fixed adapter (a task-specific LoRA: `t2l-edge train lora --set tasks=syn...`) on
    its own code-built task's validation inputs: the same figures as check_family, for one
    variant, with the margin's interval taken over inputs."""
    from t2l_edge.data import synthetic

    engine.use(str(adapter))
    exs = synthetic.variant_examples(tid, store.examples, "val")
    words, items = {ex.answer for ex in exs}, balanced(exs, inputs)
    counts, margins = {"right": 0, "swapped": 0, "neither": 0}, []
    for _, kind, _, m in answers(engine, items, words):
        counts[kind] += 1
        margins += [m] if m is not None else []
    out = {"task": tid, "n": len(items), **{k: round(c / len(items), 3) for k, c in counts.items()}}
    return {**out, "margin": {**mean_ci(margins), "inputs": len(margins)}} if margins else out


def matching_variants(fam, pattern: str):
    """The family with only the variants to be checked (held out, or seen_variants' stand-ins)
    whose names match `pattern` (fnmatch), such as digit_* for one rule's."""
    return dataclasses.replace(fam, val_variants=[v for v in fam.val_variants if fnmatchcase(v.name, pattern)])


def seen_variants(fam, n: int, names=(), pattern: str = "*"):
    """The family with its first n training variants whose names match `pattern` (or those
    named) standing in for the held-out ones: the check on words and pairs training saw (on
    validation inputs, with held-out wordings unless --wordings says otherwise)."""
    chosen = [v for v in fam.variants if v.name in names] if names else \
        [v for v in fam.variants if fnmatchcase(v.name, pattern)][:n]
    return dataclasses.replace(fam, val_variants=chosen)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", type=Path, default=None, help="generator bundle")
    p.add_argument("--adapter", type=Path, default=None, help="instead of --bundle: one LoRA (GGUF), with --task")
    p.add_argument("--task", default=None, help="with --adapter: its code-built task, syn.FAMILY.VARIANT")
    p.add_argument("--store", type=Path, required=True, help="task store with olmo.rte and olmo.mrpc (t2l-edge data build)")
    p.add_argument("--inputs", type=int, default=6, help="inputs per held-out variant, balanced between its two answers")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated, of " + ", ".join(CHECKABLE))
    p.add_argument("--seen", type=int, default=0, metavar="N",
                   help="check the first N training variants (matching --match) instead of the held-out ones (words training saw)")
    p.add_argument("--variants", default="", metavar="V,W",
                   help="check these training variants (names as in syn.FAMILY.NAME) instead of the held-out ones")
    p.add_argument("--match", default="*", metavar="PATTERN",
                   help="check only the variants whose names match (fnmatch), such as digit_* for one rule's")
    p.add_argument("--wordings", default=",".join(map(str, HELD_WORDINGS)), metavar="I,J",
                   help="which of each variant's descriptions make its adapters, by index: the last two "
                        "(-2,-1, the default) are held out of training, the others trained on")
    p.add_argument("--disagree", action="store_true",
                   help="only inputs on which the digit and comma rules disagree: a margin above 0 there needs "
                        "the adapter to follow the rule its description names, below 0 it follows the other")
    p.add_argument("--examples", type=int, default=6, metavar="N", help="greedy answers kept in the output, per family")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    from t2l_edge.data import synthetic
    from t2l_edge.data.store import TaskStore
    from t2l_edge.engine import Engine
    from t2l_edge.runtime import Generator

    if (args.bundle is None) == (args.adapter is None) or (args.adapter is not None) != (args.task is not None):
        p.error("give --bundle, or --adapter with --task")
    names = [n for n in args.families.split(",") if n]
    unknown = [n for n in names if n not in CHECKABLE]
    if unknown:
        p.error(f"--families: {', '.join(unknown)} not checked here; choose from {', '.join(CHECKABLE)}")
    wordings = parse_wordings(p, args.wordings)
    store = TaskStore(args.store)
    if args.adapter is not None:
        try:
            synthetic.variant_examples(args.task, store.examples, "val")
        except KeyError:
            p.error(f"--task {args.task} is not a code-built task: use syn.FAMILY.VARIANT")
        with Engine(None, n_threads=args.threads) as engine:
            out = {"adapter": str(args.adapter), **check_adapter(engine, args.adapter, args.task, store, args.inputs)}
        return _emit(out, args.json)
    gen, fams = Generator.load(args.bundle), {f.name: f for f in synthetic.FAMILIES}
    fewest = min(len(v.descriptions) for n in names for v in fams[n].variants + fams[n].val_variants)
    if any(not -fewest <= w < fewest for w in wordings):
        p.error(f"--wordings: these families' variants have {fewest} descriptions; use indices from {-fewest} to {fewest - 1}")
    chosen = [n for n in args.variants.split(",") if n]
    seen = bool(args.seen or chosen)
    picked = {name: matching_variants(seen_variants(fams[name], args.seen, chosen, args.match) if seen else fams[name], args.match)
              for name in names}
    empty = [name for name, fam in picked.items() if not fam.val_variants]
    if empty:
        p.error(f"no variant of {', '.join(empty)} is left to check: see --match, --seen and --variants")
    with Engine(None, n_threads=args.threads) as engine:
        out = {name: check_family(engine, gen, picked[name], store, args.inputs, wordings, args.examples,
                                  keep=rules_disagree if args.disagree else None)
               for name in names}
    which = f"trained: {', '.join(chosen)}" if chosen else f"first {args.seen} trained" if args.seen else "held out"
    which += f", matching {args.match}" if args.match != "*" else ""
    which += ", inputs where the rules disagree" if args.disagree else ""
    out = {"bundle": str(args.bundle), "inputs_per_variant": args.inputs, "variants": which, "wordings": list(wordings),
           "families": out}
    return _emit(out, args.json)


def parse_wordings(p, text: str, variants=()) -> tuple[int, ...]:
    """--wordings as description indices; with `variants`, each index must exist in all of them
    (p.error, a usage error, otherwise)."""
    try:
        wordings = tuple(int(w) for w in text.split(",") if w)
    except ValueError:
        p.error(f"--wordings takes comma-separated description indices such as -2,-1, not {text!r}")
    fewest = min((len(v.descriptions) for v in variants), default=None)
    if not wordings or (fewest is not None and any(not -fewest <= w < fewest for w in wordings)):
        p.error(f"--wordings: use indices from {-fewest} to {fewest - 1}" if fewest else "--wordings: give at least one index")
    return wordings


def _emit(out: dict, path: Path | None) -> int:
    text = json.dumps(out, indent=1)
    if path:
        path.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
