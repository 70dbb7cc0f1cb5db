"""`t2l-edge eval`: the results table's rows, scored in llama.cpp."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)

_MC_DEFAULT = "arc_challenge,arc_easy,boolq,hellaswag,openbookqa,piqa,winogrande"


@app.command(
    help=(
        "Score one row of the results table on the held-out benchmarks, in llama.cpp. Multiple "
        "choice by log-likelihood: acc and length-normalised acc (per character), with bootstrap "
        "95% intervals on a seeded subset; every row scores the same items. gsm8k (exact match of "
        "the final number), humaneval and mbpp (pass@1, code run in a sandbox without network) "
        "are scored when listed in --benchmarks. Rows that use descriptions report the spread "
        "across --descriptions held-out descriptions.\n\n"
        "Examples:\n\n"
        "  t2l-edge eval --row base --limit 200 --out results/base.json\n\n"
        "  t2l-edge eval --row t2l --bundle models/default --style chat --limit 200 --out results/t2l.json\n\n"
        "  t2l-edge eval --row icl --shots 3 --style chat --out results/icl.json\n\n"
        "  t2l-edge eval --row oracle --adapter-dir runs/oracle --benchmarks arc_easy,piqa"
    )
)
def evaluate(
    row: str = typer.Option("base", "--row", help="base | desc-in-prompt | icl (--shots examples) | adapter (--adapter) | oracle (--adapter-dir) | oracle-other (another benchmark's oracle, --adapter-dir) | t2l | control-random (T2L from random strings) | control-other (T2L from another benchmark's descriptions)"),
    benchmarks: str = typer.Option(_MC_DEFAULT, "--benchmarks"),
    limit: Optional[int] = typer.Option(200, "--limit", help="Seeded subset size per benchmark (0 = all)."),
    seed: int = typer.Option(0, "--seed"),
    style: str = typer.Option("plain", "--style", help="plain (cloze, as published base numbers), chat (cloze in the chat format T2L is trained on) or letter (options listed, the letter scored)."),
    adapter: Optional[Path] = typer.Option(None, "--adapter", help="GGUF adapter for --row adapter."),
    adapter_dir: Optional[Path] = typer.Option(None, "--adapter-dir", help="`train lora` output for --row oracle / oracle-other: DIR/bench.NAME/best/adapter.gguf."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Bundle for the t2l and control rows (default models/default)."),
    descriptions: int = typer.Option(2, "--descriptions", help="Held-out descriptions per benchmark (rows that use descriptions)."),
    guidance: float = typer.Option(1.0, "--guidance", help="t2l and control rows: scale each adapter's difference from the description-free one (1 = off; see docs/specificity.md)."),
    shots: int = typer.Option(3, "--shots", help="Worked examples per prompt for --row icl."),
    label: Optional[str] = typer.Option(None, "--label", help="Row name in reports (default: the output file's name)."),
    base: Optional[Path] = typer.Option(None, "--base"),
    threads: Optional[int] = typer.Option(None, "--threads"),
    out: Optional[Path] = typer.Option(None, "--out", help="Write results JSON here (atomically; --force to replace)."),
    force: bool = typer.Option(False, "--force"),
) -> None:
    from ..core.atomic import check_output_path
    from ..core.guidance import check_guidance
    from ..data.benchmarks import GEN
    from ..engine import Engine
    from ..evaluation import results as schema
    from ..evaluation.rows import variants
    from ..evaluation.speed import raw_prompt_tok_s

    names = _benchmark_names(benchmarks)
    _check_options(row, style, adapter, adapter_dir, shots)
    check_guidance(guidance)
    if out:
        check_output_path(out, force)
    plans = {b: variants(row, b, descriptions, seed, shots, adapter, adapter_dir) for b in names}  # fail before loading anything
    gen = None
    if any(v.generate_from for vs in plans.values() for v in vs):
        from ..runtime import Generator

        gen = Generator.load(bundle)
    # Generative benchmarks always decode greedily in the chat template; --style only shapes the
    # multiple-choice prompts, so a generation-only run is labelled by what it did.
    recorded_style = "generate" if all(b in GEN for b in names) else style
    config = {"benchmarks": names, "descriptions": descriptions, "shots": shots if row == "icl" else 0,
              "adapter": str(adapter) if adapter else None, "adapter_dir": str(adapter_dir) if adapter_dir else None,
              "bundle": str(bundle) if bundle else ("models/default" if gen else None), "threads": threads}
    if guidance != 1.0:
        config["guidance"] = guidance
    results = schema.new_result(row, label or (out.stem if out else row), recorded_style, limit, seed, config)
    t_all = time.perf_counter()
    with Engine(base, n_threads=threads) as engine:
        results["base_sha256"] = engine.spec.sha256 if engine.spec.sha256 else ""
        raw = raw_prompt_tok_s(engine)
        scored_s, decoded0 = 0.0, engine.decoded_tokens
        for b in names:
            results["benchmarks"][b], seconds = _score_benchmark(engine, gen, b, plans[b], style, limit, seed, guidance)
            scored_s += seconds
        decoded = engine.decoded_tokens - decoded0
    schema.finish_result(results, time.perf_counter() - t_all, raw, scored_s, decoded)
    try:
        results["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    if gen is not None:
        results.update(schema.bundle_fields(gen.manifest))
    _write_and_print(results, out, force)


def _benchmark_names(benchmarks: str) -> list[str]:
    from ..core.errors import T2LError
    from ..data.benchmarks import BENCHMARKS

    names = [b.strip() for b in benchmarks.split(",") if b.strip()]
    bad = [b for b in names if b not in BENCHMARKS]
    if bad:
        raise T2LError(f"unknown benchmark: {', '.join(bad)}", f"choose from {', '.join(BENCHMARKS)}")
    return names


def _check_options(row: str, style: str, adapter: Optional[Path], adapter_dir: Optional[Path], shots: int) -> None:
    from ..core.errors import T2LError
    from ..evaluation.mc import STYLES
    from ..evaluation.rows import ROWS

    if row not in ROWS or style not in STYLES:
        raise T2LError(f"unknown --row {row} or --style {style}", "see t2l-edge eval --help")
    if row == "adapter" and adapter is None:
        raise T2LError("--row adapter needs --adapter FILE", "pass the GGUF adapter to score")
    if row in ("oracle", "oracle-other") and adapter_dir is None:
        raise T2LError(f"--row {row} needs --adapter-dir DIR", "pass the output folder of `t2l-edge train lora`")
    if shots < 1 and row == "icl":
        raise T2LError("--shots must be at least 1", "use --row base for zero-shot")


def _score_benchmark(engine, gen, b: str, plan: list, style: str, limit: Optional[int], seed: int,
                     guidance: float = 1.0) -> tuple[dict, float]:
    """(the benchmark's result entry, seconds spent in multiple-choice scoring) over its variants."""
    from ..data.benchmarks import load_benchmark
    from ..evaluation.results import benchmark_entry

    items = load_benchmark(b, limit=limit or None, seed=seed)
    per_desc, scored_s = [], 0.0
    t0 = time.perf_counter()
    for v in plan:
        if v.generate_from is not None:
            engine.use(gen.make(v.generate_from, guidance))
        elif v.adapter is not None:
            engine.use(v.adapter)
        else:
            engine.clear()
        summary, seconds = _score_variant(engine, b, items, v, style)
        per_desc.append({"description": v.description, **summary})
        scored_s += seconds
    entry = benchmark_entry(per_desc, time.perf_counter() - t0, len(items))
    typer.echo(f"{b:14s} acc {entry['acc']:.3f}  acc_norm {entry['acc_norm']:.3f}  "
               f"({len(items)} items x {len(plan)} variant(s), {time.perf_counter() - t0:.0f} s)", err=True)
    return entry, scored_s


def _score_variant(engine, b: str, items: list, v, style: str) -> tuple[dict, float]:
    """One variant's summary, and the seconds of multiple-choice scoring (0 for generation)."""
    from ..data.benchmarks import GEN
    from ..evaluation.generative import score_code, score_gsm8k
    from ..evaluation.mc import score_item, summarize, summarize_correct

    if b in GEN:  # exact match (GSM8K) or pass@1 in the sandbox (code): one number
        gens = [score_gsm8k(engine, ex, v.in_prompt) if b == "gsm8k" else score_code(engine, b, ex, v.in_prompt) for ex in items]
        return summarize_correct([g.correct for g in gens]), 0.0
    ts = time.perf_counter()
    scores = [score_item(engine, b, ex, style, v.in_prompt, v.shots) for ex in items]
    return summarize(scores), time.perf_counter() - ts


def _write_and_print(results: dict, out: Optional[Path], force: bool) -> None:
    from ..core.atomic import atomic_output

    if out:
        with atomic_output(out, force=force) as tmp:
            tmp.write_text(json.dumps(results, indent=1))
        typer.echo(f"wrote {out}", err=True)
    sp = results["speed"]
    raw = sp["raw_prompt_tok_s"]
    speed = f"; scoring {sp['scoring_tok_s']:.0f} tok/s = {sp['scoring_vs_raw']:.0%} of raw prefill {raw:.0f} tok/s" if sp["scoring_tok_s"] else ""
    typer.echo(f"average acc_norm {results['average_acc_norm']:.3f} over {len(results['config']['benchmarks'])} benchmarks "
               f"in {results['seconds']:.0f} s{speed}")
