"""Every bad input ends in one line that names the problem and the fix, a non-zero exit, no
traceback, and no partial or overwritten file. Cases live in hardening_cases.py."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

from hardening_cases import build_world
from t2l_edge.cli import main

# Built once at collection so every case is its own test id.
_ROOT = Path(tempfile.mkdtemp(prefix="t2l-hardening-"))
atexit.register(shutil.rmtree, _ROOT, True)
WORLD, CASES = build_world(_ROOT / "w")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}: {c.name}" for c in CASES])
def test_bad_input(case, capsys, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    rc = main(case.argv)
    err = capsys.readouterr().err
    if not case.expect:
        assert rc == 0, err
        return
    # `inspect` reports a refused adapter as its verdict ("INVALID ..."), every other command as "error: ...".
    lines = [line for line in err.splitlines() if line.startswith(("error: ", "INVALID "))]
    assert rc != 0
    assert len(lines) == 1, err
    assert case.expect in lines[0], lines[0]
    assert lines[0].endswith(")"), "the error must say what to do, in parentheses"
    assert "Traceback" not in err
    for path in case.must_not_exist:
        assert not path.exists()
    for path, data in case.must_keep.items():
        assert path.read_bytes() == data
    assert not [p for p in WORLD["out"].iterdir() if p.name.endswith(".tmp")]


def test_long_description_warns_how_much_was_used(capsys):
    out = WORLD["out"] / "long2.gguf"
    assert main(["make-adapter", "answer yes " * 10000, "--bundle", str(WORLD["bundle"]), "-o", str(out)]) == 0
    assert "only the first 2,000 were used" in capsys.readouterr().err
