"""The shipped default bundle, end to end on the real SmolLM2: it verifies, makes non-zero
adapters that pass validation, different descriptions give different adapters, and
`t2l-edge eval --limit 20` runs on it and writes a complete result file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "models" / "default"
# The bare base's held-out validation loss in each training shape (delta W = 0), from
# `scripts/base_val_loss.py configs/sft_smollm2_M.yaml prompt_style=STYLE` on the same 12 tasks.
# A trained bundle must beat the number for the shape it was trained in.
BASE_VAL_LOSS = {"chat": 1.868, "plain": 4.524, "mixed": 3.666}


def test_default_bundle_is_trained_and_makes_valid_adapters(tmp_path):
    from t2l_edge.core.basemodel import default_base_path
    from t2l_edge.formats.gguf_adapter import write_gguf
    from t2l_edge.runtime import Generator
    from t2l_edge.formats.validate import validate_adapter

    gen = Generator.load(DEFAULT)
    man = gen.manifest.raw
    style = man["training"]["config"].get("prompt_style", "chat")
    assert man["training"]["step"] > 0 and man["training"]["val_loss"] < BASE_VAL_LOSS[style]
    sci, yes = gen.make_batch(["Answer the science question with the correct option.", "Answer yes or no."])
    norms = sci.delta_norms()
    assert all(n.min() > 0 for n in norms.values())  # an untrained bundle would give exactly 0
    assert np.abs(sci.B["q_proj"] - yes.B["q_proj"]).max() > 1e-4
    path = write_gguf(sci, tmp_path / "sci.gguf")
    validate_adapter(path, default_base_path())


def test_eval_limit_20_on_the_default(tmp_path):
    out = tmp_path / "r.json"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    run = subprocess.run([sys.executable, "-m", "t2l_edge", "eval", "--row", "t2l", "--style", "chat", "--limit", "20",
                          "--benchmarks", "arc_easy,piqa", "--descriptions", "1", "--out", str(out)],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["row"] == "t2l" and res["bundle_id"] and set(res["benchmarks"]) == {"arc_easy", "piqa"}
    for b in res["benchmarks"].values():
        assert b["items"] == 20 and 0.0 <= b["acc_norm"] <= 1.0 and len(b["per_description"]) == 1
