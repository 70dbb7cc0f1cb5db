"""The Adapter: one generated LoRA, as plain numpy, in HF (PyTorch) row order.

It is what the runtime returns and what the GGUF and PEFT writers consume. Matrices follow
PEFT's layout: A is [rank, in_features], B is [out_features, rank], and the update to a
projection is  delta_W = scale * B @ A.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .basemodel import BaseSpec
from .errors import T2LError


def lora_scale(alpha: float, rank: int, use_rslora: bool) -> float:
    """PEFT's scaling: alpha/sqrt(r) with rsLoRA, alpha/r otherwise."""
    return alpha / math.sqrt(rank) if use_rslora else alpha / rank


@dataclass
class Adapter:
    description: str
    base: BaseSpec
    rank: int
    alpha: float  # PEFT lora_alpha
    use_rslora: bool
    A: dict[str, np.ndarray]  # module -> [n_layer, rank, in]
    B: dict[str, np.ndarray]  # module -> [n_layer, out, rank]
    generator: str = ""
    extra: dict = field(default_factory=dict)  # provenance, e.g. bundle id

    def __post_init__(self):
        for m in self.A:
            fin, fout = self.base.shape(m)
            want_a = (self.base.n_layer, self.rank, fin)
            want_b = (self.base.n_layer, fout, self.rank)
            if self.A[m].shape != want_a or self.B[m].shape != want_b:
                raise T2LError(
                    f"adapter for {m} has A{self.A[m].shape} B{self.B[m].shape}, base needs A{want_a} B{want_b}",
                    "the bundle was made for another base model",
                )

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.A)

    @property
    def scale(self) -> float:
        return lora_scale(self.alpha, self.rank, self.use_rslora)

    @property
    def gguf_alpha(self) -> float:
        """alpha for adapter.lora.alpha: llama.cpp scales by alpha/rank and has no rsLoRA."""
        return self.scale * self.rank

    def delta(self, module: str, layer: int) -> np.ndarray:
        """delta_W [out, in] for one projection, in float32."""
        return self.scale * (self.B[module][layer].astype(np.float32) @ self.A[module][layer].astype(np.float32))

    def delta_norms(self) -> dict[str, np.ndarray]:
        """Frobenius norm of delta_W per module and layer: module -> [n_layer]."""
        out = {}
        for m in self.A:
            a = self.A[m].astype(np.float32)
            b = self.B[m].astype(np.float32)
            # ||B A||_F^2 = trace(A A^T B^T B), cheap at rank r.
            gram_a = a @ a.transpose(0, 2, 1)
            gram_b = b.transpose(0, 2, 1) @ b
            sq = np.einsum("lij,lji->l", gram_a, gram_b)
            out[m] = self.scale * np.sqrt(np.maximum(sq, 0.0))
        return out

    def check_finite(self) -> None:
        for m in self.A:
            if not (np.isfinite(self.A[m]).all() and np.isfinite(self.B[m]).all()):
                raise T2LError(f"generated LoRA for {m} contains NaN or Inf", "the bundle is broken; re-export or re-train it")
