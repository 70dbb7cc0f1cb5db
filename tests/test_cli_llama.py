"""CLI `inspect` and `generate` on the tiny base, and the no-torch rule for the llama.cpp path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from t2l_edge.core.basemodel import read_base_spec
from t2l_edge.cli import main
from t2l_edge.formats.gguf_adapter import write_gguf
from tests.helpers.tinyllama import TinyLlama, random_adapter

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_base):
    d = tmp_path_factory.mktemp("cli")
    base = tiny_base
    other = TinyLlama(seed=5).write(d / "other.gguf")
    adapter = write_gguf(random_adapter(read_base_spec(base), description="greet people"), d / "a.gguf")
    return {"base": base, "other": other, "adapter": adapter}


def _run(capsys, args):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inspect_json(files, capsys):
    code, out, _ = _run(capsys, ["inspect", str(files["adapter"]), "--base", str(files["base"]), "--json"])
    assert code == 0
    info = json.loads(out)
    assert info["valid"] and info["base_verified"]
    assert (info["description"], info["rank"], info["targets"]) == ("greet people", 4, ["q_proj", "v_proj"])
    assert len(info["delta_norms"]["q_proj"]) == 2 and info["generator"] == "tests"


def test_inspect_table_and_mismatch(files, capsys):
    code, out, _ = _run(capsys, ["inspect", str(files["adapter"]), "--base", str(files["base"])])
    assert code == 0 and "greet people" in out and "VALID" in out and "ΔW" in out
    code, out, err = _run(capsys, ["inspect", str(files["adapter"]), "--base", str(files["other"]), "--json"])
    assert code == 1 and json.loads(out)["valid"] is False and "was made for base" in json.loads(out)["error"]
    code, out, _ = _run(capsys, ["inspect", str(files["adapter"]), "--base", str(files["other"]),
                                 "--allow-base-mismatch", "--json"])
    assert code == 0 and json.loads(out)["base_verified"] is False


def test_generate_json(files, capsys):
    pytest.importorskip("llama_cpp")
    args = ["generate", "--adapter", str(files["adapter"]), "--base", str(files["base"]), "--prompt", "hi",
            "--max-tokens", "6", "--threads", "2", "--json"]
    code, out, _ = _run(capsys, args)
    assert code == 0
    res = json.loads(out)
    assert res["n_gen_tokens"] <= 6 and res["n_prompt_tokens"] > 0 and res["adapter"]["description"] == "greet people"
    assert res["tokens_per_s"] >= 0 and isinstance(res["text"], str)


def test_generate_streams_and_reports_speed(files, capsys):
    pytest.importorskip("llama_cpp")
    code, out, err = _run(capsys, ["generate", "-a", str(files["adapter"]), "--base", str(files["base"]),
                                   "-p", "hi", "-n", "4", "--threads", "2"])
    assert code == 0 and "tok/s" in err


def test_generate_bad_adapter_is_one_line_error(files, capsys, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"")
    code, out, err = _run(capsys, ["generate", "-a", str(bad), "--base", str(files["base"]), "-p", "hi"])
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["inspect", "generate", "chat"])
def test_help_has_example(command, capsys):
    code, out, _ = _run(capsys, [command, "--help"])
    assert code == 0 and "Example" in out and "t2l-edge " + command in out


def test_llama_path_never_imports_torch():
    code = ("import sys, t2l_edge.engine, t2l_edge.formats.validate, t2l_edge.commands.generate, "
            "t2l_edge.commands.inspect_adapter, t2l_edge.commands.chat; "
            "bad = [m for m in ('torch', 'transformers') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_chat_compare_json_with_stub_generator(files, capsys, monkeypatch):
    """chat wiring (make in memory -> validate -> apply -> answer, plus the base answer),
    with the ONNX generator replaced by a stub so this runs without a bundle."""
    pytest.importorskip("llama_cpp")
    import t2l_edge.commands.chat as chat_mod

    adapter = random_adapter(read_base_spec(files["base"]), description="be terse")
    monkeypatch.setattr(chat_mod, "_make_adapter", lambda desc, bundle: (None, adapter, 1.5))
    code, out, _ = _run(capsys, ["chat", "be terse", "--base", str(files["base"]), "--prompt", "hi",
                                 "--compare", "--max-tokens", "4", "--threads", "2", "--json"])
    assert code == 0
    res = json.loads(out)
    assert res["adapter"]["description"] == "be terse" and res["adapter"]["base_verified"]
    assert "answer" in res and "base_answer" in res and res["make_adapter_ms"] == 1.5


def test_chat_desc_in_prompt_answers_the_prefixed_prompt_and_counts_its_tokens(files, capsys, monkeypatch):
    pytest.importorskip("llama_cpp")
    import t2l_edge.commands.chat as chat_mod
    from t2l_edge.engine import Engine

    adapter = random_adapter(read_base_spec(files["base"]), description="be terse")
    monkeypatch.setattr(chat_mod, "_make_adapter", lambda desc, bundle: (None, adapter, 1.5))
    code, out, _ = _run(capsys, ["chat", "be terse", "--base", str(files["base"]), "--prompt", "hi", "--desc-in-prompt",
                                 "--max-tokens", "4", "--threads", "2", "--json"])
    assert code == 0
    res = json.loads(out)
    with Engine(files["base"], n_threads=2) as engine:
        engine.use(adapter)
        want = engine.generate("be terse\n\nhi", max_tokens=4).text
        extra = len(engine.prompt_tokens(engine.format_chat("be terse\n\nhi"), chat=True)) - \
            len(engine.prompt_tokens(engine.format_chat("hi"), chat=True))
    assert res["answer"] == want and res["desc_in_prompt"] is True
    assert res["in_prompt_tokens"] == extra > 0


def test_chat_rich_compare_with_stub_generator(files, capsys, monkeypatch):
    pytest.importorskip("llama_cpp")
    import t2l_edge.commands.chat as chat_mod

    adapter = random_adapter(read_base_spec(files["base"]), description="be terse")
    monkeypatch.setattr(chat_mod, "_make_adapter", lambda desc, bundle: (None, adapter, 1.5))
    code, out, _ = _run(capsys, ["chat", "be terse", "--base", str(files["base"]), "-p", "hi", "--compare",
                                 "-n", "4", "--threads", "2"])
    assert code == 0 and "base" in out and "adapted" in out


def test_chat_nearest_names_the_closest_pool_tasks(files, capsys, monkeypatch):
    pytest.importorskip("llama_cpp")
    import numpy as np

    import t2l_edge.commands.chat as chat_mod
    from t2l_edge.runtime.task_bank import TaskBank

    class FakeGenerator:  # the two calls chat makes for --nearest, on a 3-task bank
        def task_bank(self, announce=None):
            return TaskBank(["olmo.sst2", "olmo.rte", "mmlu.anatomy"], np.eye(3, 4, dtype=np.float32), 1.0)

        def embed(self, texts):
            return np.array([[0.2, 0.9, 0.1, 0.0]], dtype=np.float32)

    adapter = random_adapter(read_base_spec(files["base"]), description="be terse")
    monkeypatch.setattr(chat_mod, "_make_adapter", lambda desc, bundle: (FakeGenerator(), adapter, 1.5))
    code, out, err = _run(capsys, ["chat", "be terse", "--base", str(files["base"]), "-p", "hi", "-n", "2",
                                   "--threads", "2", "--json", "--nearest"])
    assert code == 0 and "unlike every task" not in err  # the best cosine, 0.97, is far above the warning's line
    near = json.loads(out)["nearest"]
    assert [n["task"] for n in near] == ["olmo.rte", "olmo.sst2", "mmlu.anatomy"]
