"""Adapter guidance: push a generated adapter away from the generator's description-free answer.

The generator's adapters share one large "answer in the task's format" part; what a
description adds on top is small (docs/specificity.md). Guidance scales that part:

    delta_W(guided) = delta_W(reference) + gamma * (delta_W(description) - delta_W(reference))

where the reference adapter is the one the generator makes from the mean embedding of its
training descriptions. gamma = 1 is the plain adapter; gamma > 1 amplifies what the
description changes, as classifier-free guidance does for diffusion models. The sum is exact
as one LoRA of twice the rank: B' = [gamma B_d, (1 - gamma) B_r], A' = [A_d; A_r], with alpha
raised so that the scale alpha/r (alpha/sqrt(r) with rsLoRA) stays what it was.
"""

from __future__ import annotations

import math

import numpy as np

from .adapter import Adapter
from .errors import T2LError

MAX_GUIDANCE = 8.0  # beyond this the adapter's norm grows far past anything trained


def check_guidance(gamma: float) -> None:
    if not (math.isfinite(gamma) and 0.0 <= gamma <= MAX_GUIDANCE):
        raise T2LError(f"guidance {gamma} is out of range", f"use a number from 0 to {MAX_GUIDANCE:g} (1 = off)")


def guided(adapter: Adapter, reference: Adapter, gamma: float) -> Adapter:
    """The adapter with its difference from `reference` scaled by gamma (exact, rank 2r)."""
    check_guidance(gamma)
    if gamma == 1.0:
        return adapter
    if (reference.rank, reference.alpha, reference.use_rslora, reference.targets) != (
            adapter.rank, adapter.alpha, adapter.use_rslora, adapter.targets):
        raise T2LError("the reference adapter has another shape than the adapter", "make both with one bundle")
    rank = 2 * adapter.rank
    # Keep the LoRA scale: alpha/r halves when r doubles (alpha/sqrt(r) shrinks by sqrt(2)).
    alpha = adapter.alpha * (math.sqrt(2.0) if adapter.use_rslora else 2.0)
    A, B = {}, {}
    for m in adapter.targets:
        A[m] = np.concatenate([adapter.A[m], reference.A[m]], axis=1)
        B[m] = np.concatenate([gamma * adapter.B[m], (1.0 - gamma) * reference.B[m]], axis=2).astype(adapter.B[m].dtype)
    extra = {**adapter.extra, "guidance": gamma}
    return Adapter(adapter.description, adapter.base, rank, alpha, adapter.use_rslora, A, B, adapter.generator, extra)
