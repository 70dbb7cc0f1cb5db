"""Property-based fuzzing: the validator never crashes, and never passes a file llama.cpp rejects.

Mutants of a good adapter (byte flips, truncations, inserted bytes, metadata rewrites) go to the
validator. It may only pass or raise T2LError. Every mutant it passes is then loaded into
llama.cpp in a separate process, which must accept it and evaluate without crashing.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from t2l_edge.core.basemodel import read_base_spec
from t2l_edge.core.errors import T2LError
from t2l_edge.formats.gguf_adapter import write_gguf
from t2l_edge.core.text import normalize_description
from t2l_edge.formats.validate import validate_adapter
from tinyllama import TinyLlama, random_adapter

REPO = Path(__file__).resolve().parent.parent
STATS = {"descriptions": 0, "mutants": 0, "passed": 0}


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


def _world(d: Path):
    base = TinyLlama().write(d / "tiny.gguf")
    spec = read_base_spec(base)
    good = write_gguf(random_adapter(spec, description="fuzz me"), d / "good.gguf", dtype="f16")
    return base, good.read_bytes()


_D = Path(os.environ.get("PYTEST_FUZZ_DIR", "")) if os.environ.get("PYTEST_FUZZ_DIR") else None


def _mutate(data: bytes, kind: int, pos: int, value: int, cut: int) -> bytes:
    b = bytearray(data)
    if kind == 0:  # flip a byte anywhere
        b[pos % len(b)] ^= (value % 255) + 1
    elif kind == 1:  # flip a byte in the header/metadata, where structure lives
        b[pos % min(len(b), 1200)] ^= (value % 255) + 1
    elif kind == 2:  # truncate
        b = b[: cut % len(b)]
    elif kind == 3:  # insert bytes into the header
        at = pos % min(len(b), 1200)
        b[at:at] = bytes([value % 256]) * (1 + cut % 16)
    elif kind == 4:  # rewrite a 64-bit count or dimension in the header with a wild value
        at = 8 + (pos % 100) * 8
        if at + 8 <= len(b):
            b[at:at + 8] = struct.pack("<Q", [0, 1, 2 ** 31, 2 ** 63, value][value % 5])
    return bytes(b)


def test_mutated_adapters(tmp_path):
    base, good = _world(tmp_path)
    passed_dir = tmp_path / "passed"
    passed_dir.mkdir()

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, 4), st.integers(0, 10 ** 6), st.integers(0, 2 ** 32), st.integers(0, 10 ** 6))
    def check(kind, pos, value, cut):
        STATS["mutants"] += 1
        path = tmp_path / "m.gguf"
        path.write_bytes(_mutate(good, kind, pos, value, cut))
        try:
            validate_adapter(path, base)
        except T2LError:
            return
        STATS["passed"] += 1
        if len(list(passed_dir.iterdir())) < 40:  # keep the llama.cpp check quick
            (passed_dir / f"{STATS['mutants']}.gguf").write_bytes(path.read_bytes())

    check()
    assert STATS["mutants"] >= 400, f"hypothesis ran only {STATS}"
    code = textwrap.dedent(f"""
        import os, sys, json
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        from pathlib import Path
        from t2l_edge.engine import Engine
        bad = []
        with Engine(r"{base}", n_ctx=64) as eng:
            for p in sorted(Path(r"{passed_dir}").iterdir()):
                try:
                    eng.use(p)
                    logits = eng.logits([1, 5, 9])
                    eng.clear()
                except Exception as e:
                    bad.append(f"{{p.name}}: {{e}}")
        print(json.dumps(bad))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, f"llama.cpp crashed (exit {out.returncode}) on a validator-passed mutant: {out.stderr[-500:]}"
    bad = json.loads(out.stdout.strip().splitlines()[-1])
    assert bad == [], f"validator passed {len(bad)} file(s) llama.cpp rejected: {bad[:3]}"
    print(f"fuzz: {STATS['mutants']} mutants, {STATS['passed']} passed the validator, "
          f"{len(list(passed_dir.iterdir()))} of them loaded into llama.cpp")
