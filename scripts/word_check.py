"""Word check: does the adapter answer the word its description names, and the right one of two?

For the held-out variants of `say_word_split` (answer the named word, whatever the input) and
`label_words_split` ("answer Y when the second sentence follows from the first, N otherwise",
over words no training pair used), greedy answers through llama.cpp on RTE validation inputs
from a task store, and for `rule_words_split` ("answer Y if the sentence has a digit / a comma,
N otherwise") on news sentences. An answer is `right` when its first word is the gold word,
`swapped` when it is the pair's other word, and `neither` otherwise. The families' own
validation CE and gap (train sft) reward naming either word of a pair; `swapped` tells naming
from binding. Each variant's inputs are balanced between its two gold words, so a generator
that always names one word scores as many `swapped` as `right`.

    .venv/bin/python -m scripts.word_check --bundle B --store DIR [--inputs 6] [--threads 2] [--json F]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

FAMILIES = ("say_word_split", "label_words_split", "rule_words_split")


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


def check_family(engine, gen, fam, store, inputs: int) -> dict:
    from t2l_edge.data import synthetic

    tasks = synthetic.build_family(fam, store.examples, "val")
    counts, examples = {"right": 0, "swapped": 0, "neither": 0}, []
    for v in fam.split_variants("val"):
        words = set(v.name.split("_")[-2:])
        engine.use(gen.make(v.descriptions[-1]))  # a wording training held out
        for ex in balanced(tasks[synthetic.task_id(fam, v)], inputs):
            got = first_word(engine.generate(ex.prompt, max_tokens=4, temperature=0.0).text)
            kind = "right" if got == ex.answer.lower() else "swapped" if got in words else "neither"
            counts[kind] += 1
            if len(examples) < 6:
                examples.append({"description": v.descriptions[-1], "gold": ex.answer, "answer": got})
    n = sum(counts.values())
    return {"n": n, **{k: round(c / n, 3) for k, c in counts.items()}, "examples": examples}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", type=Path, required=True, help="generator bundle")
    p.add_argument("--store", type=Path, required=True, help="task store with olmo.rte and olmo.mrpc (t2l-edge data build)")
    p.add_argument("--inputs", type=int, default=6, help="inputs per held-out variant, balanced between its two answers")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    from t2l_edge.data import synthetic
    from t2l_edge.data.store import TaskStore
    from t2l_edge.engine import Engine
    from t2l_edge.runtime import Generator

    gen, store = Generator.load(args.bundle), TaskStore(args.store)
    fams = {f.name: f for f in synthetic.FAMILIES}
    with Engine(None, n_threads=args.threads) as engine:
        out = {name: check_family(engine, gen, fams[name], store, args.inputs) for name in FAMILIES}
    out = {"bundle": str(args.bundle), "inputs_per_variant": args.inputs, "families": out}
    text = json.dumps(out, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
