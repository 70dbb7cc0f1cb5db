"""What each row of the results table runs: per benchmark, one or more variants (one per
description where a row uses descriptions), each naming the adapter to activate, text to put
in the prompt, and in-context examples. Every row scores the same items in the same format;
only these three things change, so differences between rows are the method's alone.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from pathlib import Path

from ..data.benchmarks import BENCHMARKS, GEN, MC, load_benchmark
from ..data.descriptions import descriptions as task_descriptions
from ..data.schema import Example
from ..core.errors import T2LError

ROWS = {
    "base": "the bare base model",
    "desc-in-prompt": "the base with the benchmark's held-out description in front of the prompt",
    "icl": "the base with --shots worked examples from the benchmark's never-scored train part",
    "adapter": "one fixed GGUF adapter (--adapter), e.g. the multi-task LoRA",
    "oracle": "a task-specific LoRA per benchmark, trained on its disjoint part (--adapter-dir)",
    "oracle-other": "another multiple-choice benchmark's task-specific LoRA (--adapter-dir): how task-specific a trained LoRA is",
    "t2l": "T2L adapters generated from the benchmark's held-out descriptions (--bundle)",
    "control-random": "T2L from random strings as long as the held-out descriptions",
    "control-other": "T2L from another benchmark's held-out descriptions",
}
# control-other, oracle-other: which benchmark lends its descriptions or LoRA; a fixed rotation that pairs unlike tasks
_OTHER_OFFSET = 5


@dataclass
class Variant:
    description: str | None = None  # what is reported as the variant's description
    generate_from: str | None = None  # text the adapter is generated from (T2L rows)
    adapter: Path | None = None  # fixed adapter file
    in_prompt: str | None = None
    shots: list[Example] = field(default_factory=list)


def heldout(bench: str) -> list[str]:
    descs = task_descriptions(f"bench.{bench}", "heldout")
    if not descs:
        raise T2LError(f"no held-out description for bench.{bench}", "add it to t2l_edge/data/descriptions/bench.json")
    return descs


def random_description(like: str, seed: int) -> str:
    """Lower-case nonsense words with the same character count as `like`."""
    rng = random.Random(seed)
    words, n = [], 0
    while n < len(like):
        w = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
        words.append(w)
        n += len(w) + 1
    return " ".join(words)[: len(like)]


def other_benchmark(bench: str) -> str:
    return BENCHMARKS[(BENCHMARKS.index(bench) + _OTHER_OFFSET) % len(BENCHMARKS)]


def other_mc_benchmark(bench: str) -> str:
    """The oracle-other lender, among the multiple-choice benchmarks (the ones with oracle LoRAs):
    control-other's lender where that is one of them, else the next of the remaining benchmarks
    in a cycle, so every benchmark lends exactly once and never to itself."""
    kept = {b: other_benchmark(b) for b in MC if other_benchmark(b) in MC}
    rest = [b for b in MC if b not in kept]
    return kept.get(bench) or rest[(rest.index(bench) + 1) % len(rest)]


def oracle_adapter(adapter_dir: Path, bench: str) -> Path:
    path = Path(adapter_dir) / f"bench.{bench}" / "best" / "adapter.gguf"
    if not path.is_file():
        raise T2LError(f"no oracle adapter for {bench} at {path}",
                       f"train it: t2l-edge train lora --set tasks=bench.{bench} --out {adapter_dir}")
    return path


def variants(row: str, bench: str, n_descriptions: int, seed: int, shots: int = 3,
             adapter: Path | None = None, adapter_dir: Path | None = None) -> list[Variant]:
    if row == "base":
        return [Variant()]
    if row == "adapter":
        return [Variant(adapter=adapter)]
    if row == "oracle":
        return [Variant(adapter=oracle_adapter(adapter_dir, bench))]
    if row == "oracle-other":
        if bench not in MC:
            raise T2LError(f"the oracle-other row has no other oracle for {bench}", "score it on the multiple-choice benchmarks")
        lender = other_mc_benchmark(bench)
        return [Variant(description=f"[{lender}] oracle", adapter=oracle_adapter(adapter_dir, lender))]
    if row == "icl":
        if bench in GEN:
            raise T2LError(f"the icl row has no worked examples for {bench}", "score it on the multiple-choice benchmarks")
        pool = load_benchmark(bench, part="train")
        return [Variant(shots=random.Random(seed).sample(pool, min(shots, len(pool))))]
    if row == "desc-in-prompt":
        return [Variant(description=d, in_prompt=d) for d in heldout(bench)[:n_descriptions]]
    if row == "t2l":
        return [Variant(description=d, generate_from=d) for d in heldout(bench)[:n_descriptions]]
    if row == "control-random":
        fakes = [random_description(d, seed + i) for i, d in enumerate(heldout(bench)[:n_descriptions])]
        return [Variant(description=f, generate_from=f) for f in fakes]
    if row == "control-other":
        lender = other_benchmark(bench)
        return [Variant(description=f"[{lender}] {d}", generate_from=d) for d in heldout(lender)[:n_descriptions]]
    raise T2LError(f"unknown --row {row}", f"choose from {', '.join(ROWS)}")
