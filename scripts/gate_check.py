#!/usr/bin/env python
"""How far a generator's object row gate opens, on groups of descriptions none of it trained on.

The object row (hypernet/word_path.py) should act only on descriptions that name a word to look
for; its gate (HyperConfig.word_which_object_gate) decides that. This prints, per group, the mean
gate and the share above one half: word-rule descriptions of held-out pairs, in trained wordings
and in held-out ones (where it should open), the held-out pool tasks' descriptions, the held-out
wordings of every other code-built family, nonsense strings, and a few requests written here, as
users type them.

    .venv/bin/python -m scripts.gate_check --init runs/roles-gate --store DIR \\
        --heldout mmlu.anatomy,olmo.sst2 [--json F]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

# Written for this check, never trained on: the first five name a word to look for.
USER_OPEN = ("Does the list mention a dog? Say Y or N.", "Reply yes when the word 'river' appears, else no.",
             "Answer 1 if the text has the word piano in it and 0 if it does not.",
             "Tell me whether 'garden' is one of the words: yes or no.", "Output A when you see the word candle, B otherwise.")
USER_SHUT = ("Classify the sentiment of the review as positive or negative.", "Translate the sentence into French.",
             "Count the words in the sentence and answer with the number.", "Answer with the capital city of the country.",
             "Repeat the text in capital letters.", "Extract the first name mentioned in the text.",
             "Is the statement true or false?", "Summarise the paragraph in one sentence.")


def groups(store, heldout: list[str]) -> dict[str, tuple[list[str], bool]]:
    """name -> (descriptions, whether the gate should open on them)."""
    from t2l_edge.data import synthetic
    from t2l_edge.train import roles
    from t2l_edge.train.conflict import split_descriptions
    from t2l_edge.train.tasks import task_descriptions

    fam = synthetic.RULE_WORDS_COMPOSED_WORD
    others = roles._other_descriptions("val", {fam.name})
    nonsense = others[len(others) - roles.GATE_NONSENSE:]
    held = fam.split_variants("val")
    return {
        "word rules: held-out pairs": ([d for v in held for d in split_descriptions(v.descriptions, "train")], True),
        "word rules: held-out pairs and wordings": ([d for v in held for d in split_descriptions(v.descriptions, "val")], True),
        "users: names a word": (list(USER_OPEN), True),
        "held-out pool tasks": ([d for t in heldout for d in task_descriptions(store, t, "heldout", False)], False),
        "other families (held-out wordings)": (others[:len(others) - roles.GATE_NONSENSE], False),
        "nonsense": (nonsense, False),
        "users: other requests": (list(USER_SHUT), False),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--init", type=Path, required=True, help="generator folder with an object row gate")
    p.add_argument("--store", type=Path, required=True, help="task store (the held-out pool tasks' descriptions)")
    p.add_argument("--heldout", default="", help="comma-separated held-out pool tasks")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import torch

    from t2l_edge.data.store import TaskStore
    from t2l_edge.hypernet.checkpoint import load_hypernet
    from t2l_edge.train.tasks import DescriptionEmbedder

    torch.set_num_threads(args.threads)
    net, _ = load_hypernet(args.init)
    if not net.cfg.word_which_object_gate:
        p.error(f"{args.init} has no object row gate (hypernet.word_which_object_gate = 0)")
    embed = DescriptionEmbedder(pieces=True, values=net.cfg.piece_values)
    out = {}
    for name, (texts, should_open) in groups(TaskStore(args.store), [t for t in args.heldout.split(",") if t]).items():
        with torch.no_grad():
            gate = net.word_path.gate(net.object_gate_input(torch.from_numpy(embed(texts)))).numpy()
        out[name] = {"n": len(texts), "should_open": should_open, "mean": round(float(gate.mean()), 3),
                     "open_share": round(float((gate > 0.5).mean()), 3)}
        if name.startswith("users"):
            out[name]["each"] = {t: round(float(g), 3) for t, g in zip(texts, gate)}
        print(f"{name:24s} n={len(texts):4d}  should {'open' if should_open else 'shut'}: "
              f"mean {out[name]['mean']:.3f}, open {out[name]['open_share']:.0%}")
    if args.json:
        args.json.write_text(json.dumps({"init": str(args.init), "groups": out}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
