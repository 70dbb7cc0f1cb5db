"""`t2l-edge serve` as a command: help with an example, the URL printed once the port is
bound, Ctrl-C is a clean stop, and start-up problems are one-line errors."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from tests.helpers.serve_fixtures import serve_process, tiny_world  # noqa: E402
from t2l_edge.cli import main  # noqa: E402
from tests.helpers.tinyllama import TinyLlama  # noqa: E402

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return tiny_world(tmp_path_factory.mktemp("cli") / "w")


def test_help_has_example(capsys):
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and "t2l-edge serve" in out and "--api-key" in out and "--adapters-dir" in out
    assert main(["--help"]) == 0 and "serve" in capsys.readouterr().out


def test_prints_url_serves_and_stops_cleanly_on_ctrl_c(world):
    with serve_process(world) as (url, proc):
        assert url.startswith("http://127.0.0.1:")  # loopback by default
        with httpx.Client(base_url=url, timeout=60) as http:
            assert http.get("/health").json()["status"] == "ok"
            r = http.post("/v1/completions", json={"model": "tiny", "prompt": "the cat", "max_tokens": 3, "temperature": 0})
            assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3
    assert proc.returncode == 0
    assert "t2l-edge serve: stopped" in proc.stdout.read()
    assert "Traceback" not in proc.stderr.read()


def test_port_in_use_is_one_line_error(world, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        rc = main(["serve", "--port", str(port), "--base", str(world["base"]), "--bundle", str(world["bundle"])])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: cannot listen on 127.0.0.1:") and len(err.strip().splitlines()) == 1


def test_bundle_for_another_base_is_refused(world, tmp_path, capsys):
    other = TinyLlama(seed=5).write(tmp_path / "other.gguf")
    rc = main(["serve", "--port", "0", "--base", str(other), "--bundle", str(world["bundle"]), "--threads", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "the bundle was made for base" in err and len(err.strip().splitlines()) == 1
