"""Fuzzing: the validator never crashes, and never passes a file llama.cpp rejects.

Mutants of a good adapter (byte flips, truncations, inserted bytes, metadata rewrites) go to the
validator. It may only pass or raise T2LError. Every mutant it passes is then loaded into
llama.cpp in a separate process, which must accept it and evaluate without crashing.

Each mutant is built from one seed (tests/helpers/fuzz_cases.py): a failure names the seed, and
`.venv/bin/python -m scripts.fuzz_validator --seed S --cases 1` rebuilds that exact file. The run's
first seed is random (printed) unless T2L_FUZZ_SEED is set; scripts/fuzz_validator.py runs the
same generator on many more cases.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t2l_edge.core.errors import T2LError
from t2l_edge.core.text import normalize_description
from tests.helpers import fuzz_cases

pytestmark = pytest.mark.torch_free

STATS = {"descriptions": 0, "mutants": 0, "passed": 0}
N_MUTANTS = 400
MAX_LLAMA_CHECKS = 40  # keep the llama.cpp check quick


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_description_normalisation_never_crashes(text):
    STATS["descriptions"] += 1
    try:
        clean, warning = normalize_description(text)
    except T2LError:
        return
    assert clean and clean == clean.strip() and "  " not in clean
    assert len(clean) <= 2001
    assert (warning is None) == (len(" ".join(text.split())) <= 2000)


def _first_seed() -> int:
    env = os.environ.get("T2L_FUZZ_SEED")
    return int(env) if env else random.SystemRandom().randrange(2 ** 32)


def test_mutated_adapters(tmp_path):
    base, good = fuzz_cases.world(tmp_path)
    first = _first_seed()
    print(f"fuzz: seeds {first}..{first + N_MUTANTS - 1} (T2L_FUZZ_SEED={first} repeats this run)")
    again = f"reproduce: .venv/bin/python -m scripts.fuzz_validator --seed {{}} --cases 1 (this run: T2L_FUZZ_SEED={first})"
    cases = tmp_path / "cases"
    cases.mkdir()
    passed = []
    for seed in range(first, first + N_MUTANTS):
        STATS["mutants"] += 1
        path = fuzz_cases.case_file(cases, good, seed)
        verdict = fuzz_cases.validator_verdict(path, base)
        assert not verdict.startswith("crash"), f"seed {seed} {fuzz_cases.mutation(seed)}: validator {verdict}; {again.format(seed)}"
        if verdict == "passed":
            STATS["passed"] += 1
            if len(passed) < MAX_LLAMA_CHECKS:
                passed.append(path)
                continue
        path.unlink()
    assert STATS["mutants"] >= 400, f"ran only {STATS}"
    verdicts = fuzz_cases.llama_verdicts(base, passed)
    crashed = [p for p, v in verdicts.items() if v.startswith("crash")]
    assert not crashed, (f"llama.cpp crashed on validator-passed mutant(s) {[fuzz_cases.seed_of(p) for p in crashed]}: "
                         f"{verdicts[crashed[0]]}; {again.format(fuzz_cases.seed_of(crashed[0]))}")
    bad = {fuzz_cases.seed_of(p): v for p, v in verdicts.items() if v != "ok"}
    assert bad == {}, f"validator passed {len(bad)} file(s) llama.cpp rejected (seed: why): {dict(list(bad.items())[:3])}; " + \
        again.format(next(iter(bad), "S"))
    print(f"fuzz: {STATS['mutants']} mutants, {STATS['passed']} passed the validator, {len(verdicts)} of them loaded into llama.cpp")
