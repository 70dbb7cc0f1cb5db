"""`t2l-edge eval`: multiple-choice benchmarks scored in llama.cpp (cloze, log-likelihood)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


@app.command(
    help=(
        "Score the base model, a fixed adapter, or T2L adapters made from descriptions, on the "
        "held-out benchmarks, in llama.cpp. Multiple choice by log-likelihood: acc and "
        "length-normalised acc (per character), with bootstrap 95% intervals on a seeded subset. "
        "gsm8k (exact match of the final number), humaneval and mbpp (pass@1, code run in a "
        "sandbox without network) are scored when listed in --benchmarks.\n\n"
        "Examples:\n\n"
        "  t2l-edge eval --row base --limit 200 --out results/base.json\n\n"
        "  t2l-edge eval --row t2l --bundle models/my-bundle --style chat --limit 200 --out results/t2l.json\n\n"
        "  t2l-edge eval --row adapter --adapter mt-lora.gguf --benchmarks arc_easy,piqa"
    )
)
def evaluate(
    row: str = typer.Option("base", "--row", help="base | desc-in-prompt | adapter | t2l"),
    benchmarks: str = typer.Option("arc_challenge,arc_easy,boolq,hellaswag,openbookqa,piqa,winogrande", "--benchmarks"),
    limit: Optional[int] = typer.Option(200, "--limit", help="Seeded subset size per benchmark (0 = all)."),
    seed: int = typer.Option(0, "--seed"),
    style: str = typer.Option("plain", "--style", help="plain (cloze, as published base numbers), chat (cloze in the chat format T2L is trained on) or letter (options listed, the letter scored)."),
    adapter: Optional[Path] = typer.Option(None, "--adapter", help="GGUF adapter for --row adapter."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Bundle for --row t2l (default models/default)."),
    descriptions: int = typer.Option(2, "--descriptions", help="Held-out benchmark descriptions per benchmark (t2l rows)."),
    base: Optional[Path] = typer.Option(None, "--base"),
    threads: Optional[int] = typer.Option(None, "--threads"),
    out: Optional[Path] = typer.Option(None, "--out", help="Write results JSON here (atomically; --force to replace)."),
    force: bool = typer.Option(False, "--force"),
) -> None:
    from ..atomic import atomic_output, check_output_path
    from ..data.benchmarks import BENCHMARKS, GEN, load_benchmark
    from ..data.descriptions import descriptions as bench_descriptions
    from ..engine import Engine
    from ..errors import T2LError
    from ..evaluation.generative import score_code, score_gsm8k
    from ..evaluation.mc import STYLES, score_item, summarize, summarize_correct

    names = [b.strip() for b in benchmarks.split(",") if b.strip()]
    bad = [b for b in names if b not in BENCHMARKS]
    if bad:
        raise T2LError(f"unknown benchmark: {', '.join(bad)}", f"choose from {', '.join(BENCHMARKS)}")
    if row not in ("base", "desc-in-prompt", "adapter", "t2l") or style not in STYLES:
        raise T2LError(f"unknown --row {row} or --style {style}", "see t2l-edge eval --help")
    if row == "adapter" and adapter is None:
        raise T2LError("--row adapter needs --adapter FILE", "pass the GGUF adapter to score")
    if out:
        check_output_path(out, force)
    gen = None
    if row == "t2l":
        from ..runtime import Generator

        gen = Generator.load(bundle)
    results = {"row": row, "style": style, "limit": limit, "seed": seed, "benchmarks": {}}
    t_all = time.perf_counter()
    with Engine(base, n_threads=threads) as engine:
        results["base_sha256"] = engine.spec.sha256 if engine.spec.sha256 else ""
        if row == "adapter":
            engine.use(adapter)
        for b in names:
            items = load_benchmark(b, limit=limit or None, seed=seed)
            descs = bench_descriptions(f"bench.{b}", "heldout")[:descriptions] if row in ("t2l", "desc-in-prompt") else [None]
            if row in ("t2l", "desc-in-prompt") and not descs:
                raise T2LError(f"no held-out description for bench.{b}", "add it to t2l_edge/data/descriptions/bench.json")
            per_desc = []
            t0 = time.perf_counter()
            for d in descs:
                if row == "t2l":
                    engine.use(gen.make(d))
                in_prompt = d if row == "desc-in-prompt" else None
                if b in GEN:  # exact match (GSM8K) or pass@1 in the sandbox (code): one number
                    gens = [score_gsm8k(engine, ex, in_prompt) if b == "gsm8k" else score_code(engine, b, ex, in_prompt)
                            for ex in items]
                    per_desc.append({"description": d, **summarize_correct([g.correct for g in gens])})
                    continue
                scores = [score_item(engine, b, ex, style, in_prompt) for ex in items]
                per_desc.append({"description": d, **summarize(scores)})
            accs = [p["acc_norm"] for p in per_desc]
            results["benchmarks"][b] = {"acc_norm": sum(accs) / len(accs), "acc": sum(p["acc"] for p in per_desc) / len(per_desc),
                                        "acc_norm_spread": [min(accs), max(accs)], "per_description": per_desc,
                                        "seconds": time.perf_counter() - t0, "items": len(items)}
            typer.echo(f"{b:14s} acc {results['benchmarks'][b]['acc']:.3f}  acc_norm {results['benchmarks'][b]['acc_norm']:.3f}  "
                       f"({len(items)} items x {len(descs)} description(s), {time.perf_counter() - t0:.0f} s)", err=True)
    results["average_acc_norm"] = sum(v["acc_norm"] for v in results["benchmarks"].values()) / len(names)
    results["seconds"] = time.perf_counter() - t_all
    try:
        results["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    if gen is not None:
        results["bundle_id"] = gen.manifest.bundle_id
    text = json.dumps(results, indent=1)
    if out:
        with atomic_output(out, force=force) as tmp:
            tmp.write_text(text)
        typer.echo(f"wrote {out}", err=True)
    typer.echo(f"average acc_norm {results['average_acc_norm']:.3f} over {len(names)} benchmarks in {results['seconds']:.0f} s")
