"""Write an Adapter as a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors).

torch-free: safetensors' numpy API. The result loads with peft.PeftModel.from_pretrained on
the transformers model of the same base.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ..core.adapter import Adapter
from ..core.arch import hf_module_path
from ..core.atomic import atomic_dir, refuse_existing
from ..core.errors import T2LError


def write_peft(adapter: Adapter, folder: str | os.PathLike, force: bool = False, base_model_name: str = "") -> Path:
    from safetensors.numpy import save_file

    out = refuse_existing(folder, force)
    if out.exists() and not out.is_dir():
        raise T2LError(f"{out} is a file; PEFT adapters are folders", "choose a folder name")
    adapter.check_finite()
    tensors = {}
    for m in adapter.targets:
        for layer in range(adapter.base.n_layer):
            prefix = f"base_model.model.{hf_module_path(m, layer)}"
            tensors[f"{prefix}.lora_A.weight"] = np.ascontiguousarray(adapter.A[m][layer], dtype=np.float32)
            tensors[f"{prefix}.lora_B.weight"] = np.ascontiguousarray(adapter.B[m][layer], dtype=np.float32)
    # rsLoRA is written as plain LoRA with alpha * sqrt(r): PEFT's scale alpha' / r is then the
    # rsLoRA scale alpha / sqrt(r), exactly, and tools that ignore use_rslora (llama.cpp's
    # convert_lora_to_gguf.py) get the right strength too instead of 1/sqrt(r) of it.
    alpha = adapter.alpha * math.sqrt(adapter.rank) if adapter.use_rslora else adapter.alpha
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": adapter.rank, "lora_alpha": alpha,
        "use_rslora": False, "target_modules": sorted(adapter.targets), "lora_dropout": 0.0,
        "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
        "base_model_name_or_path": base_model_name or adapter.base.name,
    }
    # Provenance goes into the safetensors header, not adapter_config.json: PEFT warns about
    # (and tells users to upgrade for) any key it does not know in the config.
    provenance = {"description": adapter.description, "generator": adapter.generator,
                  "base_sha256": adapter.base.sha256, "trained_alpha": adapter.alpha,
                  "trained_use_rslora": adapter.use_rslora, **adapter.extra}
    with atomic_dir(out) as tmp:
        save_file(tensors, str(tmp / "adapter_model.safetensors"),
                  metadata={"format": "pt", "t2l_edge": json.dumps(provenance, sort_keys=True)})
        (tmp / "adapter_config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    return out
