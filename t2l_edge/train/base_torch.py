"""The frozen base model in PyTorch, loaded from the very GGUF llama.cpp runs.

transformers dequantises the GGUF to fp32 and undoes llama.cpp's Q/K row permutation (~20 s).
The result is cached as safetensors keyed by the GGUF's sha256, so later loads take ~1 s and
can never mix up two bases.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..core.basemodel import file_sha256, resolve_base
from ..core.errors import T2LError
from ..core.paths import cache_root


def cache_dir() -> Path:
    return cache_root() / "hf"


def load_base_torch(gguf_path: str | os.PathLike | None = None, dtype=None):
    """(model, tokenizer, sha256) for a base GGUF; the model is frozen and in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_base(gguf_path)
    sha = file_sha256(path)
    cached = cache_dir() / sha
    if not (cached / "config.json").is_file():
        try:
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
            tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        except Exception as exc:
            raise T2LError(f"transformers could not load {path.name}: {exc}", "is this a llama/qwen2/qwen3 GGUF?") from None
        # transformers refuses to save a GGUF-loaded model while it still carries its quantizer.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = cached.with_name(cached.name + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(str(tmp), safe_serialization=True)
        tok.save_pretrained(str(tmp))
        try:
            os.replace(tmp, cached)
        except OSError:
            # Another process (a second training run started at once) converted it first:
            # keep its copy, which is the same conversion of the same file.
            if not (cached / "config.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(str(cached), dtype=dtype or torch.float32)
    tok = AutoTokenizer.from_pretrained(str(cached))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tok, sha
