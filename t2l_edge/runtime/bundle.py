"""Bundles: a folder holding everything needed to generate adapters, and describing itself.

  manifest.json    format version, base-model identity, LoRA settings, encoder, hypernetwork,
                   training provenance, and the sha256 of every other file
  encoder.onnx     description -> embedding (pooled, L2-normalised)
  tokenizer.json   the encoder's tokenizer
  hypernet.onnx    embedding -> A/B for every targeted layer

Loading verifies every checksum and refuses format versions newer than this code knows.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.basemodel import BaseSpec
from ..core.errors import T2LError
from ..core.paths import sha256_file  # noqa: F401  (re-exported for export/ and tests)
from ..formats.keys import BUNDLE_FILES, MANIFEST

FORMAT_VERSION = 1


@dataclass
class Manifest:
    raw: dict

    @property
    def base(self) -> BaseSpec:
        return BaseSpec.from_dict(self.raw["base"])

    @property
    def lora(self) -> dict:
        return self.raw["lora"]

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.raw["lora"]["targets"])

    @property
    def bundle_id(self) -> str:
        """Short content id: changes whenever any bundle file changes."""
        files = json.dumps(self.raw["files"], sort_keys=True).encode()
        return hashlib.sha256(files).hexdigest()[:16]


def repo_models_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "models"  # t2l_edge/runtime/bundle.py -> repo root


def default_bundle_path() -> Path:
    """models/default in the repo (T2L_EDGE_BUNDLE overrides). Only trained bundles go there."""
    env = os.environ.get("T2L_EDGE_BUNDLE")
    path = Path(env) if env else repo_models_dir() / "default"
    if not (path / MANIFEST).is_file():
        raise T2LError(
            f"no trained default bundle is installed at {path}",
            "train one with `t2l-edge train sft` and `t2l-edge export`, or pass --bundle DIR",
        )
    return path


def load_manifest(bundle_dir: str | os.PathLike, verify: bool | str = True) -> Manifest:
    """verify: True checks every sha256 (hashing only files changed since their last check),
    "full" hashes every file, False skips the checks."""
    d = Path(bundle_dir)
    if not d.is_dir():
        raise T2LError(f"bundle {d} is not a folder", "pass the bundle folder (it holds manifest.json)")
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise T2LError(f"{d} has no {MANIFEST}", "is this a t2l-edge bundle? re-export it with `t2l-edge export`")
    try:
        raw = json.loads(mpath.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise T2LError(f"{mpath} is not valid JSON ({exc})", "re-export the bundle") from None
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if not isinstance(version, int):
        raise T2LError(f"{mpath} has no format_version", "re-export the bundle")
    if version > FORMAT_VERSION:
        raise T2LError(
            f"bundle format {version} is newer than this t2l-edge understands ({FORMAT_VERSION})",
            "upgrade t2l-edge: pip install -U t2l-edge",
        )
    for key in ("base", "lora", "encoder", "hypernet", "files"):
        if key not in raw:
            raise T2LError(f"{mpath} lacks '{key}'", "re-export the bundle")
    _check_lora_fields(raw, mpath)
    if verify:
        _verify_files(d, raw, mpath, full=verify == "full")
    return Manifest(raw)


def _verify_files(d: Path, raw: dict, mpath: Path, full: bool) -> None:
    """Every listed file present and matching its sha256 (digest_cache: hashed once per file
    version unless `full`)."""
    from ..core.digest_cache import file_digests

    for name in BUNDLE_FILES:
        if name not in raw["files"]:
            raise T2LError(f"{mpath} does not list {name}", "re-export the bundle")
    files = {name: d / name for name in raw["files"]}
    for f in files.values():
        if not f.is_file():
            raise T2LError(f"bundle file {f} is missing", "copy the whole bundle folder, or re-export it")
    got = file_digests(list(files.values()), trust_cache=not full)
    for name, digest in raw["files"].items():
        if got[files[name]] != digest:
            raise T2LError(f"bundle file {files[name]} does not match its checksum",
                           "the file is corrupt or was changed; re-export the bundle")


def _check_lora_fields(raw: dict, mpath: Path) -> None:
    """The manifest must describe an adapter this code can write for this base."""
    from ..core.arch import arch_info

    try:
        base = BaseSpec.from_dict(raw["base"])
        lora = raw["lora"]
        rank, alpha, targets = int(lora["rank"]), float(lora["alpha"]), list(lora["targets"])
    except (KeyError, TypeError, ValueError) as exc:
        raise T2LError(f"{mpath} has a malformed base or lora section ({type(exc).__name__}: {exc})", "re-export the bundle") from None
    known = arch_info(base.arch).modules  # raises for an unsupported architecture
    unknown = [t for t in targets if t not in known]
    if rank < 1 or not targets or unknown or alpha <= 0:
        raise T2LError(f"{mpath}: invalid LoRA settings (rank {rank}, alpha {alpha}, targets {targets})",
                       "re-export the bundle")


def load_bundle(bundle_dir: str | os.PathLike | None = None, verify: bool | str = True) -> Manifest:
    """Open a bundle folder (default: default_bundle_path()): format version, every sha256, and
    the manifest's own consistency. The ONNX output shapes are checked against the manifest's
    base shapes when runtime.Generator opens the graph, which needs an onnxruntime session."""
    return load_manifest(bundle_dir if bundle_dir is not None else default_bundle_path(), verify=verify)
