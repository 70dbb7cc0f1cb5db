"""Every bad input the CLI must survive, in one table shared by the tests and by
scripts/hardening_table.py (which renders docs/hardening.md).

A case is a command line plus the fragment its one-line error must contain. Building the
world takes a couple of seconds: a tiny llama base GGUF, a tiny bundle, and bad files.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from tests.helpers.bad_adapters import build_cases
from t2l_edge.core.basemodel import read_base_spec
from t2l_edge.runtime.bundle import sha256_file
from t2l_edge.formats.gguf_adapter import write_gguf
from tests.helpers.tiny_models import STORED_BUNDLE
from tests.helpers.tinyllama import TinyLlama, random_adapter


@dataclass
class Case:
    category: str
    name: str
    argv: list[str]
    expect: str  # fragment of the one-line error; "" means the command must succeed
    must_not_exist: list[Path] = field(default_factory=list)  # outputs that must not appear
    must_keep: dict = field(default_factory=dict)  # path -> bytes that must be unchanged


def _copy_bundle(src: Path, dst: Path, edit=None, corrupt: str | None = None, truncate: str | None = None) -> Path:
    shutil.copytree(src, dst)
    if corrupt:
        data = bytearray((dst / corrupt).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (dst / corrupt).write_bytes(bytes(data))
    if truncate:
        (dst / truncate).write_bytes((dst / truncate).read_bytes()[:1000])
        man = json.loads((dst / "manifest.json").read_text())
        man["files"][truncate] = sha256_file(dst / truncate)
        (dst / "manifest.json").write_text(json.dumps(man))
    if edit:
        man = json.loads((dst / "manifest.json").read_text())
        edit(man)
        (dst / "manifest.json").write_text(json.dumps(man))
    return dst


def _model_gguf(path: Path, arch: str = "llama", fused: bool = False, hidden: int = 64) -> Path:
    """A tiny model-like GGUF with the given architecture (metadata + a few tensors)."""
    w = gguf.GGUFWriter(str(path), arch=arch)
    w.add_block_count(1)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_context_length(64)
    names = ["blk.0.attn_qkv.weight"] if fused else ["blk.0.attn_q.weight"]
    for n in names:
        w.add_tensor(n, np.zeros((hidden * (3 if fused else 1), hidden), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def build_world(d: Path) -> tuple[dict, list[Case]]:
    d.mkdir(parents=True, exist_ok=True)
    base = TinyLlama().write(d / "tiny.gguf")
    other_base = TinyLlama(seed=7).write(d / "other.gguf")
    wide_base = TinyLlama(hidden=96, n_head=6, n_head_kv=2).write(d / "wide.gguf")
    spec = read_base_spec(base)
    bundle_src = Path(shutil.copytree(STORED_BUNDLE, d / "bundle"))  # the committed tiny bundle: no torch
    # The tiny bundle's manifest names a fake base; point it at the tiny llama so generate works.
    man = json.loads((bundle_src / "manifest.json").read_text())
    man["base"] = {**spec.to_dict()}
    (bundle_src / "manifest.json").write_text(json.dumps(man))
    good = write_gguf(random_adapter(spec, description="ok"), d / "good.gguf", dtype="f16")
    out = d / "out"
    out.mkdir()
    B = ["--bundle", str(bundle_src)]
    cases: list[Case] = []

    def mk(category, name, argv, expect, must_not_exist=None, **kw):
        cases.append(Case(category, name, argv, expect, must_not_exist or [], **kw))

    # descriptions
    o = out / "desc.gguf"
    mk("description", "empty", ["make-adapter", "", *B, "-o", str(o)], "the description is empty", [o])
    mk("description", "whitespace only", ["make-adapter", " \t\n ", *B, "-o", str(o)], "the description is empty", [o])
    mk("description", "control character", ["make-adapter", "answer\x07 now", *B, "-o", str(o)], "control character U+0007", [o])
    mk("description", "100,000 characters (works, warns)", ["make-adapter", "answer yes " * 10000, *B, "-o", str(out / "long.gguf")], "")
    mk("description", "emoji, CJK, right-to-left (work)", ["make-adapter", "Réponds 🙂 日本語 مرحبا", *B, "-o", str(out / "uni.gguf")], "")
    bad_utf8 = d / "bad_utf8.txt"
    bad_utf8.write_bytes(b"answer yes\n\xff\xfe broken\n")
    mk("description", "invalid UTF-8 in --from-file", ["make-adapter", "--from-file", str(bad_utf8), *B, "--out-dir", str(out)], "not valid UTF-8 (line 2)")
    blanks = d / "blanks.txt"
    blanks.write_text("\n\n   \n")
    mk("description", "--from-file with only blank lines", ["make-adapter", "--from-file", str(blanks), *B], "holds no descriptions")
    # bundles
    for name, kw, expect in [
        ("missing file", {"edit": None}, "is missing"),
        ("corrupted ONNX (checksum mismatch)", {"corrupt": "encoder.onnx"}, "does not match its checksum"),
        ("truncated ONNX with a matching checksum", {"truncate": "hypernet.onnx"}, "cannot load hypernet.onnx"),
        ("newer manifest format", {"edit": lambda m: m.update(format_version=2)}, "newer than this t2l-edge understands"),
        ("manifest shape disagrees with ONNX", {"edit": lambda m: m["base"].update(hidden=128)}, "manifest implies"),
    ]:
        b = _copy_bundle(bundle_src, d / f"bundle-{len(cases)}", **kw)
        if name == "missing file":
            (b / "hypernet.onnx").unlink()
        mk("bundle", name, ["make-adapter", "answer yes", "--bundle", str(b), "-o", str(o)], expect, [o])
    mk("bundle", "not a bundle folder", ["make-adapter", "answer yes", "--bundle", str(out), "-o", str(o)], "has no manifest.json", [o])
    # base models
    notgguf = d / "notgguf.gguf"
    notgguf.write_text("hello\n" * 10)
    trunc = d / "trunc.gguf"
    trunc.write_bytes(base.read_bytes()[: base.stat().st_size // 2])
    gpt2 = _model_gguf(d / "gpt2.gguf", arch="gpt2")
    fused = _model_gguf(d / "fused.gguf", fused=True)
    for name, path, expect in [
        ("not a GGUF", notgguf, "bad magic"),
        ("truncated GGUF", trunc, "truncated or corrupt"),
        ("unsupported architecture", gpt2, "unsupported architecture 'gpt2'"),
        ("fused QKV", fused, "fused QKV"),
        ("different size than the adapter", wide_base, "the base needs"),
        ("different file than the adapter was made for", other_base, "was made for base"),
        ("a LoRA adapter passed as the base", good, "is a LoRA adapter, not a base model"),
    ]:
        mk("base model", name, ["generate", "--adapter", str(good), "--base", str(path), "--prompt", "hi", "-n", "2"], expect)
    # adapters
    cases_dir = d / "bad_adapters"
    cases_dir.mkdir()
    for name, (path, fragment) in build_cases(spec, base, random_adapter(read_base_spec(other_base)), cases_dir).items():
        mk("adapter", name.replace("_", " "), ["inspect", str(path), "--base", str(base)], fragment)
        if name in ("transposed_a", "truncated", "model_gguf", "zero_bytes"):
            mk("adapter", name.replace("_", " ") + " (generate)",
               ["generate", "--adapter", str(path), "--base", str(base), "--prompt", "hi", "-n", "2"], fragment)
    # outputs
    keep = out / "existing.gguf"
    keep.write_bytes(b"precious")
    mk("output", "existing file without --force", ["make-adapter", "answer yes", *B, "-o", str(keep)], "already exists", must_keep={keep: b"precious"})
    mk("output", "a directory as the output path", ["make-adapter", "answer yes", *B, "-o", str(out)], "is a directory")
    mk("output", "missing parent directory", ["make-adapter", "answer yes", *B, "-o", str(out / "nope" / "a.gguf")], "does not exist")
    mk("numerics", "--max-delta-norm exceeded", ["make-adapter", "answer yes", *B, "-o", str(o), "--max-delta-norm", "1e-9"], "||delta W||", [o])
    # training configs: rejected before any model loads
    bad_yaml = d / "bad.yaml"
    bad_yaml.write_text("steps: [1,\n")
    unknown_key = d / "unknown.yaml"
    unknown_key.write_text("stepz: 10\n")
    mk("training", "unknown trainer", ["train", "bogus"], "unknown trainer 'bogus'")
    mk("training", "broken YAML config", ["train", "sft", "--config", str(bad_yaml)], "cannot read config")
    mk("training", "unknown config key", ["train", "sft", "--config", str(unknown_key)], "unknown keys ['stepz']")
    mk("training", "--set without =", ["train", "mt-lora", "--set", "steps"], "is not key=value")
    mk("training", "--set with a bad number", ["train", "sft", "--set", "steps=many"], "cannot read 'many' as int")
    mk("training", "recon without a LoRA library", ["train", "recon", "--set", f"library={d / 'nolib'}"], "no LoRA library")
    return {"dir": d, "base": base, "bundle": bundle_src, "good": good, "out": out}, cases

# The ids of build_world's cases, in order: static, so pytest can parametrize without building
# the world at collection (tests/test_hardening_cli.py checks the two agree).
CASE_IDS = [
    'description: empty',
    'description: whitespace only',
    'description: control character',
    'description: 100,000 characters (works, warns)',
    'description: emoji, CJK, right-to-left (work)',
    'description: invalid UTF-8 in --from-file',
    'description: --from-file with only blank lines',
    'bundle: missing file',
    'bundle: corrupted ONNX (checksum mismatch)',
    'bundle: truncated ONNX with a matching checksum',
    'bundle: newer manifest format',
    'bundle: manifest shape disagrees with ONNX',
    'bundle: not a bundle folder',
    'base model: not a GGUF',
    'base model: truncated GGUF',
    'base model: unsupported architecture',
    'base model: fused QKV',
    'base model: different size than the adapter',
    'base model: different file than the adapter was made for',
    'base model: a LoRA adapter passed as the base',
    'adapter: wrong arch',
    'adapter: wrong shape',
    'adapter: transposed a',
    'adapter: transposed a (generate)',
    'adapter: missing half',
    'adapter: unknown suffix',
    'adapter: unknown base tensor',
    'adapter: nan',
    'adapter: bad dtype',
    'adapter: mixed rank',
    'adapter: no alpha',
    'adapter: model not adapter',
    'adapter: model gguf',
    'adapter: model gguf (generate)',
    'adapter: truncated',
    'adapter: truncated (generate)',
    'adapter: cut header',
    'adapter: not gguf',
    'adapter: zero bytes',
    'adapter: zero bytes (generate)',
    'adapter: base mismatch',
    'output: existing file without --force',
    'output: a directory as the output path',
    'output: missing parent directory',
    'numerics: --max-delta-norm exceeded',
    'training: unknown trainer',
    'training: broken YAML config',
    'training: unknown config key',
    'training: --set without =',
    'training: --set with a bad number',
    'training: recon without a LoRA library',
]
