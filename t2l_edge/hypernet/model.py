"""The T2L hypernetwork: a task embedding in, LoRA A/B for every (layer, module) out.

As in Text-to-LoRA (Charakorn et al., ICML 2025): the description embedding is projected to
latent/2 and joined with a learned layer-index embedding and a learned module-type embedding
(latent/4 each). A dropout MLP mixer and two pre-LN residual blocks form the trunk, and all
(layer, module) pairs run through it in one batched pass. Variants differ in the heads:

  L  one head per module emits A and B together: r*(in+out) numbers.
  M  one head per module shared by A and B, told apart by a learned A/B embedding: r*max(in,out).
  S  one head per module emits one rank row at a time (rank-position + A/B embeddings): max(in,out).

Bias hyper-init: head weights start at zero and the output bias equals a PEFT default LoRA
init (A kaiming-uniform, B zero), so an untrained generator gives delta W = 0 exactly and SFT
starts from the base model's behaviour. M and S share a head between A and B, so their bias
lives in a separate (module, A/B[, rank]) table added after the head.

With `read_tokens > 0` the generator also reads the description's word pieces (hypernet/reader.py)
and takes packed descriptions (core/description_seq.py) instead of pooled embeddings; what it
reads is added to the mixer's output, the same for every (layer, module) pair.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.basemodel import BaseSpec
from .config import HyperConfig
from .reader import TokenReader, split_packed
from .word_path import WORD_MODULE, WordPath


class ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width * 2), nn.SiLU(), nn.Dropout(dropout), nn.Linear(width * 2, width))

    def forward(self, x):
        return x + self.mlp(self.norm(x))


def _embedding(n: int, dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Embedding(n, dim), nn.LayerNorm(dim))


def peft_a_init(rank: int, fan_in: int, generator: torch.Generator) -> torch.Tensor:
    """PEFT's default lora_A init: kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(in), 1/sqrt(in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(rank, fan_in, generator=generator) * 2 - 1) * bound


