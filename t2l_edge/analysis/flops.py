"""FLOPs of making one adapter vs the extra prompt FLOPs of 3-shot in-context learning.

An adapter costs one encoder pass over the description plus one hypernetwork pass, paid once
per task. 3-shot ICL adds three solved examples to every prompt, paid on every query, by the
base model. Transformer forward FLOPs are counted as 2 x (non-embedding parameters) per token
plus the attention score/value products (2 x 2 x layers x width x context per token); the
hypernetwork is counted exactly with torch's FlopCounterMode.
"""

from __future__ import annotations

import json
import random

import numpy as np

MINILM = {"layers": 6, "width": 384, "ffn": 1536}  # all-MiniLM-L6-v2


def transformer_flops(n_tokens: int, layers: int, width: int, ffn: int, kv_width: int | None = None,
                      gated: bool = False, context: int | None = None) -> float:
    """Forward FLOPs for n_tokens new tokens attending to `context` positions (default: themselves)."""
    kv = kv_width or width
    proj = width * width * 2 + width * kv * 2  # q, o + k, v
    mlp = width * ffn * (3 if gated else 2)
    ctx = context if context is not None else n_tokens
    attn = 2 * width * ctx  # scores + weighted sum, per token, averaged causal context folded into ctx
    return float(n_tokens * layers * 2 * (proj + mlp + attn))


def icl_extra_tokens(tokenizer_json: str, shots: int = 3, benchmarks=None, seed: int = 0) -> dict[str, float]:
    """Mean tokens that `shots` solved examples (question + answer, from each benchmark's
    never-scored part) add to a prompt, per benchmark."""
    from tokenizers import Tokenizer

    from ..data.benchmarks import MC, load_benchmark

    tok = Tokenizer.from_file(tokenizer_json)
    out = {}
    for b in benchmarks or MC:
        items = load_benchmark(b, part="train")
        rng = random.Random(seed)
        lens = []
        for _ in range(50):
            shot = rng.sample(items, shots)
            text = "\n\n".join(f"Question: {x.prompt}\nAnswer: {x.answer}" for x in shot) + "\n\n"
            lens.append(len(tok.encode(text).ids))
        out[b] = float(np.mean(lens))
    return out


def flops_report(net, base, tokenizer_json: str, description_tokens: int = 24, query_tokens: int = 100) -> dict:
    from ..hypernet.flops import hypernet_flops  # `net` is a PyTorch module: counted on the torch side

    enc = transformer_flops(description_tokens, **MINILM)
    hyp = hypernet_flops(net)
    extra = icl_extra_tokens(tokenizer_json)
    per_query = {}
    for b, n in extra.items():
        # the shots are processed before the query, so the query also attends to them
        shots = transformer_flops(int(n), base.n_layer, base.hidden, base.ffn, kv_width=base.head_dim * base.n_head_kv,
                                  gated=True, context=int(n) // 2)
        longer_query = 2 * 2 * base.n_layer * base.hidden * int(n) * query_tokens
        per_query[b] = shots + longer_query
    mean_icl = float(np.mean(list(per_query.values())))
    return {"adapter_flops": {"encoder": enc, "hypernet": hyp, "total": enc + hyp, "description_tokens": description_tokens},
            "icl_3shot_extra_flops_per_query": per_query, "icl_3shot_extra_tokens": extra, "query_tokens": query_tokens,
            "mean_icl_extra_flops_per_query": mean_icl,
            "queries_to_break_even": (enc + hyp) / mean_icl}


def dumps(report: dict) -> str:
    return json.dumps(report, indent=1)
