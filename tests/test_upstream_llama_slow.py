"""Our adapters in upstream llama.cpp's own programs, on the real SmolLM2 base.

The programs are built by scripts/build_llama_tools.sh from the llama.cpp vendored in the
llama-cpp-python 0.3.36 sdist, i.e. the same llama.cpp our binding runs, but driven by code
nobody here wrote: llama-server, llama-cli and llama-export-lora. Each test is skipped (with
the reason) only where the programs are missing. They run as subprocesses, so a crash in C
cannot take the test process down. The converter parity tests live in
test_upstream_convert_slow.py, the malformed-adapter comparison in test_upstream_bad_slow.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import upstream_tools as up

pytestmark = pytest.mark.slow

DESC = "Answer the multiple-choice science question with the text of the correct option."
PROMPT = up.README_VALUES["prompt"]
N = int(up.README_VALUES["n"])


def _cli(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "t2l_edge.cli", *args], capture_output=True, text=True,
                       env=up.run_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The default bundle's adapter, and what `t2l-edge generate` answers with and without it."""
    reason = up.missing_reason("llama-server", "llama-cli", "llama-export-lora", "llama-quantize")
    if reason:
        pytest.skip(reason)
    pytest.importorskip("llama_cpp")
    from t2l_edge.core.basemodel import default_base_path

    d = tmp_path_factory.mktemp("upstream")
    base = default_base_path()
    adapter = d / "sci.gguf"
    _cli("make-adapter", DESC, "-o", str(adapter))

    def generate(*extra):
        out = _cli("generate", "--prompt", PROMPT, "-n", str(N), "--threads", "1", "--json", *extra).stdout
        return json.loads(out)

    return {"dir": d, "base": base, "adapter": adapter, "bin": up.bin_dir(),
            "adapted": generate("--adapter", str(adapter)), "plain": generate()}


@pytest.fixture(scope="module")
def engine(world):
    from t2l_edge.engine import Engine

    with Engine(world["base"], n_threads=1) as e:
        yield e


def test_adapter_changes_the_answer(world):
    # otherwise "scale 1 equals generate" and "scale 0 equals the base" could not be told apart
    assert world["adapted"]["text"] != world["plain"]["text"]
    assert world["adapted"]["adapter"]["description"] == DESC


def _server(world, name: str) -> up.Server:
    port = up.free_port()
    args = up.argv(name, world["bin"], base=world["base"], adapter=world["adapter"], port=port) + up.TEST_FLAGS
    return up.Server(args, port, world["dir"] / f"{name}-{port}.log")


@pytest.fixture(scope="module")
def server(world):
    srv = _server(world, "server")
    try:
        with srv:
            yield srv
    finally:
        srv.stop()
        assert srv.proc is not None and srv.proc.poll() is not None, "llama-server is still running"


