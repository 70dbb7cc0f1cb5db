"""Where t2l-edge keeps things outside the repo, and the one sha256 helper."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_root() -> Path:
    """~/.cache/t2l-edge (XDG_CACHE_HOME respected; T2L_EDGE_CACHE overrides)."""
    root = os.environ.get("T2L_EDGE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "t2l-edge"
    )
    return Path(root)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
