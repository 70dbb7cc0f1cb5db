"""`t2l-edge serve` on the tiny models, through a live uvicorn server: the official openai
client, streaming, usage and finish reasons, adapters by description / name / file / blend,
the cache, and llama-server's /lora-adapters."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from tests.helpers.serve_fixtures import tiny_server, tiny_world  # noqa: E402

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too

CHAT = [{"role": "user", "content": "the cat is in the garden"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    world = tiny_world(tmp_path_factory.mktemp("serve") / "w")
    with tiny_server(world) as (url, app):
        yield {"url": url, "app": app, "world": world, "http": httpx.Client(base_url=url, timeout=120)}


def chat(server, **body):
    body = {"model": "tiny", "messages": CHAT, "max_tokens": 8, "temperature": 0, **body}
    r = server["http"].post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_openai_client_chat_stream_completions_models(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server["url"] + "/v1", api_key="unused", max_retries=0)
    extra = {"t2l": {"description": "answer yes or no", "scale": 1.0}}
    full = client.chat.completions.create(model="tiny", messages=CHAT, max_tokens=6, temperature=0, extra_body=extra)
    assert full.object == "chat.completion" and full.choices[0].message.role == "assistant"
    assert full.usage.completion_tokens == 6 and full.choices[0].finish_reason == "length"
    assert full.usage.total_tokens == full.usage.prompt_tokens + 6
    assert full.t2l["adapters"][0]["description"] == "answer yes or no."  # normalised, as the bundle saw it
    stream = client.chat.completions.create(model="tiny", messages=CHAT, max_tokens=6, temperature=0, stream=True,
                                            stream_options={"include_usage": True}, extra_body=extra)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content  # streamed == not streamed, greedy
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 6 and chunks[-1].choices == []
    comp = client.completions.create(model="tiny", prompt="the cat", max_tokens=4, temperature=0)
    assert comp.object == "text_completion" and comp.usage.completion_tokens == 4
    parts = list(client.completions.create(model="tiny", prompt="the cat", max_tokens=4, temperature=0, stream=True))
    assert "".join(p.choices[0].text for p in parts) == comp.choices[0].text
    assert {m.id for m in client.models.list()} >= {"tiny", "greet.gguf"}
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-adapter", messages=CHAT)
    with pytest.raises(openai.BadRequestError, match="description is empty"):
        client.chat.completions.create(model="tiny", messages=CHAT, extra_body={"t2l": {"description": "  "}})


SCI = {"description": "pick the correct option"}


def test_finish_reasons(server):
    """finish_reason as OpenAI defines it: "length" at max_tokens, "stop" for an end-of-turn
    token or a stop sequence (output cut before it)."""
    long = chat(server, max_tokens=5, t2l=SCI)
    assert long["choices"][0]["finish_reason"] == "length" and long["usage"]["completion_tokens"] == 5
    eos = chat(server, messages=[{"role": "user", "content": "hello there"}], max_tokens=20)
    assert eos["choices"][0]["finish_reason"] == "stop" and eos["usage"]["completion_tokens"] < 20
    text = chat(server, max_tokens=20, t2l=SCI)["choices"][0]["message"]["content"]
    cut = text[2:4]
    assert cut, text
    stopped = chat(server, max_tokens=20, stop=[cut], t2l=SCI)
    assert stopped["choices"][0]["finish_reason"] == "stop"
    assert stopped["choices"][0]["message"]["content"] == text[:text.find(cut)]


def test_stop_sequence_held_back_while_streaming(server):
    text = chat(server, max_tokens=20, t2l=SCI)["choices"][0]["message"]["content"]
    stop = text[3:6]
    with server["http"].stream("POST", "/v1/chat/completions", json={
            "model": "tiny", "messages": CHAT, "max_tokens": 20, "temperature": 0, "stream": True, "stop": stop,
            "t2l": SCI}) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    streamed = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert streamed == text[:text.find(stop)] and events[-1]["choices"][0]["finish_reason"] == "stop"


def test_description_adapter_is_cached_and_changes_the_answer(server):
    base = chat(server)["choices"][0]["message"]["content"]
    first = chat(server, t2l={"description": "Summarise   the text"})
    again = chat(server, t2l={"description": "Summarise the text"})
    a1, a2 = first["t2l"]["adapters"][0], again["t2l"]["adapters"][0]
    assert not a1["cached"] and a2["cached"] and a1["sha256"] == a2["sha256"]  # whitespace normalised away
    assert first["choices"][0]["message"]["content"] == again["choices"][0]["message"]["content"]
    assert first["choices"][0]["message"]["content"] != base
    zero = chat(server, t2l={"description": "Summarise the text", "scale": 0.0})
    assert zero["choices"][0]["message"]["content"] == base  # scale 0 is the base exactly


def test_in_prompt_puts_the_description_before_the_last_user_message(server):
    desc = "Summarise the text"
    both = chat(server, t2l={"description": desc, "in_prompt": True})
    # the prompt gets the description as the adapter was made from it: normalised, full stop added
    by_hand = chat(server, t2l={"description": desc}, messages=[{"role": "user", "content": f"{desc}.\n\n{CHAT[0]['content']}"}])
    assert both["choices"][0]["message"]["content"] == by_hand["choices"][0]["message"]["content"]
    assert both["t2l"]["in_prompt_tokens"] > 0 and "in_prompt_tokens" not in by_hand["t2l"]
    assert both["usage"]["prompt_tokens"] == by_hand["usage"]["prompt_tokens"]
    r = server["http"].post("/v1/chat/completions", json={"model": "tiny", "messages": CHAT,
                                                          "t2l": {"adapter": "x", "in_prompt": True}})
    assert r.status_code == 400 and "in_prompt" in r.json()["error"]["message"]


def test_named_adapters_register_list_select_delete(server):
    http = server["http"]
    r = http.post("/v1/adapters", json={"name": "fr", "description": "translate into french"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["rank"] == 4 and made["delta_norm"] > 0 and len(made["sha256"]) == 64
    assert http.post("/v1/adapters", json={"name": "fr", "description": "x"}).status_code == 409
    listed = {a["name"]: a for a in http.get("/v1/adapters").json()["data"]}
    assert listed["fr"]["sha256"] == made["sha256"] and listed["greet.gguf"]["rank"] == 4
    assert listed["broken.gguf"]["valid"] is False
    by_name = chat(server, model="fr")
    by_desc = chat(server, t2l={"description": "translate into french"})
    assert by_name["choices"][0]["message"]["content"] == by_desc["choices"][0]["message"]["content"]
    assert "fr" in {m["id"] for m in http.get("/v1/models").json()["data"]}
    assert http.delete("/v1/adapters/fr").status_code == 200
    assert http.post("/v1/chat/completions", json={"model": "fr", "messages": CHAT}).status_code == 404
    assert http.delete("/v1/adapters/fr").status_code == 404


def test_file_adapter_and_blend(server):
    f = chat(server, model="greet.gguf")
    assert f["t2l"]["adapters"][0]["adapter"] == "greet.gguf"
    same = chat(server, t2l={"adapter": "greet.gguf"})
    assert f["choices"][0]["message"]["content"] == same["choices"][0]["message"]["content"]
    blend = chat(server, t2l=[{"description": "answer yes or no", "scale": 0.5}, {"adapter": "greet.gguf", "scale": 0.5}])
    assert [a["scale"] for a in blend["t2l"]["adapters"]] == [0.5, 0.5]
    # The same blend from the engine alone (server stopped from taking other requests meanwhile
    # is not needed: the worker thread runs one job at a time).
    store = server["app"].state.ctx.store
    engine = store.engine
    desc = store.cache[(store.bundle_id, "answer yes or no.")].handle
    expected = []

    def alone():
        engine.blend([(desc, 0.5), (store.files["greet.gguf"].handle, 0.5)])
        return engine.generate(CHAT[0]["content"], max_tokens=8).text

    import asyncio

    expected.append(asyncio.run(server["app"].state.ctx.worker.call(alone)))
    assert blend["choices"][0]["message"]["content"] == expected[0]


def test_lora_adapters_llama_server_compatibility(server):
    http = server["http"]
    rows = http.get("/lora-adapters").json()
    ids = {r["name"]: r["id"] for r in rows}
    assert all(r["scale"] == 0.0 for r in rows)  # every adapter starts explicitly at 0
    assert next(r for r in rows if r["name"] == "greet.gguf")["task_name"] == "greet people"
    base = chat(server)["choices"][0]["message"]["content"]
    greet = chat(server, model="greet.gguf")["choices"][0]["message"]["content"]
    assert base != greet
    # per-request lora: listed id at its scale, every other adapter 0
    assert chat(server, lora=[{"id": ids["greet.gguf"], "scale": 1.0}])["choices"][0]["message"]["content"] == greet
    assert chat(server, lora=[{"id": ids["greet.gguf"], "scale": 0.0}])["choices"][0]["message"]["content"] == base
    # global scales apply to requests that name no adapter; "lora": [] means none at all
    assert http.post("/lora-adapters", json=[{"id": ids["greet.gguf"], "scale": 1.0}]).json() == {"success": True}
    try:
        assert next(r for r in http.get("/lora-adapters").json() if r["name"] == "greet.gguf")["scale"] == 1.0
        assert chat(server)["choices"][0]["message"]["content"] == greet
        assert chat(server, lora=[])["choices"][0]["message"]["content"] == base
    finally:
        assert http.post("/lora-adapters", json=[]).json() == {"success": True}  # unlisted -> 0
    assert chat(server)["choices"][0]["message"]["content"] == base
    bad = http.post("/lora-adapters", json=[{"id": 999, "scale": 1.0}])
    assert bad.status_code == 400 and "unknown lora id 999" in bad.json()["error"]["message"]


def test_page_and_static_files_are_served_without_cdn(server):
    http = server["http"]
    page = http.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert 'id="description"' in page.text and "http" not in page.text.replace("http-equiv", "")
    for name in ("app.js", "style.css"):
        body = http.get(f"/static/{name}").text
        assert "https://" not in body and "http://" not in body


def test_client_that_gives_up_while_queued_is_skipped(server):
    """A non-streamed request whose client hangs up while it waits in the queue never runs."""
    import asyncio
    import threading
    import time

    ctx = server["app"].state.ctx
    release, busy = threading.Event(), threading.Event()

    def hold():  # occupies the engine thread, like a long generation would
        busy.set()
        release.wait(60)

    holder = threading.Thread(target=lambda: asyncio.run(ctx.worker.call(hold)))
    holder.start()
    try:
        assert busy.wait(30)
        before = dict(ctx.worker.stats)
        with pytest.raises(httpx.TimeoutException):
            httpx.post(server["url"] + "/v1/chat/completions", timeout=httpx.Timeout(10.0, read=0.5),
                       json={"model": "tiny", "messages": CHAT, "max_tokens": 4, "t2l": {"description": "give up"}})
        for _ in range(200):  # the watcher polls every 0.25 s
            if ctx.worker.stats["disconnected"] > before["disconnected"]:
                break
            time.sleep(0.05)
        assert ctx.worker.stats["disconnected"] == before["disconnected"] + 1
    finally:
        release.set()
        holder.join(30)
    chat(server)  # runs after the abandoned job's turn
    assert ctx.worker.stats["skipped"] == before["skipped"] + 1
    assert (ctx.store.bundle_id, "give up.") not in ctx.store.cache  # it never ran


def test_nearest_tasks_are_named_when_the_server_has_a_task_bank(tmp_path, monkeypatch):
    """`serve --nearest`: registering an adapter also names the closest pool tasks, closest
    first, and warns when none is close; without a bank the reply has neither."""
    import numpy as np

    import t2l_edge.runtime.task_bank as tb
    from t2l_edge.runtime import Generator

    world = tiny_world(tmp_path / "w")
    texts = {"olmo.sst2": "classify the sentiment", "olmo.rte": "does the second sentence follow", "x.copy": "repeat the input"}
    emb = Generator.load(world["bundle"], threads=1).embed(list(texts.values()))
    bank = tb.TaskBank(list(texts), emb.astype(np.float32), float(np.linalg.norm(emb, axis=1).mean()))
    with tiny_server(world, task_bank=bank) as (url, _app):
        http = httpx.Client(base_url=url, timeout=120)
        made = http.post("/v1/adapters", json={"name": "rte", "description": "does the second sentence follow"}).json()
        assert [n["task"] for n in made["nearest"]][0] == "olmo.rte" and made["nearest"][0]["cosine"] > 0.95  # padding in the batch of 3 moves it a little
        assert made["nearest"][0]["cosine"] >= made["nearest"][1]["cosine"] >= made["nearest"][2]["cosine"]
        assert "warning" not in made
        monkeypatch.setattr(tb, "FAR_COSINE", 1.01)  # now nothing counts as close
        far = http.post("/v1/adapters", json={"name": "far", "description": "qzv lmo terap"}).json()
        assert "unlike every task" in far["warning"]
    with tiny_server(world) as (url, _app):
        plain = httpx.Client(base_url=url, timeout=120).post("/v1/adapters", json={"name": "a", "description": "x y"}).json()
        assert "nearest" not in plain and "warning" not in plain
