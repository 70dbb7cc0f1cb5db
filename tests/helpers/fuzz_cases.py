"""Seeded mutants of a good adapter for the validator fuzz test and scripts/fuzz_validator.py.

Case `seed` is fully determined by its seed: mutate(good, *mutation(seed)) rebuilds the exact
file, so any failure is reproduced with `.venv/bin/python -m scripts.fuzz_validator --seed S
--cases 1`. llama.cpp loads files in a child process (its binding can segfault on a bad
adapter): one child for a batch, restarted after the file it died on.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KINDS = ("flip a byte", "flip a header byte", "truncate", "insert header bytes", "wild 64-bit header value")


def world(d: Path) -> tuple[Path, bytes]:
    """The tiny llama base and the bytes of a good f16 adapter for it."""
    from t2l_edge.core.basemodel import read_base_spec
    from t2l_edge.formats.gguf_adapter import write_gguf
    from tests.helpers.tinyllama import TinyLlama, random_adapter

    d.mkdir(parents=True, exist_ok=True)
    base = TinyLlama().write(d / "tiny.gguf")
    good = write_gguf(random_adapter(read_base_spec(base), description="fuzz me"), d / "good.gguf", dtype="f16")
    return base, good.read_bytes()


def mutation(seed: int) -> tuple[int, int, int, int]:
    """(kind, pos, value, cut) for case `seed`: the same ranges the hypothesis strategy used."""
    rng = random.Random(seed)
    return rng.randint(0, 4), rng.randint(0, 10 ** 6), rng.randint(0, 2 ** 32), rng.randint(0, 10 ** 6)


def mutate(data: bytes, kind: int, pos: int, value: int, cut: int) -> bytes:
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


def case_file(folder: Path, good: bytes, seed: int) -> Path:
    path = folder / f"seed-{seed}.gguf"
    path.write_bytes(mutate(good, *mutation(seed)))
    return path


def validator_verdict(path: Path, base: Path) -> str:
    """'passed', 'refused: <one line>' or 'crash: <exception>' (anything but T2LError)."""
    from t2l_edge.core.errors import T2LError
    from t2l_edge.formats.validate import validate_adapter

    try:
        validate_adapter(path, base)
    except T2LError as exc:
        return "refused: " + exc.one_line()
    except Exception as exc:  # noqa: BLE001 - a crash is what we are looking for
        return f"crash: {type(exc).__name__}: {exc}"
    return "passed"


_CHILD = textwrap.dedent("""
    import json, os, sys
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    from t2l_edge.engine import Engine
    with Engine(sys.argv[1], n_ctx=64) as eng:
        for p in json.loads(sys.stdin.read()):  # on stdin: 10,000 paths overflow an argv
            print(json.dumps(["START", p, ""]), flush=True)
            if sys.argv[2] == "raw":  # straight to llama.cpp, skipping our validator
                ptr = eng._lib.llama_adapter_lora_init(eng._model, p.encode())
                if ptr:
                    eng._lib.llama_adapter_lora_free(ptr)
                print(json.dumps(["OK" if ptr else "ERROR", p, "" if ptr else "llama.cpp returned NULL"]), flush=True)
                continue
            try:
                eng.use(p)
                eng.logits([1, 5, 9])
                eng.clear()
                print(json.dumps(["OK", p, ""]), flush=True)
            except Exception as e:
                print(json.dumps(["ERROR", p, f"{type(e).__name__}: {e}"]), flush=True)
""")


def llama_verdicts(base: Path, paths: list[Path], timeout: float = 300.0, raw: bool = False) -> dict[str, str]:
    """str(path) -> 'ok', 'error: ...' (refused) or 'crash: exit N' (the child died on it; a fresh
    child goes on with the next file). Through Engine.use plus one evaluation, or with raw=True
    straight into llama_adapter_lora_init (no validator in front: it may segfault)."""
    out: dict[str, str] = {}
    todo = [str(p) for p in paths]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    while todo:
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(base), "raw" if raw else "engine"], input=json.dumps(todo),
                              capture_output=True, text=True, cwd=REPO, timeout=timeout, env=env)
        current = None
        for line in proc.stdout.splitlines():
            if not line.startswith("["):
                continue
            tag, p, msg = json.loads(line)
            if tag == "START":
                current = p
            else:
                out[p] = "ok" if tag == "OK" else "error: " + msg
                current = None
        if proc.returncode == 0 and current is None:
            break
        if current is None:  # died before or after every file: nothing to attribute it to
            raise RuntimeError(f"llama.cpp child failed (exit {proc.returncode}): {proc.stderr[-500:]}")
        out[current] = f"crash: exit {proc.returncode} ({proc.stderr.strip().splitlines()[-1:] or ''})"
        todo = todo[todo.index(current) + 1:]
    return out


def seed_of(path: str | Path) -> int:
    return int(Path(path).stem.split("-", 1)[1])
