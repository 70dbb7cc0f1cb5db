"""Steering check: does the description alone make the adapted model do the task?

Eleven user-style tasks (`t2l_edge/evaluation/steer.py`: sentiment with the labels named in the
description, yes/no general knowledge, addition, capital of a country, country of a city, a
word into French, antonym, plural, colour of a thing, first name from a sentence, repeat in
capitals), 20+ items each, written in code. The prompt carries only the input ("France",
"12 + 7"); the description says what to do. Greedy decoding through the chat template
(`Engine.generate`), scored by exact match after normalising case, punctuation and spaces, and
by a lenient match (the gold as whole words in the first line, no other label present).

Conditions, all on the same items:
  base         the bare base, input only
  own          the adapter made from the task's description, input only
  other        the adapter made from another task's description (a fixed rotation)
  prompt       the bare base with the description in front of the input
  own+prompt   the own adapter with the description in front of the input

Disjoint from training: the training side trains on code-built families of other kinds
(multiple-choice answer format renaming, NLI label renaming on RTE/MRPC/CB inputs, sentence
word operations such as copy / first / last / second / first three words, "is this question
about TOPIC? yes/no" on MMLU); none of the tasks here shares an input set or an output rule with
those, and none of their descriptions is in any training file.

    .venv/bin/python scripts/steer_check.py --out results/steer-check.json --md docs/steer-check.md
    .venv/bin/python scripts/steer_check.py --limit 3 --tasks capital,plural --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from t2l_edge.core.errors import T2LError

CONDITIONS = ("base", "own", "other", "prompt", "own+prompt")


def run(engine, gen, pairs, limit: int | None, conditions=CONDITIONS, log=print, guidance: float = 1.0) -> dict:
    """pairs: (task, the task that lends its description to the "other" condition); guidance as
    in `eval --guidance` (core/guidance.py), for both adapters."""
    from t2l_edge.evaluation.steer import match

    out = {}
    for task, lender in pairs:
        items = task.items[:limit] if limit else task.items
        own = gen.make(task.description, guidance)
        plan = {"base": (None, False), "own": (own, False), "other": (gen.make(lender.description, guidance), False),
                "prompt": (None, True), "own+prompt": (own, True)}
        res = {"description": task.description, "other_from": lender.name, "n": len(items), "conditions": {}}
        for cond in conditions:
            adapter, in_prompt = plan[cond]
            if adapter is None:
                engine.clear()
            else:
                engine.use(adapter)
            t0, answers = time.perf_counter(), []
            for inp, gold in items:
                prompt = f"{task.description}\n\n{inp}" if in_prompt else inp
                text = engine.generate(prompt, max_tokens=task.max_tokens, temperature=0.0).text
                answers.append({"input": inp, "gold": gold, "answer": text, **match(task, text, gold)})
            res["conditions"][cond] = {"exact": sum(a["exact"] for a in answers) / len(answers),
                                       "lenient": sum(a["lenient"] for a in answers) / len(answers), "answers": answers}
            log(f"{task.name:13s} {cond:11s} exact {res['conditions'][cond]['exact']:.2f}  lenient "
                f"{res['conditions'][cond]['lenient']:.2f}  ({time.perf_counter() - t0:.0f} s)")
        out[task.name] = res
    return out


def markdown(tasks: dict, conditions, examples: int = 2) -> str:
    lines = ["| task | " + " | ".join(conditions) + " |", "|---|" + "---|" * len(conditions)]
    for name, r in tasks.items():
        cells = [f"{100 * r['conditions'][c]['exact']:.0f} ({100 * r['conditions'][c]['lenient']:.0f})" for c in conditions]
        lines.append(f"| {name} (n={r['n']}) | " + " | ".join(cells) + " |")
    avg = [f"{100 * sum(r['conditions'][c]['exact'] for r in tasks.values()) / len(tasks):.0f} "
           f"({100 * sum(r['conditions'][c]['lenient'] for r in tasks.values()) / len(tasks):.0f})" for c in conditions]
    lines.append("| **average** | " + " | ".join(avg) + " |")
    if "own" in conditions and "other" in conditions:
        wins = sum(r["conditions"]["own"]["lenient"] > r["conditions"]["other"]["lenient"] for r in tasks.values())
        lines += ["", f"own description beats another task's description (lenient) on {wins} of {len(tasks)} tasks."]
    lines += ["", "exact match in %, lenient match in brackets. Example answers (greedy):", ""]
    for name, r in tasks.items():
        for j in range(min(examples, r["n"])):
            first = r["conditions"][conditions[0]]["answers"][j]
            shown = "; ".join(f"{c} `{' '.join(r['conditions'][c]['answers'][j]['answer'].split())[:40]}`" for c in conditions)
            lines.append(f"- {name}: `{first['input']}` (gold `{first['gold']}`): {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="example: .venv/bin/python scripts/steer_check.py --limit 20 --out results/steer-check.json")
    p.add_argument("--bundle", type=Path, default=None, help="generator bundle (default models/default)")
    p.add_argument("--base", type=Path, default=None, help="base GGUF (default SmolLM2-135M-Instruct Q4_1)")
    p.add_argument("--tasks", default="", help="comma-separated task names (default: all 11)")
    p.add_argument("--limit", type=int, default=None, help="items per task (default: all, 20-24)")
    p.add_argument("--conditions", default=",".join(CONDITIONS), help=f"subset of {','.join(CONDITIONS)}")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--guidance", type=float, default=1.0, help="scale the adapters' difference from the description-free one (1 = off)")
    p.add_argument("--out", type=Path, default=None, help="JSON with every answer")
    p.add_argument("--md", type=Path, default=None, help="markdown table with example answers")
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    args = p.parse_args(argv)
    try:
        return _main(args)
    except T2LError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2


def _main(args) -> int:
    import subprocess

    from t2l_edge.core.atomic import atomic_output, check_output_path
    from t2l_edge.engine import Engine
    from t2l_edge.evaluation.steer import other_task
    from t2l_edge.evaluation.steer import tasks as all_tasks
    from t2l_edge.runtime import Generator

    for path in (args.out, args.md):
        if path:
            check_output_path(path, args.force)
    known = all_tasks()
    names = [t for t in args.tasks.split(",") if t] or [t.name for t in known]
    conditions = [c for c in args.conditions.split(",") if c]
    bad = [n for n in names if n not in {t.name for t in known}] + [c for c in conditions if c not in CONDITIONS]
    if bad:
        raise T2LError(f"unknown task or condition: {', '.join(bad)}",
                       f"tasks: {', '.join(t.name for t in known)}; conditions: {', '.join(CONDITIONS)}")
    # the "other" rotation runs over all tasks, so a subset keeps the same lenders
    pairs = [(t, other_task(known, i)) for i, t in enumerate(known) if t.name in names]
    gen, t0 = Generator.load(args.bundle), time.perf_counter()
    with Engine(args.base, n_threads=args.threads) as engine:
        res = run(engine, gen, pairs, args.limit, conditions, log=lambda s: print(s, file=sys.stderr), guidance=args.guidance)
    result = {"kind": "steer-check", "bundle": str(gen.bundle_dir), "bundle_id": gen.manifest.bundle_id, "guidance": args.guidance,
              "limit": args.limit, "conditions": conditions, "tasks": res, "seconds": time.perf_counter() - t0,
              "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()}
    text = markdown(res, conditions)
    for path, body in ((args.out, json.dumps(result, indent=1, ensure_ascii=False)), (args.md, text + "\n")):
        if path:
            with atomic_output(path, force=args.force) as tmp:
                tmp.write_text(body, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
