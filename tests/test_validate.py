"""The adapter validator refuses every malformed adapter with a clear message, and a refused
adapter never reaches llama.cpp (whose binding segfaults on one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.helpers.bad_adapters import build_cases, good_tensors, write_raw
from t2l_edge.core.basemodel import read_base_spec
from t2l_edge.core.errors import T2LError
from t2l_edge.formats.gguf_adapter import write_gguf
from t2l_edge.formats.validate import validate_adapter
from tests.helpers.tinyllama import TinyLlama, random_adapter

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_base):
    d = tmp_path_factory.mktemp("validate")
    base = tiny_base
    other = TinyLlama(seed=7).write(d / "other.gguf")  # same shapes, different weights
    spec = read_base_spec(base)
    cases = build_cases(spec, base, random_adapter(read_base_spec(other)), d)
    good = write_gguf(random_adapter(spec, description="say hi"), d / "good.gguf", dtype="f16")
    return {"dir": d, "base": base, "spec": spec, "cases": cases, "good": good}


def test_good_adapter_report(world):
    r = validate_adapter(world["good"], world["base"])
    assert r.base_verified and not r.warnings
    assert (r.description, r.rank, r.alpha, r.targets, r.n_layers, r.dtype) == ("say hi", 4, 4.0, ["q_proj", "v_proj"], 2, "F16")
    assert r.generator == "tests"
    assert all(len(v) == 2 and min(v) > 0 for v in r.delta_norms.values())


def test_delta_norms_match_adapter(world):
    ad = random_adapter(world["spec"])
    path = write_gguf(ad, world["dir"] / "norms.gguf", dtype="f32")
    r = validate_adapter(path, world["base"])
    for m, norms in ad.delta_norms().items():
        np.testing.assert_allclose(r.delta_norms[m], norms, rtol=1e-4)
    # Both against the definition, computed directly: ||scale * B @ A||_F per layer, with
    # llama.cpp's scale = alpha / rank (1 when alpha is 0).
    scale = ad.alpha / ad.rank if ad.alpha else 1.0
    for m in ad.targets:
        direct = [np.linalg.norm(scale * ad.B[m][i].astype(np.float64) @ ad.A[m][i].astype(np.float64))
                  for i in range(world["spec"].n_layer)]
        np.testing.assert_allclose(r.delta_norms[m], direct, rtol=1e-4)
        np.testing.assert_allclose(ad.delta_norms()[m], direct, rtol=1e-4)


@pytest.mark.parametrize("name", [
    "wrong_arch", "wrong_shape", "transposed_a", "missing_half", "unknown_suffix", "unknown_base_tensor", "nan",
    "bad_dtype", "mixed_rank", "no_alpha", "model_not_adapter", "model_gguf", "truncated", "cut_header", "not_gguf",
    "zero_bytes",
    "base_mismatch",
])
def test_malformed_adapter_refused(world, name):
    path, fragment = world["cases"][name]
    with pytest.raises(T2LError) as exc:
        validate_adapter(path, world["base"])
    assert fragment in exc.value.one_line(), exc.value.one_line()
    assert exc.value.hint  # every refusal says what to do


def test_base_mismatch_override(world):
    path, _ = world["cases"]["base_mismatch"]
    r = validate_adapter(path, world["base"], allow_base_mismatch=True)
    assert not r.base_verified and any("mismatch" in w for w in r.warnings)


def test_foreign_adapter_allowed_with_warning(world):
    path = write_raw(world["dir"] / "foreign.gguf", good_tensors(world["spec"]))
    r = validate_adapter(path, world["base"])
    assert not r.base_verified and r.base_sha256_recorded == ""
    assert any("cannot verify" in w for w in r.warnings)


def test_bf16_adapter_accepted(world):
    import gguf

    g = good_tensors(world["spec"])
    # bf16 bits are the top half of float32
    raw = {n: (a.view(np.uint32) >> 16).astype(np.uint16) for n, a in g.items()}
    w = gguf.GGUFWriter(str(world["dir"] / "bf16.gguf"), arch="llama")
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 4.0)
    for n, a in raw.items():
        w.add_tensor(n, a, raw_shape=a.shape, raw_dtype=gguf.GGMLQuantizationType.BF16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    r = validate_adapter(world["dir"] / "bf16.gguf", world["base"])
    assert r.dtype == "BF16" and r.rank == 4


def test_adapter_given_as_base_refused(world):
    with pytest.raises(T2LError, match="not a base model"):
        validate_adapter(world["good"], world["good"])


_SCRIPT = textwrap.dedent("""
    import json, sys
    import llama_cpp
    from t2l_edge.engine import Engine
    from t2l_edge.core.errors import T2LError
    calls = []
    real_init = llama_cpp.llama_adapter_lora_init
    def spy(model, path):
        calls.append(path.decode())
        return real_init(model, path)
    llama_cpp.llama_adapter_lora_init = spy
    cases = json.loads(sys.argv[1])
    out = {{}}
    with Engine({base!r}, n_ctx=64) as e:
        for name, path in cases.items():
            try:
                e.use(path)
                out[name] = "ACCEPTED"
            except T2LError as exc:
                out[name] = exc.one_line()
        e.use({good!r})           # a good adapter still loads and runs after all the refusals
        e.logits(e.tokenize("hello"))
    print(json.dumps({{"refusals": out, "calls": calls}}))
