"""Schema of every committed description file, and the train/held-out split rule."""

import json

import pytest

from t2l_edge.data import descriptions as D
from t2l_edge.core.errors import T2LError


def test_every_committed_file_is_valid():
    files = sorted(D.FOLDER.glob("*.json"))
    for path in files:
        D.check_file(path)
    D.load_all.cache_clear()
    D.load_all()  # also: no task described twice


@pytest.mark.parametrize("bad, message", [
    ({"t.a": ["one"] * 8}, "repeats"),
    ({"t.a": ["x"] * 3}, "needs 8"),
    ({"bench.x": ["a", "b", "c", "d"]}, "needs 5"),
    ({"t.a": [f"d{i}" for i in range(7)] + [" padded"]}, "untrimmed"),
    ({"t.a": [f"d{i}" for i in range(7)] + ["x" * 700]}, "characters"),
])
def test_schema_violations_are_caught(tmp_path, bad, message):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(T2LError, match=message):
        D.check_file(p)


def test_split_rule(tmp_path, monkeypatch):
    (tmp_path / "x.json").write_text(json.dumps({"t.a": [f"d{i}" for i in range(10)], "bench.b": [f"b{i}" for i in range(5)]}))
    original = D.load_all.__wrapped__
    monkeypatch.setattr(D, "load_all", lambda: original(str(tmp_path)))
    assert D.descriptions("t.a", "train") == [f"d{i}" for i in range(8)]
    assert D.descriptions("t.a", "heldout") == ["d8", "d9"]
    assert D.descriptions("bench.b", "train") == [] and len(D.descriptions("bench.b", "heldout")) == 5
