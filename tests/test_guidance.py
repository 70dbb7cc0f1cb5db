"""Adapter guidance (core/guidance.py): the rank-2r adapter is exactly
reference + gamma * (adapter - reference), through the GGUF writer too, and the Generator's
description-free reference is one fixed adapter."""

from __future__ import annotations

import numpy as np
import pytest

from t2l_edge.core.errors import T2LError
from t2l_edge.core.guidance import guided
from tests.helpers.tinyllama import random_adapter

pytestmark = pytest.mark.torch_free


def _pair(spec, rslora: bool):
    a, r = random_adapter(spec, seed=1), random_adapter(spec, seed=2)
    for ad in (a, r):
        ad.use_rslora = rslora
    return a, r


@pytest.mark.parametrize("rslora", [False, True])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.5])
def test_guided_delta_is_the_extrapolation(tiny_base_spec, rslora, gamma):
    a, r = _pair(tiny_base_spec, rslora)
    g = guided(a, r, gamma)
    assert g.rank == 2 * a.rank and g.extra["guidance"] == gamma
    for m in a.targets:
        for layer in range(tiny_base_spec.n_layer):
            want = r.delta(m, layer) + gamma * (a.delta(m, layer) - r.delta(m, layer))
            np.testing.assert_allclose(g.delta(m, layer), want, rtol=1e-5, atol=1e-6)


def test_gamma_one_is_the_plain_adapter_and_bad_values_are_refused(tiny_base_spec):
    a, r = _pair(tiny_base_spec, False)
    assert guided(a, r, 1.0) is a
    for bad in (-0.5, float("nan"), float("inf"), 100.0):
        with pytest.raises(T2LError, match="guidance"):
            guided(a, r, bad)
    other = random_adapter(tiny_base_spec, rank=2)
    with pytest.raises(T2LError, match="shape"):
        guided(a, other, 2.0)


def test_guided_adapter_survives_the_gguf_round_trip(tiny_base_spec, tmp_path):
    from t2l_edge.formats.gguf_adapter import read_gguf_adapter, write_gguf

    a, r = _pair(tiny_base_spec, False)
    g = guided(a, r, 2.0)
    path = write_gguf(g, tmp_path / "g.gguf", dtype="f32")
    back = read_gguf_adapter(path, tiny_base_spec)
    for m in g.targets:
        np.testing.assert_allclose(back.delta(m, 0), g.delta(m, 0), rtol=1e-5, atol=1e-6)


def test_generator_guidance_uses_one_reference(tiny_llama_bundle, tmp_path, monkeypatch):
    from t2l_edge.runtime import Generator

    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))  # the task bank's cache, not the user's

    gen = Generator.load(tiny_llama_bundle, threads=1)
    plain = gen.make("answer yes or no")
    g = gen.make("answer yes or no", guidance=2.0)
    ref = gen.reference()
    assert gen.reference() is ref  # computed once
    for m in plain.targets:
        want = ref.delta(m, 1) + 2.0 * (plain.delta(m, 1) - ref.delta(m, 1))
        np.testing.assert_allclose(g.delta(m, 1), want, rtol=1e-4, atol=1e-6)
    with pytest.raises(T2LError, match="guidance"):
        gen.make("answer yes or no", guidance=-1.0)
