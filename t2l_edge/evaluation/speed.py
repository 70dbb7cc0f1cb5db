"""Evaluation speed as the issue asks for it: scored tokens/s against llama.cpp's own
prompt-processing tokens/s on the same machine, in the same process, at the same moment."""

from __future__ import annotations

import time

_TEXT = ("The quick brown fox jumps over the lazy dog while the river carries leaves "
         "towards the sea and the children count the boats. ")


def raw_prompt_tok_s(engine, n_tokens: int = 256, repeats: int = 3) -> float:
    """Best of `repeats` cold prefills of an n-token prompt (one logits row, at the end)."""
    toks = (engine.tokenize(_TEXT * 20, add_bos=True))[:n_tokens]
    best = 0.0
    for _ in range(repeats):
        engine.reset_cache()
        t0 = time.perf_counter()
        engine.logits_at(toks, [len(toks) - 1])
        best = max(best, len(toks) / (time.perf_counter() - t0))
    engine.reset_cache()
    return best
