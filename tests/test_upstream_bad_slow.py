"""Malformed adapters through upstream llama-server next to our validator (tests/helpers/upstream_bad.py).

Records the comparison: the table in docs/upstream.md must be exactly what this run measured
(regenerate it with `.venv/bin/python -m scripts.upstream_table`). And the validator must be at
least as strict as upstream: nothing llama-server refuses or crashes on may pass our checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import upstream_bad
from tests.helpers import upstream_tools as up

pytestmark = pytest.mark.slow
DOC = Path(__file__).resolve().parent.parent / "docs" / "upstream.md"


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    reason = up.missing_reason("llama-server")
    if reason:
        pytest.skip(reason)
    rows = upstream_bad.compare_all(up.bin_dir(), tmp_path_factory.mktemp("bad-upstream"))
    print("\n" + upstream_bad.markdown(rows))
    return rows


def test_we_refuse_every_case_with_our_message(rows):
    for r in rows:
        assert r["ours"]["verdict"] == "refused", r["case"]
        assert r["ours"]["expected_fragment"] in r["ours"]["message"], r


def test_nothing_upstream_refuses_gets_past_us(rows):
    for r in rows:
        if r["upstream"]["verdict"] != "accepted":
            assert r["ours"]["verdict"] == "refused", r


def test_docs_table_is_what_upstream_said(rows):
    assert upstream_bad.markdown(rows) in DOC.read_text("utf-8"), (
        "docs/upstream.md is stale: run .venv/bin/python -m scripts.upstream_table")
