"""PyTorch vs ONNX Runtime: the generator users run must equal the one that was trained."""

import numpy as np
import pytest
import torch

from t2l_edge.runtime import Generator
from tests.helpers.tiny_models import tiny_bundle, torch_pipeline

TEXTS = ["answer yes or no .", "translate the text into french", "write python function", "pick the correct option ?"]


@pytest.fixture(scope="module")
def encoder(tiny_encoder_export):
    return tiny_encoder_export


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("variant", ["L", "M", "S"])
def test_runtime_matches_pytorch(tmp_path, encoder, variant, dtype):
    folder, net, enc = tiny_bundle(tmp_path / "bundle", variant, encoder=encoder, hypernet_dtype=dtype)
    gen = Generator.load(folder)
    adapters = gen.make_batch(TEXTS)
    # The runtime normalises text (appends a full stop where missing) before embedding.
    ref = torch_pipeline(enc, net, [a.description for a in adapters])
    worst, peak = 0.0, 0.0
    for i, ad in enumerate(adapters):
        for m in ad.targets:
            worst = max(worst, np.abs(ad.A[m] - ref[m][0][i]).max(), np.abs(ad.B[m] - ref[m][1][i]).max())
            peak = max(peak, np.abs(ref[m][0][i]).max(), np.abs(ref[m][1][i]).max())
    if dtype == "fp32":
        assert worst < 1e-4
    else:  # fp16-stored weights: a small error relative to the values, but not zero
        assert 0 < worst < 2e-3 * peak
        assert "fp16" in gen.manifest.raw["hypernet"]["dtype"]
    # and the description matters: different tasks, different adapters
    assert np.abs(adapters[0].B["q_proj"] - adapters[1].B["q_proj"]).max() > 1e-4


def test_manifest_records_provenance_and_parity(tmp_path, encoder):
    from tests.helpers.tiny_models import read_manifest

    folder, net, _ = tiny_bundle(tmp_path / "b", "S", encoder=encoder)
    man = read_manifest(folder)
    assert man["format_version"] == 1
    assert man["base"]["n_layer"] == 2 and man["base"]["arch"] == "llama"
    assert man["lora"] == {"rank": 4, "alpha": 16.0, "use_rslora": True, "scaling": "rslora", "targets": ["q_proj", "v_proj"]}
    assert man["hypernet"]["param_count"] == net.param_count()
    assert man["hypernet"]["onnx_parity"]["max_abs_diff"]["delta"] < 1e-4
    assert set(man["files"]) == {"encoder.onnx", "tokenizer.json", "hypernet.onnx"}
    assert man["training"]["note"] == "untrained test bundle"
    # encoder.sha256 names the file training embedded with; the bundle ships its optimised graph
    from t2l_edge.runtime.encoder_runtime import PRE_OPTIMIZED
    from t2l_edge.core.paths import sha256_file

    assert man["encoder"]["sha256"] == sha256_file(encoder["onnx"])
    assert man["encoder"]["graph"] == PRE_OPTIMIZED
    assert set(man["export"]) == {"git_commit", "date"}


def test_shipped_encoder_embeds_exactly_as_the_training_encoder(tmp_path, encoder):
    from t2l_edge.runtime.encoder_runtime import OnnxEncoder

    folder, _, _ = tiny_bundle(tmp_path / "b", "S", encoder=encoder)
    texts = TEXTS + ["a much longer description of a task " * 4]
    trained = OnnxEncoder(encoder["onnx"], encoder["tokenizer"]).encode(texts)
    gen = Generator.load(folder)
    assert gen.encoder.session.get_session_options().graph_optimization_level.name == "ORT_DISABLE_ALL"
    assert np.array_equal(gen.embed(texts), trained)


def test_an_int8_encoder_embeds_a_text_the_same_alone_or_in_a_batch(tmp_path):
    from export.encoder import quantize_int8
    from t2l_edge.runtime.encoder_runtime import OnnxEncoder
    from tests.helpers.tiny_models import tiny_encoder

    enc = tiny_encoder(tmp_path / "enc", pieces=True)
    quantize_int8(enc["onnx"], tmp_path / "int8.onnx")
    onnx = OnnxEncoder(tmp_path / "int8.onnx", enc["tokenizer"])
    texts = TEXTS + ["a much longer description of a task " * 4]
    batch = onnx.encode_packed(texts)
    for i, text in enumerate(texts):  # dynamic quantisation scales per call: one text per call
        assert np.array_equal(batch[i], onnx.encode_packed([text])[0])
    assert np.array_equal(onnx.encode(texts)[1], onnx.encode(texts[1:2])[0])


def test_fp16_weights_halve_the_hypernet_file(tmp_path, encoder):
    f32, _, _ = tiny_bundle(tmp_path / "a", "L", encoder=encoder, hypernet_dtype="fp32")
    f16, _, _ = tiny_bundle(tmp_path / "b", "L", encoder=encoder, hypernet_dtype="fp16")
    ratio = (f16 / "hypernet.onnx").stat().st_size / (f32 / "hypernet.onnx").stat().st_size
    assert ratio < 0.8  # tiny nets keep relatively many small fp32 tensors; SmolLM2 M: 12.4 -> 6.2 MB


def test_export_refuses_an_encoder_other_than_the_trained_one(tmp_path, encoder):
    from t2l_edge.export.bundle_writer import write_bundle
    from t2l_edge.core.errors import T2LError
    from tests.helpers.tiny_models import tiny_hypernet

    with pytest.raises(T2LError, match="would ship .tiny-bert fp32."):
        write_bundle(tiny_hypernet("S"), tmp_path / "x", {"encoder": "tiny-bert int8"}, encoder=encoder, log=lambda s: None)
    with pytest.raises(T2LError, match="sha256"):
        write_bundle(tiny_hypernet("S"), tmp_path / "x", {"encoder_sha256": "0" * 64}, encoder=encoder, log=lambda s: None)
    assert not (tmp_path / "x").exists()
