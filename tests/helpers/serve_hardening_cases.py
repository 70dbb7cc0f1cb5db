"""Every bad request `t2l-edge serve` must survive, in one table shared by
tests/test_serve_hardening.py and scripts/hardening_table.py (docs/hardening.md).

A case is one HTTP request plus the status and the fragment of the OpenAI-style error
message it must get. After each case the server must still answer a reference request with
the same text as before: it keeps serving and nothing it holds was corrupted. The server runs
on the tiny world of serve_fixtures.tiny_world with --ctx 256 and --api-key KEY.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
MSG = [{"role": "user", "content": "the cat is in the garden"}]
REFERENCE = {"model": "tiny", "messages": MSG, "max_tokens": 8, "temperature": 0,
             "t2l": {"description": "answer yes or no"}}


@dataclass
class HttpCase:
    category: str
    name: str
    method: str
    path: str
    body: object = None  # dict/list: sent as JSON; bytes: sent as they are
    status: int = 400
    expect: str = ""  # fragment of error.message; "" for a success
    headers: dict = field(default_factory=lambda: dict(AUTH))
    disconnect: bool = False  # open a stream, read one event, hang up


def chat(**kw) -> dict:
    return {"model": "tiny", "messages": MSG, "max_tokens": 4, "temperature": 0, **kw}


def server_cases() -> list[HttpCase]:
    C = HttpCase
    post = "/v1/chat/completions"
    raw = {"Content-Type": "application/json", **AUTH}
    return [
        C("body", "malformed JSON", "POST", post, b'{"model": "tiny", "messages": [', expect="not valid JSON", headers=raw),
        C("body", "a JSON array instead of an object", "POST", post, b"[1, 2]", expect="must be a JSON object", headers=raw),
        C("body", "missing field (messages)", "POST", post, {"model": "tiny"}, expect="missing field 'messages'"),
        C("body", "unknown field (max_token)", "POST", post, chat(max_token=3), expect="unknown field 'max_token'"),
        C("body", "unknown field inside t2l", "POST", post, chat(t2l={"description": "x", "strength": 2}),
          expect="unknown field 't2l.strength'"),
        C("body", "unsupported option (n=2)", "POST", post, chat(n=2), expect="'n' other than its default is not supported"),
        C("body", "temperature out of range", "POST", post, chat(temperature=5), expect="temperature"),
        C("body", "max_tokens 0", "POST", post, chat(max_tokens=0), expect="max_tokens"),
        C("body", "a tool message", "POST", post, chat(messages=[{"role": "tool", "content": "x"}]), expect="messages.0.role"),
        C("body", "2 MB body (limit 1 MB)", "POST", post, b"{" + b" " * (2 << 20) + b"}", status=413,
          expect="the limit is 1,048,576", headers=raw),
        C("description", "empty", "POST", post, chat(t2l={"description": ""}), expect="the description is empty"),
        C("description", "whitespace only", "POST", post, chat(t2l={"description": " \t\n "}), expect="the description is empty"),
        C("description", "control character", "POST", post, chat(t2l={"description": "answer\x07 now"}),
          expect="control character U+0007"),
        C("description", "100,000 characters", "POST", post, chat(t2l={"description": "a" * 100_000}),
          expect="the description is 100,000 characters"),
        C("description", "both description and adapter", "POST", post, chat(t2l={"description": "x", "adapter": "greet.gguf"}),
          expect="exactly one of 'description' or 'adapter'"),
        C("prompt", "longer than the context (256 tokens)", "POST", post, chat(messages=[{"role": "user", "content": "the cat " * 200}]),
          expect="the context holds 256"),
        C("prompt", "completion prompt longer than the context", "POST", "/v1/completions",
          {"model": "tiny", "prompt": "the dog " * 200}, expect="the context holds 256"),
        C("adapter", "unknown model name", "POST", post, chat(model="nope"), status=404, expect="no adapter or model named 'nope'"),
        C("adapter", "unknown adapter name in t2l", "POST", post, chat(t2l={"adapter": "nope"}), status=404,
          expect="no adapter or model named 'nope'"),
        C("adapter", "missing file in --adapters-dir", "POST", post, chat(model="gone.gguf"), status=404,
          expect="no adapter file 'gone.gguf'"),
        C("adapter", "path outside --adapters-dir (../)", "POST", post, chat(t2l={"adapter": "../secret.gguf"}),
          expect="not a plain file name inside --adapters-dir"),
        C("adapter", "absolute path", "POST", post, chat(model="/etc/passwd"), expect="not a plain file name"),
        C("adapter", "symlink pointing outside the folder", "POST", post, chat(model="escape.gguf"),
          expect="points outside --adapters-dir"),
        C("adapter", "corrupt GGUF in --adapters-dir", "POST", post, chat(model="broken.gguf"), expect="truncated or corrupt"),
        C("scale", "negative", "POST", post, chat(t2l={"description": "x", "scale": -1}), expect="scale must be between 0 and 4"),
        C("scale", "huge (1e9)", "POST", post, chat(t2l={"description": "x", "scale": 1e9}), expect="scale must be between 0 and 4"),
        C("scale", "NaN", "POST", post, b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], '
          b'"t2l": {"description": "x", "scale": NaN}}', expect="scale must be between 0 and 4", headers=raw),
        C("scale", "blend adding up to more than 4", "POST", post,
          chat(t2l=[{"description": "a", "scale": 3}, {"description": "b", "scale": 3}]), expect="add up to more than 4"),
        C("scale", "nine adapters in one blend", "POST", post, chat(t2l=[{"description": f"t{i}"} for i in range(9)]),
          expect="at most 8 adapters"),
        C("lora", "unknown lora id", "POST", post, chat(lora=[{"id": 99, "scale": 1}]), expect="unknown lora id 99"),
        C("lora", "negative lora scale", "POST", post, chat(lora=[{"id": 0, "scale": -0.5}]), expect="scale must be between"),
        C("lora", "POST /lora-adapters with an object", "POST", "/lora-adapters", {"id": 0, "scale": 1},
          expect="must be a JSON array"),
        C("lora", "POST /lora-adapters unknown id", "POST", "/lora-adapters", [{"id": 42, "scale": 1}], expect="unknown lora id 42"),
        C("names", "register a name with a path", "POST", "/v1/adapters", {"name": "../x", "description": "y"}, expect="name must be"),
        C("names", "register with an empty description", "POST", "/v1/adapters", {"name": "e", "description": ""},
          expect="the description is empty"),
        C("names", "register the base model's name", "POST", "/v1/adapters", {"name": "tiny", "description": "y"}, status=409,
          expect="the name 'tiny' is taken"),
        C("names", "delete an unknown name", "DELETE", "/v1/adapters/nope", status=404, expect="no adapter named 'nope'"),
        C("names", "delete a file adapter", "DELETE", "/v1/adapters/greet.gguf", expect="delete the file to remove it"),
        C("http", "unknown path", "GET", "/v1/nothing", status=404, expect="Not Found"),
        C("http", "wrong method", "GET", post, status=405, expect="Method Not Allowed"),
        C("auth", "no API key", "POST", post, chat(), status=401, expect="missing or wrong API key", headers={}),
        C("auth", "wrong API key", "GET", "/v1/models", status=401, expect="missing or wrong API key",
          headers={"Authorization": "Bearer nope"}),
        C("stream", "client disconnects mid-stream", "POST", post, chat(max_tokens=200, stream=True, t2l={"description": "z"}),
          status=200, disconnect=True),
    ]


def run_case(http, case: HttpCase) -> tuple[int, str]:
    """Send one case with an httpx client; (status, error message or a short success note)."""
    kw = {"headers": case.headers}
    if isinstance(case.body, bytes):
        kw["content"] = case.body
    elif case.body is not None:
        kw["json"] = case.body
    if case.disconnect:
        with http.stream(case.method, case.path, **kw) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    break  # one event, then leave: the context manager closes the connection
            return r.status_code, "stream closed by the client after the first event"
    r = http.request(case.method, case.path, **kw)
    try:
        body = r.json()
    except json.JSONDecodeError:
        return r.status_code, r.text[:200]
    if isinstance(body, dict) and "error" in body:
        return r.status_code, body["error"]["message"]
    return r.status_code, "ok"


def reference_answer(http) -> str:
    r = http.post("/v1/chat/completions", json=REFERENCE, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"]
