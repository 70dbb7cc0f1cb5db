"""Export a HyperNetwork to ONNX and prove ONNX Runtime agrees with PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from t2l_edge.core.description_seq import MAX_PIECES
from t2l_edge.core.errors import T2LError
from t2l_edge.formats.keys import HYPERNET_INPUT, hypernet_outputs, lora_a_name, lora_b_name
from t2l_edge.hypernet.model import HyperNetwork

# fp32 ONNX vs PyTorch on the same embeddings: operator order differs, values should not.
PARITY_TOL = {"A": 1e-4, "B": 1e-4, "delta": 1e-4}
# fp16-stored weights: each weight is off by up to 2^-11 relative, so outputs move by a small
# fraction of their own size: 2e-4 of the largest value was measured on a trained SmolLM2 M
# checkpoint (docs/export.md). Fail at ten times that.
PARITY_TOL_FP16 = {"A": 2e-3, "B": 2e-3, "delta": 2e-3}


class _Flat(torch.nn.Module):
    """Flattens the {module: (A, B)} dict into the fixed output order of the ONNX graph."""

    def __init__(self, net: HyperNetwork):
        super().__init__()
        self.net = net

    def forward(self, task_embedding):
        out = self.net(task_embedding)
        return tuple(t for m in self.net.cfg.targets for t in out[m])


def export_hypernet_onnx(net: HyperNetwork, path: Path) -> None:
    net = net.eval()
    names = hypernet_outputs(net.cfg.targets)
    dummy = torch.zeros(2, net.cfg.emb_dim)
    if net.cfg.read_tokens:  # packed descriptions; the reader's softmax needs some pieces present
        dummy = torch.randn(2, 1 + MAX_PIECES, 2 * net.cfg.emb_dim)
    torch.onnx.export(
        _Flat(net), (dummy,), str(path), input_names=[HYPERNET_INPUT], output_names=names,
        dynamic_axes={HYPERNET_INPUT: {0: "tasks"}, **{n: {0: "tasks"} for n in names}},
        opset_version=17, dynamo=False,
    )


def store_weights_fp16(path: Path, min_elements: int = 4096) -> int:
    """Store large fp32 weights as fp16 in the file, each followed by a Cast back to fp32.

    Only the file shrinks: ONNX Runtime folds the Casts at load, so arithmetic stays fp32 and
    the graph's inputs and outputs keep their types. Small tensors (biases, norms) stay fp32
    because they save nothing. Returns the number of tensors converted."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, keep = [], []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            keep.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + ".fp16")
        keep.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT, name=init.name + ".cast"))
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)  # Casts first: the node list must stay topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(casts)


def parity_check(net: HyperNetwork, onnx_path: Path, embeddings: np.ndarray, tol: dict = PARITY_TOL,
                 relative: bool = False) -> dict:
    """Max abs difference of A, B and scaled delta W between ONNX Runtime and PyTorch.
    With `relative`, each difference is divided by the largest |value| of that quantity
    before the tolerance applies (fp16 weights: error scales with the values)."""
    from t2l_edge.core.adapter import lora_scale
    from t2l_edge.runtime.encoder_runtime import ort_session

    cfg = net.cfg
    scale = lora_scale(cfg.alpha, cfg.rank, cfg.use_rslora)
    sess = ort_session(onnx_path, providers=["CPUExecutionProvider"])
    got = dict(zip(hypernet_outputs(cfg.targets), sess.run(None, {HYPERNET_INPUT: embeddings.astype(np.float32)})))
    with torch.no_grad():
        ref = net.eval()(torch.from_numpy(embeddings.astype(np.float32)))
    diff = {"A": 0.0, "B": 0.0, "delta": 0.0}
    peak = {"A": 0.0, "B": 0.0, "delta": 0.0}
    for m in cfg.targets:
        a_ref, b_ref = (t.numpy() for t in ref[m])
        a, b = got[lora_a_name(m)], got[lora_b_name(m)]
        diff["A"] = max(diff["A"], float(np.abs(a - a_ref).max()))
        diff["B"] = max(diff["B"], float(np.abs(b - b_ref).max()))
        for t in range(len(embeddings)):  # one task at a time: [T, L, out, in] can be gigabytes
            d_ref = scale * (b_ref[t] @ a_ref[t])
            d = scale * (b[t] @ a[t])
            diff["delta"] = max(diff["delta"], float(np.abs(d - d_ref).max()))
            peak["delta"] = max(peak["delta"], float(np.abs(d_ref).max()))
        for key, ref_val in (("A", a_ref), ("B", b_ref)):
            peak[key] = max(peak[key], float(np.abs(ref_val).max()))
    # An all-zero reference (untrained B, delta W) is held to the tolerance in absolute terms.
    measured = {k: diff[k] / peak[k] if peak[k] > 0 else diff[k] for k in diff} if relative else diff
    bad = {k: v for k, v in measured.items() if v > tol[k]}
    if bad:
        raise T2LError(f"ONNX export disagrees with PyTorch: {bad} above tolerance {tol}"
                       f"{' (relative to the largest value)' if relative else ''}",
                       "export with --hypernet-dtype fp32" if relative else "report this as a bug")
    report = {"max_abs_diff": diff, "max_abs_value": peak, "tolerance": tol, "n_inputs": int(embeddings.shape[0])}
    if relative:
        report.update(max_rel_diff=measured, tolerance_is="relative to max_abs_value")
    return report
