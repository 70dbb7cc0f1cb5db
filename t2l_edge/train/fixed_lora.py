"""A plain LoRA as a "generator" that ignores the description: the baselines' trainable module.

It answers the same call as the hypernetwork (embeddings [T, emb] -> {module: (A [T, L, r, in],
B [T, L, out, r])}), so task-specific and multi-task LoRA train in exactly the loop, loss,
batching and settings T2L does. Rank, alpha, rsLoRA and targets come from a HyperConfig, so a
baseline and the T2L run it is compared with share them. PEFT's init: A kaiming-uniform, B = 0.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.adapter import Adapter
from ..core.basemodel import BaseSpec
from ..hypernet.config import HyperConfig
from ..hypernet.model import peft_a_init


class FixedLoRA(nn.Module):
    def __init__(self, cfg: HyperConfig, base: BaseSpec, init_seed: int = 0):
        super().__init__()
        self.cfg, self.base = cfg, base
        g = torch.Generator().manual_seed(init_seed)
        self.A, self.B = nn.ParameterDict(), nn.ParameterDict()
        for m in cfg.targets:
            fin, fout = base.shape(m)
            self.A[m] = nn.Parameter(torch.stack([peft_a_init(cfg.rank, fin, g) for _ in range(base.n_layer)]))
            self.B[m] = nn.Parameter(torch.zeros(base.n_layer, fout, cfg.rank))

    def forward(self, emb: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        t = emb.shape[0]
        return {m: (self.A[m].expand(t, -1, -1, -1), self.B[m].expand(t, -1, -1, -1)) for m in self.cfg.targets}

    def param_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def to_adapter(self, description: str, extra: dict | None = None) -> Adapter:
        from .. import GENERATOR_NAME

        return Adapter(description, self.base, self.cfg.rank, self.cfg.alpha, self.cfg.use_rslora,
                       {m: self.A[m].detach().float().numpy().copy() for m in self.cfg.targets},
                       {m: self.B[m].detach().float().numpy().copy() for m in self.cfg.targets},
                       generator=GENERATOR_NAME, extra=dict(extra or {}))


def save_lora_gguf(lora: FixedLoRA, folder, info: dict, description: str) -> None:
    """The baselines' output: adapter.gguf (F32, lossless, so `recon` can train on it) plus
    info.json with the provenance. llama.cpp, `inspect` and `eval --row adapter` take the GGUF."""
    import json

    from ..core.atomic import atomic_dir
    from ..formats.gguf_adapter import write_gguf

    extra = {k: v for k, v in info.items() if k in ("step", "val_loss", "task")}
    with atomic_dir(folder) as tmp:
        write_gguf(lora.to_adapter(description, {"training": extra}), tmp / "adapter.gguf", dtype="f32")
        (tmp / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True, default=str))
