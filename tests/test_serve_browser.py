"""The page at / in a real headless chromium: type a task description and a message, and
both the adapted and the base answer appear with their speed and the adapter's cost."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("fastapi")

from tests.helpers.browser import Browser, missing  # noqa: E402
from tests.helpers.serve_fixtures import tiny_server, tiny_world  # noqa: E402

REASON = missing()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no headless browser: {REASON}")


def test_page_shows_adapted_and_base_answers(tmp_path):
    world = tiny_world(tmp_path / "w")
    with tiny_server(world) as (url, app), Browser() as browser:
        got = browser.ask(url + "/", "translate into french", "the cat is in the garden", max_tokens=12)
        assert not got["errors"], got
        for column in ("adapted", "base"):
            assert got[column]["user"] == "the cat is in the garden"
            assert got[column]["answer"], got  # the model's reply was streamed into the page
            assert "tok/s" in got[column]["stats"]
        assert "adapter generated in" in got["adapted"]["stats"] and " ms" in got["adapted"]["stats"]
        # the page sent what it showed: the adapter it asked for is now in the cache
        assert app.state.ctx.store.cache[(app.state.ctx.store.bundle_id, "translate into french.")]


def test_page_can_put_the_description_in_the_prompt(tmp_path):
    world = tiny_world(tmp_path / "w")
    with tiny_server(world) as (url, _app), Browser() as browser:
        got = browser.ask(url + "/", "translate into french", "the cat is in the garden", max_tokens=6, in_prompt=True)
        assert not got["errors"], got
        assert got["adapted"]["user"] == "the cat is in the garden"  # the log shows what the user typed
        assert "description in prompt: +" in got["adapted"]["stats"] and "prompt tokens" in got["adapted"]["stats"]
        assert "description in prompt" not in got["base"]["stats"]