class HyperNetwork(nn.Module):
    def __init__(self, cfg: HyperConfig, base: BaseSpec, init_seed: int = 0):
        super().__init__()
        # The trunk's layers take their default init from torch's global RNG, which nothing seeds:
        # two runs of one config used to start from different trunks. Seed it here, in a forked
        # state so the caller's RNG stream is left as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self._build(cfg, base, init_seed)
        # Fixed indices, kept as buffers so ONNX export bakes them in.
        self.register_buffer("layer_ids", torch.arange(base.n_layer), persistent=False)
        self.register_buffer("module_ids", torch.arange(len(cfg.targets)), persistent=False)
        self.register_buffer("ab_ids", torch.arange(2), persistent=False)
        self.register_buffer("rank_ids", torch.arange(cfg.rank), persistent=False)

    def _build(self, cfg: HyperConfig, base: BaseSpec, init_seed: int) -> None:
        self.cfg, self.base = cfg, base
        r, q = cfg.rank, cfg.latent // 4
        self.shapes = {m: base.shape(m) for m in cfg.targets}  # module -> (in, out)
        self.task_proj = nn.Sequential(nn.Linear(cfg.emb_dim, cfg.latent // 2), nn.LayerNorm(cfg.latent // 2))
        self.layer_emb = _embedding(base.n_layer, q)
        self.module_emb = _embedding(len(cfg.targets), q)
        extra = 0
        if cfg.variant in ("M", "S"):
            self.ab_emb = _embedding(2, q)
            extra += q
        if cfg.variant == "S":
            self.rank_emb = _embedding(r, q)
            extra += q
        self.mixer = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(cfg.latent + extra, cfg.hidden), nn.SiLU(),
            nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, cfg.hidden),
        )
        self.blocks = nn.Sequential(ResidualBlock(cfg.hidden, cfg.dropout), ResidualBlock(cfg.hidden, cfg.dropout))
        self.to_head = nn.Sequential(nn.LayerNorm(cfg.hidden), nn.Linear(cfg.hidden, cfg.head_in), nn.SiLU())

        g = torch.Generator().manual_seed(init_seed)
        self.heads = nn.ModuleDict()
        self.head_bias = nn.ParameterDict()
        for m, (fin, fout) in self.shapes.items():
            a0 = peft_a_init(r, fin, g)
            width = max(fin, fout)
            if cfg.variant == "L":
                head = nn.Linear(cfg.head_in, r * (fin + fout))
                with torch.no_grad():
                    head.bias.copy_(torch.cat([a0.flatten(), torch.zeros(fout * r)]))
            else:
                if cfg.variant == "M":
                    # forward() reads A from the first r*in numbers of the A row, so the init
                    # goes there flat (not as [r, width] rows, which differ when in < out).
                    head = nn.Linear(cfg.head_in, r * width, bias=False)
                    bias = torch.zeros(2, r * width)  # [A/B, numbers]
                    bias[0, : r * fin] = a0.flatten()
                else:
                    head = nn.Linear(cfg.head_in, width, bias=False)
                    bias = torch.zeros(2, r, width)  # [A/B, rank row, features]
                    bias[0, :, :fin] = a0
                self.head_bias[m] = nn.Parameter(bias)
            nn.init.zeros_(head.weight)
            self.heads[m] = head
        if cfg.read_tokens:  # last, so the layers above draw the same initial values with or without it
            self.reader = TokenReader(cfg.emb_dim, cfg.read_tokens, cfg.hidden, cfg.read_context)
        if cfg.word_layers:
            fin, fout = self.shapes[WORD_MODULE]
            self.word_path = WordPath(cfg.read_tokens * cfg.emb_dim, cfg.word_layers, fin, fout, cfg.word_which,
                                      cfg.word_which_a, query_dim=cfg.emb_dim,
                                      rule_dim=cfg.emb_dim if cfg.word_which_rule else 0,
                                      object_dim=cfg.emb_dim if cfg.word_which_object else 0,
                                      gate_dim=cfg.emb_dim + 1 if cfg.word_which_object_gate else 0,
                                      object_rank=cfg.word_which_object)

    def param_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _trunk(self, pooled: torch.Tensor, read: torch.Tensor | None) -> torch.Tensor:
        """Head input for every pair: [T, L, M(, 2(, r)), head_in]."""
        cfg = self.cfg
        T, L, M = pooled.shape[0], self.base.n_layer, len(cfg.targets)
        if read is not None:
            read = self.reader.mlp(read)
        parts = [
            self.task_proj(pooled)[:, None, None, :].expand(T, L, M, -1),
            self.layer_emb(self.layer_ids)[None, :, None, :].expand(T, L, M, -1),
            self.module_emb(self.module_ids)[None, None, :, :].expand(T, L, M, -1),
        ]
        x = torch.cat(parts, dim=-1)
        if cfg.variant in ("M", "S"):
            x = x[:, :, :, None, :].expand(T, L, M, 2, -1)
            ab = self.ab_emb(self.ab_ids)[None, None, None].expand(T, L, M, 2, -1)
            x = torch.cat([x, ab], dim=-1)
        if cfg.variant == "S":
            x = x[..., None, :].expand(T, L, M, 2, cfg.rank, -1)
            rk = self.rank_emb(self.rank_ids)[None, None, None, None].expand(T, L, M, 2, cfg.rank, -1)
            x = torch.cat([x, rk], dim=-1)
        h = self.mixer(x)
        if read is not None:
            h = h + read.view((T,) + (1,) * (h.dim() - 2) + (-1,))
        return self.to_head(self.blocks(h))

    def _read(self, task_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """(pooled embeddings [T, emb_dim], what the reader's queries read [T, queries * emb_dim] or
        None, what the word path's object query read [T, emb_dim] or None, and the object row
        gate's input [T, emb_dim + 1] or None)."""
        if not self.cfg.read_tokens:
            return (split_packed(task_emb)[0] if task_emb.dim() == 3 else task_emb), None, None, None
        if task_emb.dim() != 3:
            raise ValueError(f"this generator reads word pieces: it takes packed descriptions [T, 1 + pieces, "
                             f"{2 * self.cfg.emb_dim}], not {list(task_emb.shape)}")
        pooled, states, pieces, mask = split_packed(task_emb)
        obj = gate_in = None
        if self.cfg.word_which_object:
            obj, peak = self.reader.pool(states, pieces, mask, self.word_path.object_query, with_peak=True)
            gate_in = torch.cat([pooled, peak], dim=-1) if self.cfg.word_which_object_gate else None
        return pooled, self.reader.pool(states, pieces, mask), obj, gate_in

    def object_gate_input(self, task_emb: torch.Tensor) -> torch.Tensor:
        """[T, emb_dim + 1]: what the object row's gate reads for packed descriptions (train/roles.py fits it on these)."""
        return self._read(task_emb)[3]

    def forward(self, task_emb: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """task_emb [T, emb_dim] -> {module: (A [T, L, r, in], B [T, L, out, r])}, HF row order."""
        cfg, r = self.cfg, self.cfg.rank
        pooled, read, obj, gate_in = self._read(task_emb)
        h = self._trunk(pooled, read)
        T, L = task_emb.shape[0], self.base.n_layer
        out = {}
        for mi, m in enumerate(cfg.targets):
            fin, fout = self.shapes[m]
            y = self.heads[m](h[:, :, mi])
            if cfg.variant == "L":  # [T, L, r*(in+out)]
                a = y[..., : r * fin].reshape(T, L, r, fin)
                b = y[..., r * fin :].reshape(T, L, fout, r)
            elif cfg.variant == "M":  # [T, L, 2, r*width]
                y = y + self.head_bias[m]
                a = y[:, :, 0, : r * fin].reshape(T, L, r, fin)
                b = y[:, :, 1, : fout * r].reshape(T, L, fout, r)
            else:  # S: [T, L, 2, r, width], one rank row per position
                y = y + self.head_bias[m]
                a = y[:, :, 0, :, :fin]
                b = y[:, :, 1, :, :fout].transpose(-1, -2)
            if m == WORD_MODULE and cfg.word_layers:
                a, b = self.word_path(a, b, read, pooled, obj, gate_in)
            out[m] = (a, b)
        return out
