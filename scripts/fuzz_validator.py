"""Fuzz the adapter validator on many seeded mutants (the generator of tests/test_fuzz_validator.py)
and print a JSON summary: validator crashes, false accepts and false refusals.

    .venv/bin/python -m scripts.fuzz_validator [--cases 10000] [--seed S] [--examples 5]

Case i is seed S+i; `--seed X --cases 1` rebuilds exactly the file of seed X. For each mutant:
- crash: the validator raised something other than T2LError;
- false accept: the validator passed it, but llama.cpp (in a child process) refused it or died;
- false refusal: the validator refused it, but llama.cpp's own loader (no validator in front) took it. Some are
  deliberate (the validator is stricter than llama.cpp by design); the examples say which.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.helpers import fuzz_cases


def run(cases: int, seed: int, examples: int, check_refusals: bool = True) -> dict:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="t2l-fuzz-") as tmp:
        d = Path(tmp)
        base, good = fuzz_cases.world(d)
        folder = d / "cases"
        folder.mkdir()
        verdicts: dict[int, str] = {}
        for s in range(seed, seed + cases):
            verdicts[s] = fuzz_cases.validator_verdict(fuzz_cases.case_file(folder, good, s), base)
        passed = [s for s, v in verdicts.items() if v == "passed"]
        refused = [s for s, v in verdicts.items() if v.startswith("refused")]
        files = lambda seeds: [folder / f"seed-{s}.gguf" for s in seeds]  # noqa: E731
        # passed: through Engine.use and one evaluation; refused: raw into llama.cpp (no validator).
        llama = {fuzz_cases.seed_of(p): v for p, v in fuzz_cases.llama_verdicts(base, files(passed), timeout=3600).items()}
        if check_refusals:
            llama.update({fuzz_cases.seed_of(p): v for p, v in
                          fuzz_cases.llama_verdicts(base, files(refused), timeout=3600, raw=True).items()})
    crashes = {s: v for s, v in verdicts.items() if v.startswith("crash")}
    false_accepts = {s: llama[s] for s in passed if llama.get(s) != "ok"}
    false_refusals = {s: verdicts[s] for s in refused if llama.get(s) == "ok"} if check_refusals else {}
    llama_crashed_on_refused = sum(1 for s in refused if llama.get(s, "").startswith("crash"))

    def first(d: dict) -> dict:
        return {str(s): {"mutation": dict(zip(("kind", "pos", "value", "cut"), fuzz_cases.mutation(s))), "why": v}
                for s, v in list(d.items())[:examples]}

    return {
        "cases": cases, "first_seed": seed, "seconds": round(time.monotonic() - t0, 1),
        "validator": {"passed": len(passed), "refused": len(refused), "crashed": len(crashes)},
        "by_kind": {fuzz_cases.KINDS[k]: n for k, n in sorted(Counter(fuzz_cases.mutation(s)[0] for s in verdicts).items())},
        "llama_cpp_loaded": len(llama), "llama_cpp_crashed_on_refused": llama_crashed_on_refused if check_refusals else None,
        "crashes": len(crashes), "false_accepts": len(false_accepts),
        "false_refusals": len(false_refusals) if check_refusals else None,
        "false_refusal_reasons": dict(Counter(v.split(":", 2)[-1].strip()[:80] for v in false_refusals.values()).most_common(10)),
        "examples": {"crashes": first(crashes), "false_accepts": first(false_accepts), "false_refusals": first(false_refusals)},
        "reproduce": "python -m scripts.fuzz_validator --seed SEED --cases 1",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description="Fuzz the adapter validator against llama.cpp.")
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=None, help="first seed (default: random, printed in the summary)")
    ap.add_argument("--examples", type=int, default=5, help="examples listed per category")
    ap.add_argument("--no-refusal-check", action="store_true", help="skip loading refused mutants into llama.cpp")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    summary = run(args.cases, seed, args.examples, check_refusals=not args.no_refusal_check)
    print(json.dumps(summary, indent=1))
    return 1 if summary["crashes"] or summary["false_accepts"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
