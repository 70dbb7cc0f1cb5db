"""The generation thread count, chosen by measuring it (the Engine's default).

A decode step of a small model is a few hundred small graph nodes, each ending in a barrier
across the threads, so more threads can make it slower: on a 2-core AMD EPYC, SmolLM2-135M
decodes at 94 tokens/s on 1 thread and 47 on 2, while on a 2-core Intel Xeon 2 threads were
faster (48 vs 41; bench/results/llama.json, docs/benchmarks.md). Prompt processing gains from
every core on both, so only single-token decoding is tuned: the first decode steps run under
each candidate count in turn, and the fastest by median step time is kept for the engine's life.
"""

from __future__ import annotations

import statistics
from typing import Callable

STEPS_PER_CANDIDATE = 6  # decode steps timed per thread count; the median absorbs a resize hiccup


def candidate_counts(cores: int) -> list[int]:
    """All cores, half of them and one, most first (the engine starts on all cores)."""
    return sorted({cores, max(1, cores // 2), 1}, reverse=True)


class DecodeThreadTuner:
    """Feed it the seconds of each single-token decode; it switches the engine's generation
    threads through the candidates (via `apply`) and then settles on the fastest."""

    def __init__(self, cores: int, apply: Callable[[int], None]):
        self.candidates = candidate_counts(cores)
        self._apply = apply
        self._times: dict[int, list[float]] = {c: [] for c in self.candidates}
        self._index = 0
        self.chosen: int | None = self.candidates[0] if len(self.candidates) == 1 else None

    @property
    def current(self) -> int:
        return self.chosen if self.chosen is not None else self.candidates[self._index]

    def observe(self, seconds: float) -> None:
        if self.chosen is not None:
            return
        times = self._times[self.candidates[self._index]]
        times.append(seconds)
        if len(times) < STEPS_PER_CANDIDATE:
            return
        self._index += 1
        if self._index < len(self.candidates):
            self._apply(self.candidates[self._index])
            return
        self.chosen = min(self.candidates, key=lambda c: statistics.median(self._times[c]))
        self._apply(self.chosen)

    def summary(self) -> dict:
        """Median seconds per decode step for each count measured so far, and the choice."""
        return {"chosen": self.chosen,
                "median_step_s": {c: statistics.median(t) for c, t in self._times.items() if t}}
