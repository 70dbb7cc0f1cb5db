"""Trained hypernetworks on disk: hypernet.safetensors + hypernet.json. No pickle anywhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..basemodel import BaseSpec
from ..atomic import atomic_dir
from ..errors import T2LError
from .config import HyperConfig
from .model import HyperNetwork

WEIGHTS, META = "hypernet.safetensors", "hypernet.json"


def save_hypernet(net: HyperNetwork, folder: str | os.PathLike, provenance: dict | None = None) -> Path:
    """Write atomically: a temp folder renamed over the target."""
    from safetensors.torch import save_file

    out = Path(folder)
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    meta = {"config": net.cfg.to_dict(), "base": net.base.to_dict(), "encoder": "sentence-transformers/all-MiniLM-L6-v2",
            "param_count": net.param_count(), "provenance": provenance or {}}
    with atomic_dir(out) as tmp:
        save_file(state, str(tmp / WEIGHTS))
        (tmp / META).write_text(json.dumps(meta, indent=1, sort_keys=True))
    return out


def load_hypernet(folder: str | os.PathLike) -> tuple[HyperNetwork, dict]:
    from safetensors.torch import load_file

    d = Path(folder)
    if not (d / META).is_file() or not (d / WEIGHTS).is_file():
        raise T2LError(f"{d} is not a hypernetwork checkpoint (needs {META} and {WEIGHTS})", "pass a folder written by `t2l-edge train`")
    meta = json.loads((d / META).read_text())
    net = HyperNetwork(HyperConfig.from_dict(meta["config"]), BaseSpec.from_dict(meta["base"]))
    missing, unexpected = net.load_state_dict(load_file(str(d / WEIGHTS)), strict=False)
    if missing or unexpected:
        raise T2LError(f"{d}: weights do not fit the config (missing {missing[:3]}, unexpected {unexpected[:3]})", "the checkpoint is damaged")
    return net.eval(), meta
