"""Write a bundle folder (see t2l_edge/runtime/bundle.py) atomically: build in a temp folder, then rename."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil

import numpy as np

from t2l_edge import GENERATOR_NAME
from t2l_edge.core.atomic import atomic_dir, refuse_existing
from t2l_edge.core.errors import T2LError
from t2l_edge.core.description_seq import MAX_PIECES
from t2l_edge.formats.keys import ENCODER_FILE, ENCODER_OUTPUT, HYPERNET_FILE, MANIFEST, TOKENIZER_FILE
from t2l_edge.hypernet.checkpoint import git_commit
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.runtime.bundle import FORMAT_VERSION, sha256_file

from .encoder import PROBE_TEXTS, encoder_label, ensure_encoder, has_pieces, piece_values_of
from .hypernet_onnx import PARITY_TOL, PARITY_TOL_FP16, export_hypernet_onnx, parity_check, store_weights_fp16

HYPERNET_DTYPES = ("fp16", "fp32")


def check_encoder_matches_training(provenance: dict, enc: dict, encoder_sha256: str) -> None:
    """The hypernetwork only knows the embeddings it was trained on: shipping another encoder
    (fp32 vs int8, or a re-export that changed bytes) is a silent train/serve skew."""
    trained_sha = provenance.get("encoder_sha256")
    if trained_sha and trained_sha != encoder_sha256:
        raise T2LError("the encoder to ship differs from the one the hypernetwork was trained with (sha256 mismatch)",
                       "export with the encoder used in training, or re-train")
    trained = provenance.get("encoder")
    shipped = encoder_label(enc)
    if trained and trained != shipped:
        raise T2LError(f"the hypernetwork was trained on '{trained}' embeddings but the bundle would ship '{shipped}'",
                       f"pass --encoder-quant {'int8' if ' int8' in trained else 'fp32'}")


def _probe_inputs(net: HyperNetwork, shipped, trained) -> np.ndarray:
    """Real descriptions through the shipped encoder, checked against the training encoder,
    plus random inputs: the rows the ONNX-vs-PyTorch parity check runs on."""
    encode = "encode_packed" if net.cfg.read_tokens else "encode"
    probe = getattr(shipped, encode)(PROBE_TEXTS)
    if not np.array_equal(probe, getattr(trained, encode)(PROBE_TEXTS)):
        raise T2LError("the optimised encoder does not reproduce the training encoder's embeddings",
                       "report it; this onnxruntime build changes numerics when it optimises")
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((4,) + probe.shape[1:]).astype(np.float32)
    if net.cfg.read_tokens:  # texts of 1, 9, 33 and all pieces
        for row, n in enumerate((1, 9, 33, MAX_PIECES)):
            noise[row, 1 + n:] = 0.0
    return np.concatenate([probe, noise])


def write_bundle(net: HyperNetwork, out_dir: str | os.PathLike, provenance: dict, force: bool = False,
                 encoder_quant: str = "int8", encoder: dict | None = None, hypernet_dtype: str = "fp16",
                 log=print) -> dict:
    """Export `net` and the encoder into `out_dir`. Returns the manifest dict.
    hypernet_dtype fp16 stores the weights at half size; arithmetic stays fp32 (see hypernet_onnx)."""
    from t2l_edge.runtime.encoder_runtime import PRE_OPTIMIZED, OnnxEncoder, save_optimized

    if hypernet_dtype not in HYPERNET_DTYPES:
        raise T2LError(f"unknown hypernet dtype '{hypernet_dtype}'", f"use one of {', '.join(HYPERNET_DTYPES)}")
    out = refuse_existing(out_dir, force)
    if out.exists() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise T2LError(f"{out} exists and is not a bundle", "choose an empty or new folder")
    enc = encoder or ensure_encoder(encoder_quant, pieces=bool(net.cfg.read_tokens), values=net.cfg.piece_values)
    if bool(net.cfg.read_tokens) != has_pieces(enc["report"]):
        raise T2LError("the generator reads word pieces but the encoder does not return them" if net.cfg.read_tokens
                       else "the encoder returns word pieces but this generator reads pooled embeddings only",
                       "export with ensure_encoder(pieces=...) matching hypernet.read_tokens")
    values = piece_values_of(enc["report"]) if has_pieces(enc["report"]) else None
    if net.cfg.read_tokens and values != net.cfg.piece_values:
        raise T2LError(f"the generator reads {net.cfg.piece_values} piece values but the encoder returns {values} ones",
                       "export with ensure_encoder(pieces=True, values=hypernet.piece_values)")
    table_base = enc["report"].get("values_base_sha256")
    if table_base and net.base.sha256 and table_base != net.base.sha256:
        raise T2LError("the encoder's piece values are another base's embeddings than this generator's base",
                       "base piece values come from the default base; train and export on it")
    encoder_sha = sha256_file(enc["onnx"])
    check_encoder_matches_training(provenance, enc, encoder_sha)
    with atomic_dir(out) as tmp:
        # The encoder ships as ONNX Runtime's basic-optimised graph: it opens in half the time and
        # computes bit-identical embeddings to the file training used (tests/test_export*.py).
        save_optimized(enc["onnx"], tmp / ENCODER_FILE)
        shutil.copy(enc["tokenizer"], tmp / TOKENIZER_FILE)
        export_hypernet_onnx(net, tmp / HYPERNET_FILE)
        if hypernet_dtype == "fp16":
            store_weights_fp16(tmp / HYPERNET_FILE)
        inputs = _probe_inputs(net, OnnxEncoder(tmp / ENCODER_FILE, tmp / TOKENIZER_FILE, pre_optimized=True),
                               OnnxEncoder(enc["onnx"], enc["tokenizer"]))
        fp16 = hypernet_dtype == "fp16"
        parity = parity_check(net, tmp / HYPERNET_FILE, inputs,
                              PARITY_TOL_FP16 if fp16 else PARITY_TOL, relative=fp16)
        d = parity["max_abs_diff"]
        log(f"ONNX ({hypernet_dtype} weights) vs PyTorch, max abs diff: A {d['A']:.2e}, B {d['B']:.2e}, "
            f"delta W {d['delta']:.2e}" + (f" (relative {parity['max_rel_diff']['delta']:.1e})" if fp16 else ""))
        cfg, base = net.cfg, net.base
        manifest = {
            "format_version": FORMAT_VERSION,
            "generator": GENERATOR_NAME,
            "base": base.to_dict(),
            "lora": {"rank": cfg.rank, "alpha": cfg.alpha, "use_rslora": cfg.use_rslora,
                     "scaling": "rslora" if cfg.use_rslora else "standard", "targets": list(cfg.targets)},
            "encoder": {"name": enc["report"]["encoder"], "pooling": "mean+l2norm",
                        "outputs": enc["report"].get("outputs", [ENCODER_OUTPUT]),
                        **({"piece_values": values} if values else {}),
                        "max_length": int(enc.get("max_length", 256)), "sha256": encoder_sha, "graph": PRE_OPTIMIZED,
                        "quantization": "int8-dynamic-per-channel" if enc["quant"] == "int8" else "fp32",
                        "error_vs_fp32": enc["report"].get("int8_vs_fp32") if enc["quant"] == "int8" else None},
            "hypernet": {"variant": cfg.variant, "config": cfg.to_dict(), "param_count": net.param_count(),
                         "dtype": f"{hypernet_dtype} weights, fp32 compute", "onnx_parity": parity},
            "training": dict(provenance),
            "export": {"git_commit": git_commit(), "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")},
            "files": {},
        }
        for f in sorted(p for p in tmp.iterdir() if p.name != MANIFEST):
            manifest["files"][f.name] = sha256_file(f)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest
