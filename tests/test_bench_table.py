"""Fast, offline: the README's speed table is what bench/readme_table.py renders from the
committed bench JSON files, so a rerun bench cannot leave stale figures in the README."""

from __future__ import annotations

import json
import shutil

import pytest

from bench import readme_table

pytestmark = pytest.mark.torch_free


def test_readme_table_matches_the_bench_json():
    text = readme_table.README.read_text()
    assert readme_table.replaced(text, readme_table.render()) == text, "run: python -m bench.readme_table"


def test_every_row_says_met_or_why_not():
    table = readme_table.render()
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and not ln.startswith("| measure")]
    assert len(rows) == len(readme_table.ROWS) == 7
    for row in rows:
        verdict = row.split(" | ")[3]
        assert verdict == "met" or "missed: " in verdict, row


def test_a_changed_figure_changes_the_table(tmp_path):
    for name in readme_table.FILES:
        shutil.copy(readme_table.RESULTS / f"{name}.json", tmp_path / f"{name}.json")
    ddp = json.loads((tmp_path / "train_ddp.json").read_text())
    ddp["ddp_speedup"] = 1.75
    (tmp_path / "train_ddp.json").write_text(json.dumps(ddp))
    row = next(ln for ln in readme_table.render(tmp_path).splitlines() if ln.startswith("| DDP"))
    assert "| 1.75x | ≥ 1.6x | met |" in row
