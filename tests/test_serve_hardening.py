"""Bad requests to `t2l-edge serve` (a real process started by the CLI): each gets the right
4xx with an OpenAI-style error object, or a clean stop, and the server keeps serving with the
same answers as before. Cases live in serve_hardening_cases.py."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from tests.helpers.serve_fixtures import serve_process, tiny_world  # noqa: E402
from tests.helpers.serve_hardening_cases import AUTH, KEY, reference_answer, run_case, server_cases  # noqa: E402

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too

CASES = server_cases()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    world = tiny_world(tmp_path_factory.mktemp("hard") / "w")
    with serve_process(world, "--api-key", KEY) as (url, proc):
        with httpx.Client(base_url=url, timeout=120) as http:
            yield {"http": http, "ref": reference_answer(http), "proc": proc}
    assert proc.returncode == 0, proc.stderr.read()[-2000:]  # Ctrl-C is a clean stop


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}: {c.name}" for c in CASES])
def test_bad_request(served, case):
    http = served["http"]
    status, message = run_case(http, case)
    assert status == case.status, message
    if case.expect:
        assert case.expect in message, message
        assert "Traceback" not in message and "internal error" not in message
    assert http.get("/health").json()["status"] == "ok"
    assert reference_answer(http) == served["ref"]  # still serving, nothing it holds was corrupted


def test_disconnect_stops_the_decode(served):
    """A client that hangs up mid-stream does not keep the engine busy for the rest of its
    max_tokens: the job stops at the next token."""
    http = served["http"]
    case = next(c for c in CASES if c.disconnect)
    before = http.get("/health").json()
    run_case(http, case)
    # One job at a time: this request runs only after the abandoned one has ended.
    assert reference_answer(http) == served["ref"]
    after = http.get("/health").json()
    assert after["cancelled"] == before["cancelled"] + 1
    assert after["cancelled_tokens"] - before["cancelled_tokens"] < case.body["max_tokens"]


def test_error_shape_is_openai(served):
    r = served["http"].post("/v1/chat/completions", json={"model": "tiny"}, headers=AUTH)
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["type"] == "invalid_request_error"
