"""`t2l-edge serve` on the real SmolLM2 base and the shipped default bundle: the openai
client gets an adapted answer that differs from the base's, concurrent clients with their own
descriptions get exactly their solo answers, and the page works in chromium."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from tests.helpers.browser import Browser, missing  # noqa: E402
from tests.helpers.serve_fixtures import live_server  # noqa: E402

pytestmark = pytest.mark.slow
DEFAULT = Path(__file__).resolve().parent.parent / "models" / "default"
TASKS = [("Answer the multiple-choice science question with the correct option.",
          "Which gas do plants take in from the air to make food?\nOptions: oxygen | carbon dioxide | nitrogen | helium"),
         ("Answer yes or no.", "Is the sun a star?"),
         ("Translate the sentence into French.", "The cat is sleeping on the chair.")]


@pytest.fixture(scope="module")
def real():
    from t2l_edge.core.basemodel import resolve_base
    from t2l_edge.engine import Engine
    from t2l_edge.runtime import Generator
    from t2l_edge.server import build_app

    gen = Generator.load(DEFAULT, threads=1)
    with Engine(resolve_base(None), n_ctx=1024, n_threads=1) as engine:
        app = build_app(engine, gen)
        with live_server(app) as url:
            yield {"url": url, "app": app,
                   "client": openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=300)}


def ask(real, description, prompt, max_tokens=16):
    extra = {"t2l": {"description": description}} if description else {"lora": []}
    model = real["app"].state.ctx.store.base_id
    r = real["client"].chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}],
                                               max_tokens=max_tokens, temperature=0, extra_body=extra)
    return r


def test_adapted_answer_differs_from_base(real):
    desc, prompt = TASKS[0]
    adapted, base = ask(real, desc, prompt, 24), ask(real, None, prompt, 24)
    assert adapted.choices[0].message.content.strip() and base.choices[0].message.content.strip()
    assert adapted.choices[0].message.content != base.choices[0].message.content
    info = adapted.t2l["adapters"][0]
    assert info["description"] == desc and len(info["sha256"]) == 64
    assert adapted.choices[0].finish_reason in ("stop", "length")


def test_concurrent_real_clients_equal_solo(real):
    solo = [ask(real, d, p).choices[0].message.content for d, p in TASKS]
    got, errors = {}, []

    def client(i):
        try:
            got[i] = ask(real, *TASKS[i]).choices[0].message.content
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(TASKS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors and [got[i] for i in range(len(TASKS))] == solo


@pytest.mark.skipif(missing() is not None, reason=f"no headless browser: {missing()}")
def test_page_on_the_real_model(real):
    desc, prompt = TASKS[0]
    with Browser() as browser:
        out = browser.ask(real["url"] + "/", desc, prompt, max_tokens=24)
    assert not out["errors"] and out["adapted"]["answer"] and out["base"]["answer"]
    assert "tok/s" in out["base"]["stats"] and "adapter" in out["adapted"]["stats"]
