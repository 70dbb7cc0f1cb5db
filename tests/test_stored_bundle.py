"""The committed tiny bundle (tests/data/tiny_bundle) is sound: every listed file present and
matching its digest, loadable, small, and (where torch is installed) still what
tests/helpers/make_tiny_bundle.py builds."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

pytestmark = pytest.mark.torch_free

TEXTS = ["answer yes or no", "translate into french", "write python function"]


def test_stored_bundle_manifest_and_digests(stored_bundle):
    from t2l_edge.runtime.bundle import load_bundle

    man = json.loads((stored_bundle / "manifest.json").read_text())
    listed = set(man["files"])
    on_disk = {p.name for p in stored_bundle.iterdir()} - {"manifest.json"}
    assert listed == on_disk == {"encoder.onnx", "hypernet.onnx", "tokenizer.json"}
    for name, digest in man["files"].items():
        assert hashlib.sha256((stored_bundle / name).read_bytes()).hexdigest() == digest, name
    assert sum(p.stat().st_size for p in stored_bundle.iterdir()) < 1 << 20  # kept small: it is committed
    loaded = load_bundle(stored_bundle, verify="full")
    assert loaded.base.n_layer == 2 and loaded.targets == ("q_proj", "v_proj")
    assert man["hypernet"]["config"]["variant"] == "M"


def test_stored_bundle_generates(stored_bundle):
    from t2l_edge.runtime import Generator

    gen = Generator.load(stored_bundle, threads=1)
    a, b = (gen.make(t) for t in TEXTS[:2])
    for ad in (a, b):
        assert ad.targets == ("q_proj", "v_proj")
        assert all(np.isfinite(x).all() for x in (*ad.A.values(), *ad.B.values()))
    assert not np.allclose(a.B["q_proj"], b.B["q_proj"])  # the perturbed heads make outputs depend on the text


def test_stored_bundle_matches_a_fresh_build(stored_bundle, tmp_path, request):
    """Regenerating it (tests/helpers/make_tiny_bundle.py) gives the same adapters."""
    pytest.importorskip("torch")
    from t2l_edge.runtime import Generator
    from tests.helpers.make_tiny_bundle import build

    fresh = build(tmp_path / "fresh", encoder=request.getfixturevalue("tiny_encoder_export"))
    old, new = Generator.load(stored_bundle, threads=1), Generator.load(fresh, threads=1)
    for text in TEXTS:
        a, b = old.make(text), new.make(text)
        for m in a.A:
            np.testing.assert_allclose(a.A[m], b.A[m], atol=1e-5)
            np.testing.assert_allclose(a.B[m], b.B[m], atol=1e-5)
