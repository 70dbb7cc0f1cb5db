"""GGUF LoRA files: metadata, names, shapes, and the Q/K row permutation llama.cpp needs."""

import json

import gguf
import numpy as np
import pytest

from t2l_edge.core.adapter import Adapter
from t2l_edge.core.arch import gguf_tensor_name
from t2l_edge.formats.gguf_adapter import read_gguf_adapter, write_gguf
from tests.helpers.tiny_models import tiny_spec

pytestmark = pytest.mark.torch_free  # runtime: runs in the torch-free venv too

MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


def _adapter(spec, dtype=np.float32):
    rng = np.random.default_rng(0)
    A = {m: rng.standard_normal((spec.n_layer, 4, spec.shape(m)[0])).astype(dtype) for m in MODULES}
    B = {m: rng.standard_normal((spec.n_layer, spec.shape(m)[1], 4)).astype(dtype) for m in MODULES}
    return Adapter("Answer yes or no.", spec, 4, 16.0, True, A, B, generator="t2l-edge test", extra={"bundle_id": "x"})


def _direct_permute(b, n_head):
    """llama.cpp's permute written out row by row, independently of arch.py: within each head,
    GGUF row 2j is HF row j and GGUF row 2j+1 is HF row half+j (rope pairs become adjacent)."""
    head = b.shape[0] // n_head
    half = head // 2
    out = np.empty_like(b)
    for h in range(n_head):
        for j in range(half):
            out[h * head + 2 * j] = b[h * head + j]
            out[h * head + 2 * j + 1] = b[h * head + half + j]
    return out


def test_round_trip_keys_names_shapes(tmp_path):
    spec = tiny_spec()
    ad = _adapter(spec)
    path = write_gguf(ad, tmp_path / "a.gguf", dtype="f32")
    r = gguf.GGUFReader(path)
    f = {k: v.contents() for k, v in r.fields.items() if not k.startswith("GGUF.")}
    assert f["general.type"] == "adapter" and f["adapter.type"] == "lora"
    assert f["general.architecture"] == "llama"
    assert f["adapter.lora.alpha"] == pytest.approx(16.0 / 2 * 4)  # rsLoRA: alpha*sqrt(r) = scale*r
    assert f["adapter.lora.task_name"] == "Answer yes or no."
    assert f["t2l_edge.base_sha256"] == spec.sha256 and f["t2l_edge.generator"] == "t2l-edge test"
    assert json.loads(f["t2l_edge.extra"]) == {"bundle_id": "x"}
    names = {t.name: t for t in r.tensors}
    assert len(names) == 2 * len(MODULES) * spec.n_layer
    for m in MODULES:
        fin, fout = spec.shape(m)
        for layer in range(spec.n_layer):
            base = gguf_tensor_name(m, layer)
            assert tuple(names[base + ".lora_a"].data.shape) == (4, fin)
            assert tuple(names[base + ".lora_b"].data.shape) == (fout, 4)
    back = read_gguf_adapter(path)
    for m in MODULES:
        np.testing.assert_array_equal(back.A[m], ad.A[m])
        np.testing.assert_array_equal(back.B[m], ad.B[m])


def test_qk_rows_permuted_others_untouched(tmp_path):
    spec = tiny_spec()
    ad = _adapter(spec)
    r = gguf.GGUFReader(write_gguf(ad, tmp_path / "a.gguf", dtype="f32"))
    t = {x.name: np.asarray(x.data) for x in r.tensors}
    heads = {"q_proj": spec.n_head, "k_proj": spec.n_head_kv}
    for m in MODULES:
        for layer in range(spec.n_layer):
            name = gguf_tensor_name(m, layer)
            np.testing.assert_array_equal(t[name + ".lora_a"], ad.A[m][layer])  # A never moves
            want = _direct_permute(ad.B[m][layer], heads[m]) if m in heads else ad.B[m][layer]
            np.testing.assert_array_equal(t[name + ".lora_b"], want)
            if m in heads:
                assert not np.array_equal(want, ad.B[m][layer])


def test_qwen2_is_not_permuted(tmp_path):
    spec = tiny_spec("qwen2")
    ad = _adapter(spec)
    r = gguf.GGUFReader(write_gguf(ad, tmp_path / "a.gguf", dtype="f32"))
    t = {x.name: np.asarray(x.data) for x in r.tensors}
    np.testing.assert_array_equal(t[gguf_tensor_name("q_proj", 0) + ".lora_b"], ad.B["q_proj"][0])


def test_f16_default_and_deterministic_bytes(tmp_path):
    spec = tiny_spec()
    a = write_gguf(_adapter(spec), tmp_path / "a.gguf")
    b = write_gguf(_adapter(spec), tmp_path / "b.gguf")
    assert a.read_bytes() == b.read_bytes()
    r = gguf.GGUFReader(a)
    assert {t.tensor_type for t in r.tensors} == {gguf.GGMLQuantizationType.F16}


def test_nan_refused_and_nothing_written(tmp_path):
    from t2l_edge.core.errors import T2LError

    ad = _adapter(tiny_spec())
    ad.B["v_proj"][1, 0, 0] = np.nan
    with pytest.raises(T2LError, match="NaN"):
        write_gguf(ad, tmp_path / "bad.gguf")
    assert list(tmp_path.iterdir()) == []
