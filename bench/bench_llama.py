"""On-demand llama.cpp benchmark: what an adapter costs at run time on the default base.

Measures in one process, on SmolLM2-135M-Instruct Q4_1 with 2 threads:
  - prompt (prefill) and generation tokens/s, base vs with a T2L-shaped adapter
    (random LoRA, rank 8, on q and v in every layer);
  - switching adapters on the loaded base vs reloading the base model.
Targets: adapted generation >= 85% of base speed; a swap >= 20x faster than a reload.
Base and adapted runs alternate and the median is kept, because the box is shared.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m bench.bench_llama [--base B.gguf] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._common import machine_info, write_result

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]

from t2l_edge.core.basemodel import read_base_spec, resolve_base  # noqa: E402
from t2l_edge.engine import Engine  # noqa: E402
from t2l_edge.formats.gguf_adapter import write_gguf  # noqa: E402
from t2l_edge.formats.validate import validate_adapter  # noqa: E402
from tests.helpers.tinyllama import random_adapter  # noqa: E402

PROMPT = ("Below is a passage about the water cycle. Water evaporates from oceans, lakes and rivers, rises "
          "as vapour, cools and condenses into clouds, and returns to the surface as rain or snow. ") * 4


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def prefill_and_decode(engine: Engine, prompt_tokens: list[int], gen_tokens: list[int]) -> tuple[float, float]:
    """(prompt tok/s, generation tok/s). Generation feeds a fixed token sequence one token per
    decode, exactly as generate() does, so base and adapted runs do identical work whatever
    text they would have produced."""
    engine.reset_cache()
    t_prompt, _ = timed(lambda: engine.logits_at(prompt_tokens, [len(prompt_tokens) - 1]))
    seq = list(prompt_tokens)
    t0 = time.perf_counter()
    for tok in gen_tokens:
        seq.append(tok)
        engine.logits_at(seq, [len(seq) - 1])
    t_gen = time.perf_counter() - t0
    return len(prompt_tokens) / t_prompt, len(gen_tokens) / t_gen


def measure_speed(engine: Engine, handle, prompt_tokens, gen_tokens, repeats: int) -> dict:
    """Alternate base and adapted runs; keep the best (least disturbed by other jobs on the
    shared box) and the median of each."""
    prefill_and_decode(engine, prompt_tokens[:32], gen_tokens[:4])  # warm-up
    runs = {"base": [], "adapted": []}
    for _ in range(repeats):
        for name in ("base", "adapted"):
            engine.use(handle) if name == "adapted" else engine.clear()
            runs[name].append(prefill_and_decode(engine, prompt_tokens, gen_tokens))
    out = {}
    for name, rs in runs.items():
        p, g = [r[0] for r in rs], [r[1] for r in rs]
        out[name] = {"prompt_tok_s_best": max(p), "prompt_tok_s_median": statistics.median(p),
                     "gen_tok_s_best": max(g), "gen_tok_s_median": statistics.median(g), "gen_tok_s_all": g}
    return out


def measure_merged(args, base: Path, spec, folder: Path, prompt_tokens, gen_tokens) -> dict:
    """The --merge fast path: the adapter baked into a copy of the base (formats/merge.py), run
    with no adapter active. Its speed is compared with the base measured above."""
    from t2l_edge.formats.merge import merge_adapter

    adapter = random_adapter(spec, ("q_proj", "v_proj"), rank=8, seed=0, b_scale=0.01, description="bench merge")
    t_merge, path = timed(lambda: merge_adapter(adapter, base, folder / "merged.gguf"))
    with Engine(path, n_ctx=1024, n_threads=args.threads) as e:
        prefill_and_decode(e, prompt_tokens[:32], gen_tokens[:4])  # warm-up
        runs = [prefill_and_decode(e, prompt_tokens, gen_tokens) for _ in range(args.repeats)]
    gen = [r[1] for r in runs]
    return {"merge_s": t_merge, "bytes": path.stat().st_size, "gen_tok_s_best": max(gen),
            "gen_tok_s_median": statistics.median(gen), "prompt_tok_s_median": statistics.median(r[0] for r in runs)}


def reload_high_level(base: Path, adapter: Path, threads: int) -> float | None:
    """What an app without Engine does for a new adapter: a fresh Llama(lora_path=...), which
    also turns mmap off. The adapter was validated by Engine before, so this cannot crash."""
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    t, llm = timed(lambda: Llama(str(base), lora_path=str(adapter), n_ctx=1024, n_threads=threads, verbose=False))
    llm.close()
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gen-tokens", type=int, default=48)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "llama.json"))
    args = ap.parse_args()

    base = resolve_base(args.base)
    spec = read_base_spec(base)
    tmp = Path(tempfile.mkdtemp(prefix="t2l-bench-"))
    try:
        adapters = [write_gguf(random_adapter(spec, ("q_proj", "v_proj"), rank=8, seed=s, b_scale=0.01,
                                              description=f"bench {s}"), tmp / f"a{s}.gguf") for s in range(6)]
        result = measure(args, base, spec, adapters)
    finally:  # the adapter files
        shutil.rmtree(tmp, ignore_errors=True)
    write_result(args.out, result, indent=2)
    return 0


def measure(args, base: Path, spec, adapters: list[Path]) -> dict:
    t_load, engine = timed(lambda: Engine(base, n_ctx=1024, n_threads=args.threads))
    with engine:
        prompt_tokens = engine.tokenize(PROMPT)
        gen_tokens = engine.tokenize(PROMPT + PROMPT, add_bos=False)[: args.gen_tokens]
        h = engine.load(adapters[0])
        speed = measure_speed(engine, h, prompt_tokens, gen_tokens, args.repeats)

        # Swaps: between resident adapters, and cold (validate + load a new file + activate).
        h2 = engine.load(adapters[1])
        warm = [timed(lambda x=x: engine.use(x))[0] for x in [h, h2] * 10]
        # Where a new file's time goes: validate + llama.cpp load + activate on two new files, our
        # validator alone on two others (new files each time, so no header cache is shared);
        # writing is timed on the in-memory adapter.
        cold = [timed(lambda p=p: engine.use(p))[0] for p in adapters[2:4]]
        validate_only = [timed(lambda p=p: validate_adapter(p, base))[0] for p in adapters[4:6]]
        mem_adapter = random_adapter(spec, ("q_proj", "v_proj"), rank=8, seed=99, b_scale=0.01)
        t_write, _ = timed(lambda: write_gguf(mem_adapter, adapters[0].parent / "written.gguf"))
        t_mem, _ = timed(lambda: engine.use(mem_adapter))
        example = engine.generate("Name three primary colors.", max_tokens=24)

    merged = measure_merged(args, base, spec, adapters[0].parent, prompt_tokens, gen_tokens)

    # For information: one generation thread (prompts still use args.threads).
    with Engine(base, n_ctx=1024, n_threads=1, n_threads_batch=args.threads) as e1:
        speed_1t = measure_speed(e1, e1.load(adapters[0]), prompt_tokens[:32], gen_tokens, args.repeats)

    # The engine's default: generation threads measured on the first decode steps (engine/threads.py).
    with Engine(base, n_ctx=1024) as ea:
        speed_auto = measure_speed(ea, ea.load(adapters[0]), prompt_tokens[:32], gen_tokens, args.repeats)
        auto_threads = ea.decode_threads

    reloads = [t_load]
    for _ in range(2):
        t, e = timed(lambda: Engine(base, n_ctx=1024, n_threads=args.threads))
        e.close()
        reloads.append(t)
    reload_s = statistics.median(reloads)
    reload_hl_s = reload_high_level(base, adapters[2], args.threads)
    swap_warm, swap_cold = statistics.median(warm), statistics.median(cold)
    ratio = {k: speed["adapted"][k] / speed["base"][k] for k in ("gen_tok_s_best", "gen_tok_s_median",
                                                                 "prompt_tok_s_best", "prompt_tok_s_median")}
    result = {
        "base_model": base.name, "threads": args.threads, "repeats": args.repeats,
        "n_prompt_tokens": len(prompt_tokens), "n_gen_tokens": len(gen_tokens),
        "adapter": "random LoRA r=8 on q_proj,v_proj, all layers, f16 GGUF (T2L-shaped)",
        "speed": speed, "adapted_over_base": ratio, "merged": merged,
        "merged_over_base_gen_median": merged["gen_tok_s_median"] / speed["base"]["gen_tok_s_median"],
        "speed_1_generation_thread": {k: {"gen_tok_s_best": v["gen_tok_s_best"], "gen_tok_s_median": v["gen_tok_s_median"]}
                                      for k, v in speed_1t.items()},
        "speed_measured_threads": {**{k: {"gen_tok_s_best": v["gen_tok_s_best"], "gen_tok_s_median": v["gen_tok_s_median"]}
                                       for k, v in speed_auto.items()}, "decode_threads": auto_threads},
        "swap_resident_s": swap_warm, "swap_new_file_s": swap_cold, "swap_in_memory_adapter_s": t_mem,
        "new_file_validate_s": statistics.median(validate_only), "write_gguf_s": t_write,
        "reload_base_engine_mmap_s": reload_s, "reload_base_llama_lora_path_s": reload_hl_s,
        "reload_over_swap_resident": reload_s / swap_warm, "reload_over_swap_new_file": reload_s / swap_cold,
        "llama_lora_path_reload_over_swap_new_file": reload_hl_s / swap_cold if reload_hl_s else None,
        "example_generate": {"tokens_per_s": example.tokens_per_s, "n_gen_tokens": example.n_gen_tokens},
        "targets": {"gen_ratio_min": 0.85, "swap_speedup_min": 20.0},
        "machine": machine_info(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    result["pass"] = {"gen_ratio_best": ratio["gen_tok_s_best"] >= 0.85,
                      "swap_resident_vs_engine_reload": result["reload_over_swap_resident"] >= 20.0,
                      "swap_new_file_vs_engine_reload": result["reload_over_swap_new_file"] >= 20.0}
    return result


if __name__ == "__main__":
    sys.exit(main())
