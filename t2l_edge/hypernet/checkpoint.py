"""Trained hypernetworks on disk: hypernet.safetensors + hypernet.json. No pickle anywhere.

hypernet.json holds the HyperConfig, the BaseSpec, the encoder the description embeddings came
from, the parameter count and the training provenance (config, data hash, steps, date, git
commit), so `t2l-edge export` can carry all of it into the bundle manifest.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from pathlib import Path

from ..core.atomic import atomic_dir
from ..core.basemodel import BaseSpec
from ..core.errors import T2LError
from .config import HyperConfig
from .model import HyperNetwork

WEIGHTS, META = "hypernet.safetensors", "hypernet.json"
ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"


def git_commit() -> str:
    """HEAD of the repo this code runs from ('' outside a git checkout); '+dirty' if edited."""
    root = Path(__file__).resolve().parent.parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def save_hypernet(net: HyperNetwork, folder: str | os.PathLike, provenance: dict | None = None) -> Path:
    """Write atomically: a temp folder renamed over the target. `provenance` gets the date and
    git commit filled in when the caller did not give them."""
    from safetensors.torch import save_file

    out = Path(folder)
    prov = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "git_commit": git_commit(),
            **(provenance or {})}
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    meta = {"config": net.cfg.to_dict(), "base": net.base.to_dict(), "encoder": ENCODER_ID,
            "param_count": net.param_count(), "provenance": prov}
    with atomic_dir(out) as tmp:
        save_file(state, str(tmp / WEIGHTS), metadata={"format": "pt"})
        (tmp / META).write_text(json.dumps(meta, indent=1, sort_keys=True))
    return out


def load_hypernet(folder: str | os.PathLike) -> tuple[HyperNetwork, dict]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(folder)
    if not (d / META).is_file() or not (d / WEIGHTS).is_file():
        raise T2LError(f"{d} is not a hypernetwork checkpoint (needs {META} and {WEIGHTS})", "pass a folder written by `t2l-edge train`")
    try:
        meta = json.loads((d / META).read_text(encoding="utf-8"))
        net = HyperNetwork(HyperConfig.from_dict(meta["config"]), BaseSpec.from_dict(meta["base"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise T2LError(f"{d / META} is not a valid checkpoint description ({type(exc).__name__}: {exc})", "the checkpoint is damaged") from None
    try:
        state = load_file(str(d / WEIGHTS))
    except (SafetensorError, OSError) as exc:
        raise T2LError(f"cannot read {d / WEIGHTS} ({exc})", "the checkpoint is damaged") from None
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # size mismatches raise even with strict=False
        raise T2LError(f"{d}: weights do not fit the config ({str(exc).splitlines()[-1].strip()[:160]})", "the checkpoint is damaged") from None
    if missing or unexpected:
        raise T2LError(f"{d}: weights do not fit the config (missing {missing[:3]}, unexpected {unexpected[:3]})", "the checkpoint is damaged")
    return net.eval(), meta
