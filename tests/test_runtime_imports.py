"""The runtime path never imports torch or transformers (checked in a fresh interpreter)."""

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too


def test_make_adapter_path_imports_no_torch(tmp_path, stored_bundle):
    folder = stored_bundle
    code = textwrap.dedent(f"""
        import sys
        import t2l_edge.cli, t2l_edge.runtime, t2l_edge.runtime.bundle, t2l_edge.engine, t2l_edge.formats.validate
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
    pytest.importorskip("fastapi")
    pytest.importorskip("llama_cpp")
    from tests.helpers.serve_fixtures import tiny_world

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


def test_runtime_packages_import_no_torch():
    """Every module of the torch-free packages (core, formats, runtime, engine, server when its
    extra is installed) and the llama.cpp-side commands, imported together in one process."""
    import importlib.util

    packages = ["t2l_edge.core", "t2l_edge.formats", "t2l_edge.runtime", "t2l_edge.engine"]
    if all(importlib.util.find_spec(m) for m in ("fastapi", "sse_starlette")):
        packages.append("t2l_edge.server")
    commands = ["make_adapter", "inspect_adapter", "generate", "chat", "serve"]
    code = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        names = []
        for pkg in {packages!r}:
            mod = importlib.import_module(pkg)
            names += [pkg] + [m.name for m in pkgutil.walk_packages(mod.__path__, pkg + ".")]
        names += ["t2l_edge.commands." + c for c in {commands!r}]
        for name in names:
            importlib.import_module(name)
        from t2l_edge.engine import Engine
        from t2l_edge.formats import write_gguf, write_peft
        from t2l_edge.runtime import Generator, load_bundle
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
        print("IMPORTED", len(names), "HEAVY", heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "HEAVY []" in out.stdout
