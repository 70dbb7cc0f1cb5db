"""Small pieces of the server on their own: stop sequences over streamed pieces, and
Engine.unload (what the adapter cache's eviction relies on)."""

from __future__ import annotations

import numpy as np
import pytest

from t2l_edge.core.errors import T2LError

pytest.importorskip("pydantic")  # the server's request models (the serve extra)
from t2l_edge.server.completion import StopText  # noqa: E402

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too


def _run(stops, pieces):
    out = []
    s = StopText(stops, out.append)
    for p in pieces:
        s.feed(p)
    s.flush()
    return out, s.hit


def test_stop_sequence_split_across_pieces_is_cut_and_held_back():
    out, hit = _run(["END"], ["hello E", "N", "D and more"])
    assert "".join(out) == "hello " and hit
    assert out[0] == "hello "  # "E" was held back until "END" was decided


def test_false_start_of_a_stop_sequence_is_released():
    out, hit = _run(["END"], ["an E", "lephant"])
    assert "".join(out) == "an Elephant" and not hit


def test_earliest_of_several_stops_wins_and_no_stops_passes_through():
    assert "".join(_run(["b", "a"], ["xxaxb"])[0]) == "xx"
    assert _run([], ["a", "b"]) == (["a", "b"], False)


def test_engine_unload_frees_and_deactivates(tmp_path):
    pytest.importorskip("llama_cpp")
    from t2l_edge.core.basemodel import read_base_spec
    from t2l_edge.engine import Engine
    from t2l_edge.formats.gguf_adapter import write_gguf
    from tests.helpers.tinyllama import TinyLlama, random_adapter

    base = TinyLlama().write(tmp_path / "tiny.gguf")
    spec = read_base_spec(base)
    p1 = write_gguf(random_adapter(spec, seed=1), tmp_path / "a1.gguf", dtype="f32")
    p2 = write_gguf(random_adapter(spec, seed=2), tmp_path / "a2.gguf", dtype="f32")
    with Engine(base, n_ctx=64, kv_type="f32", n_threads=1) as e:
        toks = e.tokenize("the cat")
        base_logits = e.logits(toks)
        h1, h2 = e.load(p1), e.load(p2)
        e.blend([(h1, 1.0), (h2, 1.0)])
        e.unload(h1)  # active: taken out of the active set first
        assert [p for p, _ in e.active] == [h2] and e.n_loaded == 1
        after_unload = e.logits(toks)
        e.use(h2)
        np.testing.assert_array_equal(after_unload, e.logits(toks))  # exactly h2 alone was left active
        e.unload(h2)
        assert e.active == [] and e.n_loaded == 0
        np.testing.assert_array_equal(e.logits(toks), base_logits)
        with pytest.raises(T2LError, match="not loaded"):
            e.unload(h2)
        with pytest.raises(T2LError):
            e.use(h1)
        assert e.load(p1) is not h1  # loading again makes a new handle
