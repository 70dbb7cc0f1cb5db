"""Requests that need different adapters never see each other's: N concurrent clients, each
with its own description and greedy decoding, get exactly what each gets alone. Plus the
LRU cache: eviction frees the llama.cpp handle, and a description used again comes back as
the same bytes and the same answer."""

from __future__ import annotations

import random
import threading

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from tests.helpers.serve_fixtures import tiny_server, tiny_world  # noqa: E402

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too

DESCRIPTIONS = ["answer yes or no", "translate into french", "summarise the text", "pick the correct option",
                "write python function", "classify review positive negative", "answer the question with a number"]
PROMPTS = ["the cat is in the garden", "is the dog here?", "the garden and the cat"]


def _request(i: int) -> dict:
    """Client i's request: its own description, one of three prompts, streamed every third time."""
    return {"model": "tiny", "messages": [{"role": "user", "content": PROMPTS[i % 3]}], "max_tokens": 12,
            "temperature": 0, "t2l": {"description": DESCRIPTIONS[i], "scale": 1.0 + 0.25 * (i % 3)},
            "stream": i % 3 == 0}


def _send(http, body: dict) -> tuple[str, int]:
    """(text, completion tokens) of one request, streamed or not."""
    if not body["stream"]:
        r = http.post("/v1/chat/completions", json=body)
        assert r.status_code == 200, r.text
        out = r.json()
        return out["choices"][0]["message"]["content"], out["usage"]["completion_tokens"]
    import json

    body = {**body, "stream_options": {"include_usage": True}}
    parts, n = [], None
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk["choices"]:
                parts.append(chunk["choices"][0]["delta"].get("content") or "")
            if chunk.get("usage"):
                n = chunk["usage"]["completion_tokens"]
    return "".join(parts), n


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return tiny_world(tmp_path_factory.mktemp("conc") / "w")


def test_concurrent_clients_equal_their_solo_answers(world):
    n = len(DESCRIPTIONS)
    with tiny_server(world) as (url, app):
        with httpx.Client(base_url=url, timeout=300) as http:
            solo = [_send(http, _request(i)) for i in range(n)]
        assert len({t for t, _ in solo}) > 1, "descriptions should lead to different answers"
        results: dict[tuple[int, int], tuple[str, int]] = {}
        errors: list[BaseException] = []
        start = threading.Barrier(n)

        def client(i: int) -> None:
            try:
                with httpx.Client(base_url=url, timeout=300) as http:
                    start.wait()
                    order = list(range(3))
                    random.Random(i).shuffle(order)
                    for rnd in order:  # three rounds each, so switches interleave differently
                        results[(i, rnd)] = _send(http, _request(i))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert not errors, errors
        for (i, rnd), got in sorted(results.items()):
            assert got == solo[i], f"client {i} round {rnd}: {got!r} != alone {solo[i]!r}"
        assert len(results) == 3 * n


def test_lru_eviction_frees_handles_and_regenerates_identically(world):
    with tiny_server(world) as (url, app):
        store = app.state.ctx.store
        with httpx.Client(base_url=url, timeout=120) as http:
            def ask(desc):
                r = http.post("/v1/chat/completions", json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}],
                                                            "max_tokens": 6, "temperature": 0, "t2l": {"description": desc}})
                assert r.status_code == 200, r.text
                return r.json()

            first = ask(DESCRIPTIONS[0])
            one = http.get("/v1/adapters").json()["cache"]["bytes"]  # every tiny adapter has the same size
            store.cap_bytes = int(2.5 * one)  # room for two (the worker is idle between requests)
            for d in DESCRIPTIONS[1:5]:
                ask(d)
            cache = http.get("/v1/adapters").json()["cache"]
            assert cache["entries"] == 2 and cache["evictions"] == 3 and cache["bytes"] <= cache["cap_bytes"]
            assert store.engine.n_loaded == 2  # evicted adapters were freed in llama.cpp, not just forgotten
            again = ask(DESCRIPTIONS[0])
        a1, a2 = first["t2l"]["adapters"][0], again["t2l"]["adapters"][0]
        assert not a2["cached"] and a2["sha256"] == a1["sha256"]
        assert again["choices"][0]["message"]["content"] == first["choices"][0]["message"]["content"]
