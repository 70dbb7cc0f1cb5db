"""Export a HyperNetwork to ONNX and prove ONNX Runtime agrees with PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from t2l_edge.errors import T2LError
from t2l_edge.hypernet.model import HyperNetwork

# fp32 ONNX vs PyTorch on the same embeddings: operator order differs, values should not.
PARITY_TOL = {"A": 1e-4, "B": 1e-4, "delta": 1e-4}


class _Flat(torch.nn.Module):
    """Flattens the {module: (A, B)} dict into the fixed output order of the ONNX graph."""

    def __init__(self, net: HyperNetwork):
        super().__init__()
        self.net = net

    def forward(self, task_embedding):
        out = self.net(task_embedding)
        return tuple(t for m in self.net.cfg.targets for t in out[m])


def output_names(targets) -> list[str]:
    return [f"{kind}.{m}" for m in targets for kind in ("A", "B")]


def export_hypernet_onnx(net: HyperNetwork, path: Path) -> None:
    net = net.eval()
    names = output_names(net.cfg.targets)
    dummy = torch.zeros(2, net.cfg.emb_dim)
    torch.onnx.export(
        _Flat(net), (dummy,), str(path), input_names=["task_embedding"], output_names=names,
        dynamic_axes={"task_embedding": {0: "tasks"}, **{n: {0: "tasks"} for n in names}},
        opset_version=17, dynamo=False,
    )


def parity_check(net: HyperNetwork, onnx_path: Path, embeddings: np.ndarray, tol: dict = PARITY_TOL) -> dict:
    """Max abs difference of A, B and scaled delta W between ONNX Runtime and PyTorch."""
    from t2l_edge.adapter import lora_scale
    from t2l_edge.encoder_runtime import ort_session

    cfg = net.cfg
    scale = lora_scale(cfg.alpha, cfg.rank, cfg.use_rslora)
    sess = ort_session(onnx_path, providers=["CPUExecutionProvider"])
    got = dict(zip(output_names(cfg.targets), sess.run(None, {"task_embedding": embeddings.astype(np.float32)})))
    with torch.no_grad():
        ref = net.eval()(torch.from_numpy(embeddings.astype(np.float32)))
    diff = {"A": 0.0, "B": 0.0, "delta": 0.0}
    for m in cfg.targets:
        a_ref, b_ref = (t.numpy() for t in ref[m])
        a, b = got[f"A.{m}"], got[f"B.{m}"]
        diff["A"] = max(diff["A"], float(np.abs(a - a_ref).max()))
        diff["B"] = max(diff["B"], float(np.abs(b - b_ref).max()))
        d_ref = scale * np.einsum("tlor,tlri->tloi", b_ref, a_ref)
        d = scale * np.einsum("tlor,tlri->tloi", b, a)
        diff["delta"] = max(diff["delta"], float(np.abs(d - d_ref).max()))
    bad = {k: v for k, v in diff.items() if v > tol[k]}
    if bad:
        raise T2LError(f"ONNX export disagrees with PyTorch: {bad} above tolerance {tol}", "report this as a bug")
    return {"max_abs_diff": diff, "tolerance": tol, "n_inputs": int(embeddings.shape[0])}