""")


def test_refused_adapters_never_reach_llama_cpp(world):
    """Run in a subprocess: if a bad adapter did reach llama.cpp, the process could segfault."""
    pytest.importorskip("llama_cpp")
    cases = {k: str(p) for k, (p, _) in world["cases"].items()}
    script = _SCRIPT.format(base=str(world["base"]), good=str(world["good"]))
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(cases)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (_, fragment) in world["cases"].items():
        assert fragment in result["refusals"][name], (name, result["refusals"][name])
    assert result["calls"] == [str(world["good"])]  # only the good adapter was handed to llama.cpp


def test_in_memory_validation_reports_what_the_written_file_reports(world):
    from t2l_edge.formats.validate import validate_adapter_object

    ad = random_adapter(world["spec"], description="in memory")
    from_file = validate_adapter(write_gguf(ad, world["dir"] / "mem.gguf", dtype="f32"), world["base"]).to_dict()
    in_memory = validate_adapter_object(ad, world["base"]).to_dict()
    for r in (from_file, in_memory):
        r.pop("path")
        norms = r.pop("delta_norms")
        r["norms"] = {m: np.round(v, 5).tolist() for m, v in norms.items()}
    assert in_memory == from_file


def test_in_memory_validation_refuses_what_the_file_validator_refuses(world):
    from dataclasses import replace

    from t2l_edge.formats.validate import validate_adapter_object

    ad = random_adapter(world["spec"])
    ad.A["q_proj"][0, 0, 0] = np.nan
    with pytest.raises(T2LError, match="NaN"):
        validate_adapter_object(ad, world["base"])
    other = random_adapter(replace(world["spec"], sha256="0" * 64, name="another"))
    with pytest.raises(T2LError, match="was made for base 'another'"):
        validate_adapter_object(other, world["base"])
    assert not validate_adapter_object(other, world["base"], allow_base_mismatch=True).base_verified
    wider = random_adapter(replace(world["spec"], hidden=world["spec"].hidden * 2, head_dim=world["spec"].head_dim * 2))
    with pytest.raises(T2LError, match=r"is \(64, 64\) in the base, the adapter needs \(128, 128\)"):
        validate_adapter_object(wider, world["base"])
    llama_like = random_adapter(replace(world["spec"], arch="qwen2"))
    with pytest.raises(T2LError, match="architecture 'qwen2'"):
        validate_adapter_object(llama_like, world["base"])
