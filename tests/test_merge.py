"""merge_adapter: base + adapter baked into one model GGUF, the same model llama.cpp runs with
the adapter active."""

from __future__ import annotations

from dataclasses import replace

import gguf
import numpy as np
import pytest

from t2l_edge.core.basemodel import read_base_spec
from t2l_edge.core.errors import T2LError
from t2l_edge.engine import Engine
from t2l_edge.formats.merge import merge_adapter
from tests.helpers.tinyllama import TinyLlama, random_adapter

pytestmark = pytest.mark.torch_free

TEXT = "the cat is in the garden and the dog is here"


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_base):
    d = tmp_path_factory.mktemp("merge")
    spec = read_base_spec(tiny_base)
    ad = random_adapter(spec, modules=("q_proj", "k_proj", "v_proj", "o_proj"), seed=3, description="merge me")
    return {"dir": d, "base": tiny_base, "spec": spec, "ad": ad, "merged": merge_adapter(ad, tiny_base, d / "merged.gguf")}


def _logits(base, adapter=None, scale=1.0):
    with Engine(base, n_ctx=128, kv_type="f32", n_threads=1) as e:
        if adapter is not None:
            e.use(adapter, scale)
        return e.logits(e.tokenize(TEXT))


def test_merged_model_computes_what_the_active_adapter_computes(world):
    with_adapter = _logits(world["base"], world["ad"])
    merged = _logits(world["merged"])
    base = _logits(world["base"])
    assert np.abs(with_adapter - base).max() > 1e-2  # the adapter does something
    assert np.abs(merged - with_adapter).max() < 1e-4  # f32 base: merged f32, same sums


def test_scale_is_applied_and_untouched_tensors_and_metadata_are_copied(world):
    half = merge_adapter(world["ad"], world["base"], world["dir"] / "half.gguf", scale=0.5)
    assert np.abs(_logits(half) - _logits(world["base"], world["ad"], 0.5)).max() < 1e-4
    base, merged = gguf.GGUFReader(str(world["base"])), gguf.GGUFReader(str(world["merged"]))
    assert {f.name: f.contents() for f in base.fields.values() if not f.name.startswith("GGUF.")} == \
        {f.name: f.contents() for f in merged.fields.values() if not f.name.startswith("GGUF.")}
    touched = {t.name for t in merged.tensors if "attn_" in t.name and "norm" not in t.name}
    for a, b in zip(base.tensors, merged.tensors):
        assert a.name == b.name and a.tensor_type == b.tensor_type
        assert np.array_equal(a.data, b.data) != (a.name in touched), a.name


def test_merge_refuses_what_loading_would_refuse_and_never_overwrites(world):
    with pytest.raises(T2LError, match="exists"):
        merge_adapter(world["ad"], world["base"], world["merged"])
    other = random_adapter(replace(world["spec"], sha256="0" * 64, name="another"))
    with pytest.raises(T2LError, match="was made for base 'another'"):
        merge_adapter(other, world["base"], world["dir"] / "other.gguf")
    assert not (world["dir"] / "other.gguf").exists()
    other_base = TinyLlama(seed=7).write(world["dir"] / "other-base.gguf")
    merged = merge_adapter(other, other_base, world["dir"] / "forced.gguf", allow_base_mismatch=True)
    assert merged.is_file()
