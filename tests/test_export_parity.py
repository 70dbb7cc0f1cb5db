"""PyTorch vs ONNX Runtime: the generator users run must equal the one that was trained."""

import numpy as np
import pytest
import torch

from t2l_edge.runtime import Generator
from tiny_models import tiny_bundle, tiny_encoder, torch_pipeline

torch.set_num_threads(1)
TEXTS = ["answer yes or no .", "translate the text into french", "write python function", "pick the correct option ?"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_encoder(tmp_path_factory.mktemp("enc") / "encoder")


@pytest.mark.parametrize("variant", ["L", "M", "S"])
def test_runtime_matches_pytorch(tmp_path, encoder, variant):
    folder, net, enc = tiny_bundle(tmp_path / "bundle", variant, encoder=encoder)
    gen = Generator.load(folder)
    adapters = gen.make_batch(TEXTS)
    # The runtime normalises text (appends a full stop where missing) before embedding.
    ref = torch_pipeline(enc, net, [a.description for a in adapters])
    worst = 0.0
    for i, ad in enumerate(adapters):
        for m in ad.targets:
            worst = max(worst, np.abs(ad.A[m] - ref[m][0][i]).max(), np.abs(ad.B[m] - ref[m][1][i]).max())
    assert worst < 1e-4
    # and the description matters: different tasks, different adapters
    assert np.abs(adapters[0].B["q_proj"] - adapters[1].B["q_proj"]).max() > 1e-4


def test_manifest_records_provenance_and_parity(tmp_path, encoder):
    from tests.tiny_models import read_manifest

    folder, net, _ = tiny_bundle(tmp_path / "b", "S", encoder=encoder)
    man = read_manifest(folder)
    assert man["format_version"] == 1
    assert man["base"]["n_layer"] == 2 and man["base"]["arch"] == "llama"
    assert man["lora"] == {"rank": 4, "alpha": 16.0, "use_rslora": True, "scaling": "rslora", "targets": ["q_proj", "v_proj"]}
    assert man["hypernet"]["param_count"] == net.param_count()
    assert man["hypernet"]["onnx_parity"]["max_abs_diff"]["delta"] < 1e-4
    assert set(man["files"]) == {"encoder.onnx", "tokenizer.json", "hypernet.onnx"}
    assert man["training"]["note"] == "untrained test bundle"
