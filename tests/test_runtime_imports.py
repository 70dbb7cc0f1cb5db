"""The runtime path never imports torch or transformers (checked in a fresh interpreter)."""

import subprocess
import sys
import textwrap

from tiny_models import tiny_bundle, tiny_encoder


def test_make_adapter_path_imports_no_torch(tmp_path):
    folder, _, _ = tiny_bundle(tmp_path / "b", "M", encoder=tiny_encoder(tmp_path / "enc"))
    code = textwrap.dedent(f"""
        import sys
        import t2l_edge.cli, t2l_edge.runtime, t2l_edge.bundle, t2l_edge.engine, t2l_edge.validate
        from t2l_edge.cli import main
        rc = main(["make-adapter", "answer yes or no", "--bundle", r"{folder}", "-o", r"{tmp_path / 'a.gguf'}", "--json"])
        assert rc == 0, rc
        rc = main(["make-adapter", "answer yes or no", "--bundle", r"{folder}", "--format", "peft", "-o", r"{tmp_path / 'p'}"])
        assert rc == 0, rc
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
        print("HEAVY", heavy)
        assert not heavy, heavy
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "HEAVY []" in out.stdout


def test_serve_path_imports_no_torch(tmp_path):
    """`t2l-edge serve`'s modules, an app built on the tiny models and one completion through
    it (adapter generated, validated, applied) load neither torch nor transformers."""
    import pytest

    pytest.importorskip("fastapi")
    pytest.importorskip("llama_cpp")
    from serve_fixtures import tiny_world

    world = tiny_world(tmp_path / "w")
    code = textwrap.dedent(f"""
        import sys
        import t2l_edge.commands.serve, t2l_edge.server, t2l_edge.server.app
        from starlette.testclient import TestClient
        from t2l_edge.engine import Engine
        from t2l_edge.runtime import Generator
        from t2l_edge.server import build_app
        with Engine(r"{world['base']}", n_ctx=128, n_threads=1) as engine:
            app = build_app(engine, Generator.load(r"{world['bundle']}", threads=1), r"{world['adapters']}")
            with TestClient(app) as client:
                r = client.post("/v1/chat/completions", json={{"model": "tiny", "max_tokens": 2,
                                "messages": [{{"role": "user", "content": "hi"}}], "t2l": {{"description": "answer yes"}}}})
                assert r.status_code == 200, r.text
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
        print("HEAVY", heavy)
        assert not heavy, heavy
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "HEAVY []" in out.stdout
