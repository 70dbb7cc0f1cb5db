import json

import pytest

from t2l_edge.cli import main

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too


@pytest.fixture(scope="module")
def bundle(stored_bundle):
    return stored_bundle  # the committed tiny bundle (read-only; outputs go to tmp_path)


def test_json_output_and_file(bundle, tmp_path, capsys):
    out = tmp_path / "a.gguf"
    assert main(["make-adapter", "answer yes or no", "--bundle", str(bundle), "-o", str(out), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip())
    assert rec["output"] == str(out) and rec["bytes"] == out.stat().st_size
    assert rec["base"]["arch"] == "llama" and rec["rank"] == 4 and rec["targets"] == ["q_proj", "v_proj"]
    assert rec["description"] == "answer yes or no."


def test_existing_output_refused_without_force(bundle, tmp_path, capsys):
    out = tmp_path / "a.gguf"
    out.write_bytes(b"keep me")
    assert main(["make-adapter", "answer", "--bundle", str(bundle), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["make-adapter", "answer", "--bundle", str(bundle), "-o", str(out), "--force"]) == 0
    assert out.read_bytes()[:4] == b"GGUF"


def test_from_file_batch_skips_blank_and_duplicate_lines(bundle, tmp_path, capsys):
    src = tmp_path / "tasks.txt"
    src.write_text("answer yes or no\n\n  \ntranslate into french\nanswer yes or no\n", encoding="utf-8")
    outdir = tmp_path / "out"
    outdir.mkdir()
    assert main(["make-adapter", "--from-file", str(src), "--out-dir", str(outdir), "--bundle", str(bundle), "--json"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [r["description"] for r in records] == ["answer yes or no.", "translate into french."]
    assert "repeats an earlier description" in captured.err
    assert sorted(p.name for p in outdir.iterdir()) == ["001-answer-yes-or-no.gguf", "002-translate-into-french.gguf"]


def test_bad_inputs_are_one_line_errors(bundle, tmp_path, capsys):
    assert main(["make-adapter", "   ", "--bundle", str(bundle), "-o", str(tmp_path / "x.gguf")]) == 2
    assert main(["make-adapter", "ok", "--bundle", str(bundle), "-o", str(tmp_path)]) == 2
    assert main(["make-adapter", "ok", "--bundle", str(tmp_path / "nope"), "-o", str(tmp_path / "y.gguf")]) == 2
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff\xfe broken\n")
    assert main(["make-adapter", "--from-file", str(bad), "--bundle", str(bundle)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err)
    assert not list(tmp_path.glob("*.gguf"))