def _curl(world, name: str, port: int, **values):
    r = up.run(up.argv(name, world["bin"], port=port, **values), timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _completion(server, engine, scale: float) -> dict:
    """Raw /completion on the chat-formatted prompt (formatted by our Engine, so both sides see
    the same text), greedy, with a per-request adapter scale."""
    status, out = up.http("POST", server.url + "/completion", {
        "prompt": engine.format_chat(PROMPT), "n_predict": N, "temperature": 0, "top_k": 1, "cache_prompt": False,
        "return_tokens": True, "lora": [{"id": 0, "scale": scale}],
    })
    assert status == 200, out
    return out


def test_server_lists_our_adapter(world, server):
    listed = _curl(world, "list", server.port)
    assert len(listed) == 1
    assert listed[0]["id"] == 0 and listed[0]["path"] == str(world["adapter"]) and listed[0]["scale"] == 1.0
    assert listed[0]["task_name"] == DESC


def _generated_ids(out: dict) -> list[int]:
    """The server's token ids without the end-of-turn token it includes when it stops on one
    (our generate stops before it, and counts only the tokens it emits)."""
    ids = list(out["tokens"])
    return ids[:-1] if out.get("stop_type") == "eos" else ids


def test_server_scale0_is_base(server, engine, world):
    out = _completion(server, engine, 0.0)
    assert out["content"] == world["plain"]["text"]
    assert len(_generated_ids(out)) == world["plain"]["n_gen_tokens"]


def test_server_scale1_equals_generate_token_for_token(server, engine, world):
    ours = world["adapted"]
    out = _completion(server, engine, 1.0)
    pieces = []
    engine.use(world["adapter"])
    try:
        reference = engine.generate(PROMPT, max_tokens=N, on_token=pieces.append)
    finally:
        engine.clear()
    assert reference.text == ours["text"]  # the in-process Engine and the CLI agree
    ids = _generated_ids(out)
    assert len(ids) == ours["n_gen_tokens"]
    # token for token: the server's ids, spelled by our vocab, are exactly our streamed pieces
    assert [engine.token_bytes(t).decode("utf-8", "replace") for t in ids] == pieces
    assert out["content"] == ours["text"]


def test_server_chat_endpoint(world, server):
    """The README's OpenAI-style request with a per-request scale: the server applies the chat
    template itself and still answers exactly what our generate does."""
    for scale, key in ((1.0, "adapted"), (0.0, "plain"), (1.0, "adapted")):
        out = _curl(world, "chat", server.port, scale=scale)
        assert out["choices"][0]["message"]["content"] == world[key]["text"], scale


def test_server_hot_swap(world):
    """POST /lora-adapters switches the adapter on and off without reloading anything.

    Two quirks of this llama.cpp's server are recorded here, because the README warns about
    them (if upstream changes, this fails and the README needs updating):
    - --lora-init-without-apply still lists the adapter at scale 1 and applies it;
    - a request that may reuse the prompt cache after a switch continues from KV computed under
      the old scale, so the README's request sends "cache_prompt": false."""
    srv = _server(world, "server_hotswap")
    try:
        with srv:
            plain, adapted = world["plain"]["text"], world["adapted"]["text"]

            def ask():
                return _curl(world, "ask", srv.port)["choices"][0]["message"]["content"]

            assert _curl(world, "list", srv.port)[0]["scale"] == 1.0  # quirk 1
            assert ask() == adapted  # quirk 1: applied although "without apply"
            assert _curl(world, "apply", srv.port, scale=0.0) == {"success": True}
            assert _curl(world, "list", srv.port)[0]["scale"] == 0.0
            assert ask() == plain
            assert _curl(world, "apply", srv.port, scale=1.0) == {"success": True}
            assert ask() == adapted
            _curl(world, "apply", srv.port, scale=0.0)
            status, out = up.http("POST", srv.url + "/v1/chat/completions", {  # quirk 2: cache on
                "messages": [{"role": "user", "content": PROMPT}], "max_tokens": N, "temperature": 0})
            # the prompt's KV comes from the scale-1 request and only the new tokens see scale 0,
            # so the answer is not the base's (which of the two it resembles depends on the adapter)
            assert status == 200 and out["choices"][0]["message"]["content"] != plain
            assert ask() == plain
    finally:
        srv.stop()
    assert srv.proc.poll() is not None


def test_cli_equals_generate(world):
    out = world["dir"] / "answer.txt"
    args = up.argv("cli", world["bin"], base=world["base"], adapter=world["adapter"], out=out) + up.TEST_FLAGS
    r = up.run(args, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-2000:]
    # llama-cli's --output-file: the user turn, then the answer, a newline if it had none, a blank line
    content = world["adapted"]["text"]
    expected = f"User:\n{PROMPT}\n\nAssistant:\n{content}" + ("" if content.endswith("\n") else "\n") + "\n"
    assert out.read_text("utf-8") == expected


@pytest.fixture(scope="module")
def merge_metrics(world, engine):
    """llama-export-lora bakes the adapter into the base: the merged model's next-token
    distributions against the unmerged runtime adapter, next to the noise of the type change
    alone. export-lora writes each merged tensor as F16 (dequantised Q4_1 + delta) and copies
    the rest, so the noise reference is the same export at adapter scale 0: the base with the
    same tensors re-typed. Each is then re-quantized with llama-quantize (Q8_0, and the base's
    own Q4_1), which is how a merged model would be shipped smaller."""
    from t2l_edge.engine import Engine
    from tests.test_llama_parity_slow import PROMPTS, compare

    d, b, base, adapter = world["dir"], world["bin"], world["base"], world["adapter"]
    files = {"merged_f16": d / "smollm2-sci.gguf", "zero_f16": d / "smollm2-zero.gguf"}
    r = up.run(up.argv("export", b, base=base, adapter=adapter, merged=files["merged_f16"]) + ["-t", "1"])
    assert r.returncode == 0, r.stderr[-2000:] + r.stdout[-2000:]
    r = up.run([str(b / "llama-export-lora"), "-m", str(base), "--lora-scaled", f"{adapter}:0", "-o",
                str(files["zero_f16"]), "-t", "1"])
    assert r.returncode == 0, r.stderr[-2000:] + r.stdout[-2000:]
    files["ours_f16"] = d / "smollm2-sci-ours.gguf"  # t2l-edge merge, the same job
    _cli("merge", str(adapter), "-o", str(files["ours_f16"]))
    for qtype in ("Q8_0", "Q4_1"):
        for name in ("merged", "zero"):
            src, dst = files[f"{name}_f16"], d / f"{name}-{qtype.lower()}.gguf"
            r = up.run(up.argv("quantize", b, merged=src, quantized=dst, qtype=qtype) + ["1"])
            assert r.returncode == 0, r.stderr[-2000:]
            files[f"{name}_{qtype.lower()}"] = dst

    tokens = [engine.tokenize(p, special=True) for p in PROMPTS]
    tokens.append(engine.tokenize(engine.format_chat(PROMPT), add_bos=False, special=True))
    engine.clear()
    ref_base = [engine.logits(t) for t in tokens]
    engine.use(adapter)
    ref_adapted = [engine.logits(t) for t in tokens]
    engine.clear()
    got = {}
    for name, path in files.items():
        with Engine(path, n_threads=1) as e:
            got[name] = [e.logits(t) for t in tokens]
    m = {"adapter_effect": compare(ref_adapted, ref_base)}
    for kind in ("f16", "q8_0", "q4_1"):
        m[f"noise_{kind}"] = compare(ref_base, got[f"zero_{kind}"])
        m[f"merged_{kind}"] = compare(ref_adapted, got[f"merged_{kind}"])
    m["ours_f16"] = compare(ref_adapted, got["ours_f16"])
    m["ours_vs_upstream_f16"] = compare(got["merged_f16"], got["ours_f16"])
    print("\nexport-lora metrics:", json.dumps(m))
    return {**m, "files": files}


def test_export_lora_adapter_moves_the_model(merge_metrics):
    m = merge_metrics
    assert m["adapter_effect"]["kl"] > 10 * max(m["merged_f16"]["kl"], m["noise_f16"]["kl"])


@pytest.mark.parametrize("kind", ["f16", "q8_0"])
def test_export_lora_matches_runtime_adapter(merge_metrics, kind):
    """Tolerance implied by the noise: the merged model may differ from the runtime adapter by
    at most twice the re-typing noise (mean KL) plus 1e-3 nats, and agree on the top token
    within 5 points of the re-typed base's agreement with the base (132 positions: one
    near-tie is 0.8 points)."""
    noise, merged = merge_metrics[f"noise_{kind}"], merge_metrics[f"merged_{kind}"]
    assert merged["kl"] <= 2 * noise["kl"] + 1e-3
    assert merged["top1"] >= noise["top1"] - 0.05


def test_export_lora_q4_1_keeps_most_of_the_adapter(merge_metrics):
    """Re-quantizing to the base's own Q4_1 is exact for the base (Q4_1 values survive the F16
    round trip) but rounds away part of the small delta: recorded, and the README advises
    F16 or Q8_0. It must still be far nearer the adapted model than the base is."""
    m = merge_metrics
    assert m["noise_q4_1"]["kl"] <= m["noise_f16"]["kl"]
    assert m["merged_q4_1"]["kl"] < 0.5 * m["adapter_effect"]["kl"]


def test_our_merge_matches_export_lora(merge_metrics):
    """`t2l-edge merge` against upstream's llama-export-lora on the same adapter: the same
    tensors, the same types, values within one F16 rounding step (the two sum B @ A in a
    different order), and as near the runtime adapter as export-lora's output is."""
    import gguf

    ours = gguf.GGUFReader(str(merge_metrics["files"]["ours_f16"]))
    theirs = {t.name: t for t in gguf.GGUFReader(str(merge_metrics["files"]["merged_f16"])).tensors}
    assert sorted(t.name for t in ours.tensors) == sorted(theirs)
    for t in ours.tensors:
        u = theirs[t.name]
        assert t.tensor_type == u.tensor_type, t.name
        if t.tensor_type == gguf.GGMLQuantizationType.F16:
            a, b = np.asarray(t.data, np.float32), np.asarray(u.data, np.float32)
            assert np.allclose(a, b, rtol=2e-3, atol=1e-5), (t.name, float(np.abs(a - b).max()))
        else:
            assert np.array_equal(t.data, u.data), t.name
    noise, m = merge_metrics["noise_f16"], merge_metrics
    assert m["ours_f16"]["kl"] <= 2 * noise["kl"] + 1e-3
    assert m["ours_vs_upstream_f16"]["kl"] <= noise["kl"] + 1e-3
