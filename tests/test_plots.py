"""The analysis figures render from data, and the FLOPs arithmetic is right on known cases."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")

from t2l_edge.analysis import plots  # noqa: E402
from t2l_edge.analysis.flops import transformer_flops  # noqa: E402
from t2l_edge.hypernet.flops import hypernet_flops  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_results_bars_and_tsne_write_pngs(tmp_path):
    rows = [{"label": "base", "row": "base", "benchmarks": {"piqa": {"acc_norm": 0.6}, "arc_easy": {"acc_norm": 0.4}}},
            {"label": "t2l", "row": "t2l", "benchmarks": {"piqa": {"acc_norm": 0.7}}}]
    assert plots.results_bars(rows, tmp_path / "r.png").read_bytes()[:8] == PNG
    rng = np.random.default_rng(0)
    feats = np.concatenate([rng.normal(0, 1, (20, 64)), rng.normal(5, 1, (20, 64))]).astype(np.float32)
    out = plots.adapter_tsne(feats, ["a"] * 20 + ["benchmark: b"] * 20, tmp_path / "t.png")
    assert out.read_bytes()[:8] == PNG


def test_transformer_flops_counts_two_per_weight_per_token():
    # one layer, width 4, ffn 8, plain MLP, no attention context: 2 * (4*4*4 + 4*8*2) per token
    assert transformer_flops(3, layers=1, width=4, ffn=8, context=0) == 3 * 2 * (64 + 64)
    assert transformer_flops(1, 1, 4, 8, gated=True, context=0) > transformer_flops(1, 1, 4, 8, context=0)


def test_hypernet_flops_grow_with_rank():
    from t2l_edge.hypernet.config import HyperConfig
    from t2l_edge.hypernet.model import HyperNetwork
    from tests.helpers.tiny_models import tiny_spec

    small = HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=2), tiny_spec())
    big = HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=8), tiny_spec())
    assert 0 < hypernet_flops(small) < hypernet_flops(big)


def test_scaling_plot_from_result_files(tmp_path, capsys):
    import json

    from t2l_edge.cli import main

    files = []
    for n, acc in ((16, 0.38), (64, 0.40), (243, 0.43)):
        f = tmp_path / f"t2l-{n}.json"
        f.write_text(json.dumps({"row": "t2l", "average_acc_norm": acc, "bundle_training": {"n_train_tasks": n}, "benchmarks": {}}))
        files += ["--scaling", str(f)]
    ref = tmp_path / "base.json"
    ref.write_text(json.dumps({"row": "base", "label": "base", "average_acc_norm": 0.41, "benchmarks": {}}))
    assert main(["plot", *files, "--scaling-ref", str(ref), "--skip-bundle", "--out", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "scaling.png").read_bytes()[:8] == PNG
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"row": "t2l", "average_acc_norm": 0.4, "benchmarks": {}}))
    assert main(["plot", "--scaling", str(bad), "--skip-bundle", "--out", str(tmp_path / "q")]) == 2
    assert "training tasks" in capsys.readouterr().err
