"""Log-likelihood scoring of answer options, the way evaluation ranks multiple-choice answers.

The shared context is evaluated once (sequence 0 of the KV cache, reused across calls by the
Engine's prefix cache). The options are then evaluated together in ONE decode: option j runs
as sequence j+1, which first shares the context's KV cells (llama_memory_seq_cp on a unified
cache is bookkeeping, not a copy). Logits are requested only at the positions scored, so the
vocabulary projection is never computed for tokens nobody asked about.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.errors import T2LError
from .generation import _log_softmax


def _groups(options: list[tuple[int, list[int]]], max_seqs: int, max_tokens: int, room: int):
    """Pack (index, fed tokens) into decode groups within the sequence, batch and KV limits."""
    group, used = [], 0
    for item in options:
        n = len(item[1])
        if group and (len(group) == max_seqs or used + n > min(max_tokens, room)):
            yield group
            group, used = [], 0
        group.append(item)
        used += n
    if group:
        yield group


def _decode_options(engine, n_context: int, group: list[tuple[int, list[int]]]) -> dict[int, np.ndarray]:
    """Decode each option's fed tokens as its own sequence on top of the context; return
    index -> logits rows [len(fed), vocab]."""
    lib, batch = engine._lib, engine._batch
    mem = lib.llama_get_memory(engine._ctx)
    k = 0
    for seq, (_, fed) in enumerate(group, start=1):
        lib.llama_memory_seq_cp(mem, 0, seq, -1, -1)
        for i, tok in enumerate(fed):
            batch.token[k], batch.pos[k], batch.n_seq_id[k] = tok, n_context + i, 1
            batch.seq_id[k][0] = seq
            batch.logits[k] = 1
            k += 1
    batch.n_tokens = k
    engine.decoded_tokens += k
    try:
        rc = lib.llama_decode(engine._ctx, batch)
        if rc != 0:
            raise T2LError(f"llama.cpp decode failed while scoring (code {rc})", "shorten the options or raise n_ctx")
        out, k = {}, 0
        for index, fed in group:
            ptrs = [lib.llama_get_logits_ith(engine._ctx, k + i) for i in range(len(fed))]
            out[index] = np.stack([np.ctypeslib.as_array(p, shape=(engine.n_vocab,)) for p in ptrs]).copy()
            k += len(fed)
        return out
    finally:
        for seq in range(1, len(group) + 1):  # leave only the context in the cache
            lib.llama_memory_seq_rm(mem, seq, -1, -1)


def score_tokens(engine, context: Sequence[int], continuations: Sequence[Sequence[int]]) -> list[float]:
    """Sum of log-probs of each continuation's tokens after `context` (token ids)."""
    context = list(context)
    if not context:
        raise T2LError("cannot score after an empty context on a model without BOS", "give a non-empty context")
    first = _log_softmax(engine.logits_at(context, [len(context) - 1])[0])
    conts = [list(c) for c in continuations]
    totals = [float(first[c[0]]) if c else 0.0 for c in conts]
    # The last token of an option is only predicted, never fed: its KV state is not needed.
    pending = [(j, c[:-1]) for j, c in enumerate(conts) if len(c) > 1]
    room = engine.n_ctx - len(context)
    fits = [p for p in pending if len(p[1]) <= min(engine.n_batch, room)]
    if len(fits) != len(pending):
        raise T2LError("an answer option does not fit in the context", f"raise n_ctx (now {engine.n_ctx}) or shorten it")
    if not engine.score_seqs:  # binding without a unified KV cache: one option at a time in seq 0
        for j, fed in fits:
            n = len(context)
            rows = engine.logits_at(context + fed, range(n, n + len(fed)))
            totals[j] += sum(float(_log_softmax(r)[t]) for r, t in zip(rows, conts[j][1:]))
        return totals
    for group in _groups(fits, engine.score_seqs, engine.n_batch, room):
        rows = _decode_options(engine, len(context), group)
        for j, fed in group:
            targets = conts[j][1:]
            totals[j] += sum(float(_log_softmax(r)[t]) for r, t in zip(rows[j], targets))
    return totals
