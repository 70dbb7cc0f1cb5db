"""Write a bundle folder (see t2l_edge/bundle.py) atomically: build in a temp folder, then rename."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from t2l_edge import GENERATOR_NAME
from t2l_edge.atomic import atomic_dir
from t2l_edge.bundle import FORMAT_VERSION, MANIFEST, sha256_file
from t2l_edge.errors import T2LError
from t2l_edge.hypernet.model import HyperNetwork

from .encoder import PROBE_TEXTS, ensure_encoder
from .hypernet_onnx import export_hypernet_onnx, parity_check


def git_commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def write_bundle(net: HyperNetwork, out_dir: str | os.PathLike, provenance: dict, force: bool = False,
                 encoder_quant: str = "int8", encoder: dict | None = None, log=print) -> dict:
    """Export `net` and the encoder into `out_dir`. Returns the manifest dict."""
    from t2l_edge.encoder_runtime import OnnxEncoder

    out = Path(out_dir)
    if out.exists() and not force:
        raise T2LError(f"{out} already exists", "pass --force to replace it")
    if out.exists() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise T2LError(f"{out} exists and is not a bundle", "choose an empty or new folder")
    enc = encoder or ensure_encoder(encoder_quant)
    with atomic_dir(out) as tmp:
        shutil.copy(enc["onnx"], tmp / "encoder.onnx")
        shutil.copy(enc["tokenizer"], tmp / "tokenizer.json")
        export_hypernet_onnx(net, tmp / "hypernet.onnx")
        probe = OnnxEncoder(tmp / "encoder.onnx", tmp / "tokenizer.json").encode(PROBE_TEXTS)
        rng = np.random.default_rng(0)
        random_emb = rng.standard_normal((4, net.cfg.emb_dim)).astype(np.float32)
        parity = parity_check(net, tmp / "hypernet.onnx", np.concatenate([probe, random_emb]))
        log(f"ONNX parity vs PyTorch (max abs diff): A {parity['max_abs_diff']['A']:.2e}, "
            f"B {parity['max_abs_diff']['B']:.2e}, delta W {parity['max_abs_diff']['delta']:.2e}")
        cfg, base = net.cfg, net.base
        manifest = {
            "format_version": FORMAT_VERSION,
            "generator": GENERATOR_NAME,
            "base": base.to_dict(),
            "lora": {"rank": cfg.rank, "alpha": cfg.alpha, "use_rslora": cfg.use_rslora,
                     "scaling": "rslora" if cfg.use_rslora else "standard", "targets": list(cfg.targets)},
            "encoder": {"name": enc["report"]["encoder"], "pooling": "mean+l2norm",
                        "max_length": int(enc.get("max_length", 256)),
                        "quantization": "int8-dynamic-per-channel" if enc["quant"] == "int8" else "fp32",
                        "error_vs_fp32": enc["report"].get("int8_vs_fp32") if enc["quant"] == "int8" else None},
            "hypernet": {"variant": cfg.variant, "config": cfg.to_dict(), "param_count": net.param_count(),
                         "dtype": "fp32", "onnx_parity": parity},
            "training": {"git_commit": git_commit(), "exported_at": _dt.date.today().isoformat(), **provenance},
            "files": {},
        }
        for f in sorted(p for p in tmp.iterdir() if p.name != MANIFEST):
            manifest["files"][f.name] = sha256_file(f)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest
