"""Regenerate the malformed-adapter table of docs/upstream.md: every case of
tests/helpers/bad_adapters.py (built for the real SmolLM2 base) through our validator and through
upstream llama-server (built by scripts/build_llama_tools.sh), side by side.

    .venv/bin/python -m scripts.upstream_table [--doc docs/upstream.md]

The table sits between the two marker comments; tests/test_upstream_bad_slow.py checks that it
is exactly what a fresh run measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- upstream-table:begin -->", "<!-- upstream-table:end -->"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc", default=str(REPO / "docs" / "upstream.md"))
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tests.helpers import upstream_bad
    from tests.helpers import upstream_tools as up

    reason = up.missing_reason("llama-server")
    if reason:
        sys.exit(f"error: {reason}")
    with tempfile.TemporaryDirectory() as d:
        table = upstream_bad.markdown(upstream_bad.compare_all(up.bin_dir(), Path(d)))
    doc = Path(args.doc)
    text = doc.read_text("utf-8")
    if BEGIN not in text or END not in text:
        sys.exit(f"error: {doc} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", "utf-8")
    print(table)


if __name__ == "__main__":
    main()
