"""The token-by-token generation loop behind Engine.generate (greedy or seeded sampling).

Each step feeds the sequence so far to Engine.logits_at, whose prefix cache makes that one new
token per decode; text is streamed through an incremental UTF-8 decoder so multi-byte
characters split across tokens are never emitted half-way.
"""

from __future__ import annotations

import codecs
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np


def _log_softmax(row: np.ndarray) -> np.ndarray:
    row = row.astype(np.float64)
    m = row.max()
    return row - (m + np.log(np.exp(row - m).sum()))


@dataclass
class GenerationResult:
    text: str
    n_prompt_tokens: int
    n_gen_tokens: int
    prompt_tokens_per_s: float
    tokens_per_s: float  # generation speed, excluding the prompt
    stop_reason: str  # "eos", "max_tokens", "context" or "stopped" (should_stop said so)


def decode_loop(engine, tokens: list[int], max_tokens: int, temperature: float,
                on_token: Callable[[str], None] | None, seed: int,
                should_stop: Callable[[], bool] | None = None) -> GenerationResult:
    """Generate after prompt `tokens` until an end-of-generation token, max_tokens, a full
    context, or `should_stop()` returning True after a token (a stop string was seen, or the
    client went away: the server's reasons)."""
    tokens = list(tokens)
    n_prompt = len(tokens)
    rng = np.random.default_rng(seed)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pieces: list[str] = []
    t0 = time.perf_counter()
    row = engine.logits_at(tokens, [len(tokens) - 1])[0]
    t_prompt = time.perf_counter() - t0
    stop, n_gen, n_decode = "max_tokens", 0, 0
    t1 = time.perf_counter()
    while n_gen < max_tokens:
        tok = _pick(row, temperature, rng)
        if engine._lib.llama_vocab_is_eog(engine._vocab, tok):
            stop = "eos"
            break
        n_gen += 1
        tokens.append(tok)
        piece = decoder.decode(engine.token_bytes(tok))
        if piece:
            pieces.append(piece)
            if on_token is not None:
                on_token(piece)
        if should_stop is not None and should_stop():
            stop = "stopped"
            break
        if n_gen >= max_tokens:
            break
        if len(tokens) >= engine.n_ctx:
            stop = "context"
            break
        row = engine.logits_at(tokens, [len(tokens) - 1])[0]
        n_decode += 1
    t_gen = time.perf_counter() - t1
    tail = decoder.decode(b"", final=True)
    if tail:
        pieces.append(tail)
        if on_token is not None:
            on_token(tail)
    return GenerationResult(
        text="".join(pieces), n_prompt_tokens=n_prompt, n_gen_tokens=n_gen,
        prompt_tokens_per_s=n_prompt / t_prompt if t_prompt > 0 else 0.0,
        # per decoded token: the first generated token came with the prompt's logits
        tokens_per_s=max(n_decode, 1) / t_gen if t_gen > 0 and n_gen else 0.0, stop_reason=stop,
    )


def _pick(row: np.ndarray, temperature: float, rng) -> int:
    if temperature <= 0.0:
        return int(np.argmax(row))
    logp = _log_softmax(row / temperature)
    p = np.exp(logp)
    return int(rng.choice(len(p), p=p / p.sum()))
