"""llama.cpp Engine on a tiny llama base built in code, against a numpy reference.

The key parity: llama.cpp + GGUF LoRA == reference with delta_W merged in HF order. That
holds only if gguf_adapter permuted lora_B of q (and k) the way llama.cpp's converter
permuted the base q/k rows, which this file also shows by breaking it on purpose.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("llama_cpp")

from t2l_edge.core.basemodel import read_base_spec  # noqa: E402
from t2l_edge.engine import Engine  # noqa: E402
from t2l_edge.formats.gguf_adapter import write_gguf  # noqa: E402
from tests.helpers.tinyllama import TinyLlama, adapter_deltas, random_adapter, without_qk_permutation  # noqa: E402

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too

TOL = 1e-4  # float32 llama.cpp vs float64 numpy; logits are O(1..10)
TEXT = "the cat is in the garden and the dog is here"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("engine")
    model = TinyLlama()
    base = model.write(d / "tiny.gguf")
    spec = read_base_spec(base)
    ad1 = random_adapter(spec, seed=1, description="first")
    ad2 = random_adapter(spec, modules=("q_proj", "k_proj", "v_proj", "o_proj"), seed=2, description="second")
    p1 = write_gguf(ad1, d / "a1.gguf", dtype="f32")
    p2 = write_gguf(ad2, d / "a2.gguf", dtype="f32")
    # The same adapter written without the q/k lora_B permutation (the silent bug).
    raw = write_gguf(without_qk_permutation(ad1), d / "a1_unpermuted.gguf", dtype="f32")
    return {"model": model, "base": base, "spec": spec, "ad1": ad1, "ad2": ad2, "p1": p1, "p2": p2, "raw": raw}


@pytest.fixture(scope="module")
def engine(tiny):
    with Engine(tiny["base"], n_ctx=256, kv_type="f32", n_threads=2) as e:
        yield e


def _maxdiff(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max())


def test_base_logits_match_reference(engine, tiny):
    engine.clear()
    toks = engine.tokenize(TEXT)
    assert _maxdiff(engine.logits(toks), tiny["model"].forward(toks)) < TOL


def test_adapter_matches_merged_reference_and_unpermuted_does_not(engine, tiny):
    toks = engine.tokenize(TEXT)
    ref = tiny["model"].forward(toks, adapter_deltas(tiny["ad1"]))
    base = tiny["model"].forward(toks)
    engine.use(tiny["p1"])
    good = _maxdiff(engine.logits(toks), ref)
    engine.use(tiny["raw"])
    bad = _maxdiff(engine.logits(toks), ref)
    assert _maxdiff(ref, base) > 0.5  # the adapter really changes the model
    assert good < TOL
    assert bad > 100 * TOL, f"un-permuted lora_B should break parity (diff {bad})"


def test_qkvo_adapter_and_scale(engine, tiny):
    toks = engine.tokenize(TEXT)
    engine.use(tiny["p2"], scale=0.7)
    assert _maxdiff(engine.logits(toks), tiny["model"].forward(toks, adapter_deltas(tiny["ad2"], 0.7))) < TOL


def test_in_memory_adapter_equals_file(engine, tiny):
    toks = engine.tokenize(TEXT)
    engine.use(tiny["p1"])
    from_file = engine.logits(toks)
    engine.use(tiny["ad1"])
    np.testing.assert_array_equal(engine.logits(toks), from_file)


def test_scale_zero_and_clear_give_base_exactly(engine, tiny):
    toks = engine.tokenize(TEXT)
    engine.clear()
    base = engine.logits(toks)
    engine.use(tiny["p1"], scale=0.0)
    np.testing.assert_array_equal(engine.logits(toks), base)
    engine.use(tiny["p1"])
    assert _maxdiff(engine.logits(toks), base) > 0.5
    engine.clear()
    np.testing.assert_array_equal(engine.logits(toks), base)


def test_blend_equals_merged_sum(engine, tiny):
    toks = engine.tokenize(TEXT)
    engine.blend([(tiny["p1"], 0.5), (tiny["p2"], 0.5)])
    deltas = adapter_deltas(tiny["ad1"], 0.5)
    for k, v in adapter_deltas(tiny["ad2"], 0.5).items():
        deltas[k] = deltas.get(k, 0) + v
    assert _maxdiff(engine.logits(toks), tiny["model"].forward(toks, deltas)) < TOL


def test_hot_swap_keeps_base_and_adapters_loaded(engine, tiny, monkeypatch):
    """Swapping adapters back and forth reloads neither the base nor the adapters, and never
    reuses KV state computed under the previous adapter."""
    lib = engine._lib
    model_ptr = engine._model
    h1, h2 = engine.load(tiny["p1"]), engine.load(tiny["p2"])
    calls = []
    monkeypatch.setattr(lib, "llama_model_load_from_file", lambda *a: calls.append("base"))
    monkeypatch.setattr(lib, "llama_adapter_lora_init", lambda *a: calls.append("adapter"))
    toks = engine.tokenize(TEXT)
    ref1 = tiny["model"].forward(toks, adapter_deltas(tiny["ad1"]))
    ref2 = tiny["model"].forward(toks, adapter_deltas(tiny["ad2"]))
    for _ in range(3):
        assert engine.use(h1) is h1 and _maxdiff(engine.logits(toks), ref1) < TOL
        assert engine.use(tiny["p2"]) is h2 and _maxdiff(engine.logits(toks), ref2) < TOL  # path hits the cache
    # generation right after a swap must see the new adapter, not cached prompt state
    engine.use(h1)
    a = engine.generate("hello", max_tokens=5, chat=True)
    engine.use(h2)
    b = engine.generate("hello", max_tokens=5, chat=True)
    engine.use(h1)
    assert engine.generate("hello", max_tokens=5, chat=True).text == a.text
    assert calls == [] and engine._model is model_ptr
    assert a.n_gen_tokens == 5 or a.stop_reason == "eos"
    del b


def _brute_logprob(model, ctx, cont):
    logits = model.forward(ctx + cont)
    lp = logits - logits.max(-1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    return float(sum(lp[len(ctx) - 1 + i, t] for i, t in enumerate(cont)))


def test_score_equals_brute_force(engine, tiny):
    engine.clear()
    ctx = "the dog is in the"
    options = [" garden", " cat", "x", " the house is here"]
    got = engine.score(ctx, options)
    ctx_t = engine.tokenize(ctx)
    want = [_brute_logprob(tiny["model"], ctx_t, engine.tokenize(o, add_bos=False)) for o in options]
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-5)
    # scoring twice (fully cached context) and after other work gives the same numbers
    engine.logits(engine.tokenize("unrelated text"))
    np.testing.assert_allclose(engine.score(ctx, options), got, atol=1e-5)


def test_score_evaluates_context_once(engine, monkeypatch):
    engine.clear()
    seen = []
    real = engine._lib.llama_decode

    def counting(ctx, batch):
        seen.append(batch.n_tokens)
        return real(ctx, batch)

    monkeypatch.setattr(engine._lib, "llama_decode", counting)
    ctx = "a long shared context about the garden and the dog"
    options = [" cat", " the dog", " is here"]
    engine.score(ctx, options)
    n_ctx = len(engine.tokenize(ctx))
    n_opts = sum(max(len(engine.tokenize(o, add_bos=False)) - 1, 0) for o in options)
    assert sum(seen) == n_ctx + n_opts  # context once, then only each option's own tokens


def test_generate_chat_and_stream(engine):
    engine.clear()
    pieces = []
    r = engine.generate("hi", max_tokens=8, on_token=pieces.append)
    assert r.n_prompt_tokens == len(engine.tokenize(engine.format_chat("hi"), special=True))
    assert "".join(pieces) == r.text and r.n_gen_tokens <= 8
    assert engine.format_chat("hi") == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    # greedy is deterministic
    assert engine.generate("hi", max_tokens=8).text == r.text


def test_closed_engine_refuses(tiny):
    from t2l_edge.core.errors import T2LError

    e = Engine(tiny["base"], n_ctx=64)
    e.use(tiny["p1"])
    e.close()
    e.close()  # idempotent
    with pytest.raises(T2LError, match="closed"):
        e.logits([1, 2])


def test_score_many_options_and_sequential_fallback(engine, tiny, monkeypatch):
    """More options than parallel sequences (several decode groups) and the one-at-a-time
    path give the same scores."""
    engine.use(tiny["p1"])
    ctx = "the dog is"
    options = [f" {w} the cat" for w in "abcdefghijkl"] + ["", "x"]
    got = engine.score(ctx, options)
    ctx_t = engine.tokenize(ctx)
    model = tiny["model"]
    deltas = adapter_deltas(tiny["ad1"])

    def brute(cont):
        logits = model.forward(ctx_t + cont, deltas)
        lp = logits - logits.max(-1, keepdims=True)
        lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
        return float(sum(lp[len(ctx_t) - 1 + i, t] for i, t in enumerate(cont)))

    want = [brute(engine.tokenize(o, add_bos=False)) for o in options]
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-5)
    monkeypatch.setattr(engine, "score_seqs", 0)
    np.testing.assert_allclose(engine.score(ctx, options), got, atol=1e-4)
    engine.clear()


def test_public_cache_and_token_generation_methods(engine, tiny):
    """The methods speed measurements and the server use instead of Engine internals:
    logits_at (prefix-cached logits at chosen positions), reset_cache, generate_tokens."""
    engine.clear()
    toks = engine.tokenize(TEXT)
    full = engine.logits(toks)
    engine.reset_cache()
    assert np.array_equal(engine.logits_at(toks, [2, len(toks) - 1]), full[[2, len(toks) - 1]])
    before = engine.decoded_tokens
    engine.logits_at(toks + [toks[1]], [len(toks)])
    assert engine.decoded_tokens == before + 1  # the cached prefix was reused
    engine.reset_cache()
    engine.logits_at(toks, [len(toks) - 1])
    assert engine.decoded_tokens == before + 1 + len(toks)  # cold again after the reset
    prompt = engine.prompt_tokens(engine.format_chat("hi"), chat=True)
    assert engine.generate_tokens(prompt, max_tokens=6).text == engine.generate("hi", max_tokens=6).text
    stopped = engine.generate_tokens(prompt, max_tokens=6, should_stop=lambda: True)
    assert stopped.n_gen_tokens <= 1 and stopped.stop_reason in ("stopped", "eos")


def test_thread_tuner_tries_each_count_then_keeps_the_fastest():
    from t2l_edge.engine.threads import STEPS_PER_CANDIDATE, DecodeThreadTuner, candidate_counts

    assert candidate_counts(8) == [8, 4, 1] and candidate_counts(2) == [2, 1] and candidate_counts(1) == [1]
    applied = []
    tuner = DecodeThreadTuner(8, applied.append)
    step_s = {8: 0.020, 4: 0.012, 1: 0.015}
    for _ in range(3 * STEPS_PER_CANDIDATE):
        tuner.observe(step_s[tuner.current])
    assert applied == [4, 1, 4] and tuner.chosen == 4 and tuner.current == 4
    tuner.observe(9.9)  # settled: later steps change nothing
    assert tuner.chosen == 4 and tuner.summary()["median_step_s"] == pytest.approx(step_s)
    assert DecodeThreadTuner(1, applied.append).chosen == 1


def test_measured_generation_threads_settle_without_changing_the_text(tiny):
    with Engine(tiny["base"], n_ctx=256, kv_type="f32", n_threads=1) as fixed:
        assert fixed.decode_threads == {"threads": 1, "chosen_by": "caller", "median_step_s": {}}
        want = fixed.generate("the cat", max_tokens=24, chat=False).text
    with Engine(tiny["base"], n_ctx=256, kv_type="f32", n_threads=None, n_threads_batch=2) as auto:
        if auto._tuner is None:
            pytest.skip("one core: nothing to choose")
        texts = [auto.generate("the cat", max_tokens=24, chat=False).text for _ in range(3)]
        info = auto.decode_threads
    assert info["chosen_by"] == "measured" and info["threads"] in info["median_step_s"]
    assert texts == [want] * 3  # the thread count changes speed, not results
