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
    row: str = typer.Option("base", "--row", help="base | desc-in-prompt | icl (--shots examples) | adapter (--adapter) | oracle (--adapter-dir) | t2l | control-random (T2L from random strings) | control-other (T2L from another benchmark's descriptions)"),
    benchmarks: str = typer.Option(_MC_DEFAULT, "--benchmarks"),
    limit: Optional[int] = typer.Option(200, "--limit", help="Seeded subset size per benchmark (0 = all)."),
    seed: int = typer.Option(0, "--seed"),
    style: str = typer.Option("plain", "--style", help="plain (cloze, as published base numbers), chat (cloze in the chat format T2L is trained on) or letter (options listed, the letter scored)."),
    adapter: Optional[Path] = typer.Option(None, "--adapter", help="GGUF adapter for --row adapter."),
    adapter_dir: Optional[Path] = typer.Option(None, "--adapter-dir", help="`train lora` output for --row oracle: DIR/bench.NAME/best/adapter.gguf."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Bundle for the t2l and control rows (default models/default)."),
    descriptions: int = typer.Option(2, "--descriptions", help="Held-out descriptions per benchmark (rows that use descriptions)."),
    shots: int = typer.Option(3, "--shots", help="Worked examples per prompt for --row icl."),
    label: Optional[str] = typer.Option(None, "--label", help="Row name in reports (default: the output file's name)."),
    base: Optional[Path] = typer.Option(None, "--base"),
    threads: Optional[int] = typer.Option(None, "--threads"),
    out: Optional[Path] = typer.Option(None, "--out", help="Write results JSON here (atomically; --force to replace)."),
    force: bool = typer.Option(False, "--force"),
) -> None:
    from ..core.atomic import atomic_output, check_output_path
    from ..data.benchmarks import BENCHMARKS, GEN, load_benchmark
    from ..engine import Engine
    from ..core.errors import T2LError
    from ..evaluation.generative import score_code, score_gsm8k
    from ..evaluation.mc import STYLES, score_item, summarize, summarize_correct
    from ..evaluation.rows import ROWS, variants
    from ..evaluation.speed import raw_prompt_tok_s

    names = [b.strip() for b in benchmarks.split(",") if b.strip()]
    bad = [b for b in names if b not in BENCHMARKS]
    if bad:
        raise T2LError(f"unknown benchmark: {', '.join(bad)}", f"choose from {', '.join(BENCHMARKS)}")
    if row not in ROWS or style not in STYLES:
        raise T2LError(f"unknown --row {row} or --style {style}", "see t2l-edge eval --help")
    if row == "adapter" and adapter is None:
        raise T2LError("--row adapter needs --adapter FILE", "pass the GGUF adapter to score")
    if row == "oracle" and adapter_dir is None:
        raise T2LError("--row oracle needs --adapter-dir DIR", "pass the output folder of `t2l-edge train lora`")
    if shots < 1 and row == "icl":
        raise T2LError("--shots must be at least 1", "use --row base for zero-shot")
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
    results = {"row": row, "label": label or (out.stem if out else row), "style": recorded_style, "limit": limit, "seed": seed,
               "config": {"benchmarks": names, "descriptions": descriptions, "shots": shots if row == "icl" else 0,
                          "adapter": str(adapter) if adapter else None, "adapter_dir": str(adapter_dir) if adapter_dir else None,
                          "bundle": str(bundle) if bundle else ("models/default" if gen else None), "threads": threads},
               "benchmarks": {}}
    t_all = time.perf_counter()
    with Engine(base, n_threads=threads) as engine:
        results["base_sha256"] = engine.spec.sha256 if engine.spec.sha256 else ""
        raw = raw_prompt_tok_s(engine)
        scored_s, decoded0 = 0.0, engine.decoded_tokens
        for b in names:
            items = load_benchmark(b, limit=limit or None, seed=seed)
            per_desc = []
            t0 = time.perf_counter()
            for v in plans[b]:
                if v.generate_from is not None:
                    engine.use(gen.make(v.generate_from))
                elif v.adapter is not None:
                    engine.use(v.adapter)
                else:
                    engine.clear()
                if b in GEN:  # exact match (GSM8K) or pass@1 in the sandbox (code): one number
                    gens = [score_gsm8k(engine, ex, v.in_prompt) if b == "gsm8k" else score_code(engine, b, ex, v.in_prompt)
                            for ex in items]
                    per_desc.append({"description": v.description, **summarize_correct([g.correct for g in gens])})
                    continue
                ts = time.perf_counter()
                scores = [score_item(engine, b, ex, style, v.in_prompt, v.shots) for ex in items]
                scored_s += time.perf_counter() - ts
                per_desc.append({"description": v.description, **summarize(scores)})
            accs = [p["acc_norm"] for p in per_desc]
            results["benchmarks"][b] = {"acc_norm": sum(accs) / len(accs), "acc": sum(p["acc"] for p in per_desc) / len(per_desc),
                                        "acc_norm_spread": [min(accs), max(accs)], "per_description": per_desc,
                                        "seconds": time.perf_counter() - t0, "items": len(items)}
            typer.echo(f"{b:14s} acc {results['benchmarks'][b]['acc']:.3f}  acc_norm {results['benchmarks'][b]['acc_norm']:.3f}  "
                       f"({len(items)} items x {len(plans[b])} variant(s), {time.perf_counter() - t0:.0f} s)", err=True)
        decoded = engine.decoded_tokens - decoded0
    results["average_acc_norm"] = sum(v["acc_norm"] for v in results["benchmarks"].values()) / len(names)
    results["seconds"] = time.perf_counter() - t_all
    # Multiple-choice scoring speed against llama.cpp's raw prefill speed, measured just before.
    results["speed"] = {"raw_prompt_tok_s": raw, "scoring_tok_s": decoded / scored_s if scored_s else None,
                        "scoring_vs_raw": (decoded / scored_s) / raw if scored_s and raw else None,
                        "decoded_tokens": decoded}
    try:
        results["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    if gen is not None:
        results["bundle_id"] = gen.manifest.bundle_id
        trained = gen.manifest.raw.get("training", {})
        results["bundle_training"] = {k: trained.get(k) for k in ("n_train_tasks", "step", "val_loss", "config")}
    text = json.dumps(results, indent=1)
    if out:
        with atomic_output(out, force=force) as tmp:
            tmp.write_text(text)
        typer.echo(f"wrote {out}", err=True)
    sp = results["speed"]
    speed = f"; scoring {sp['scoring_tok_s']:.0f} tok/s = {sp['scoring_vs_raw']:.0%} of raw prefill {raw:.0f} tok/s" if sp["scoring_tok_s"] else ""
    typer.echo(f"average acc_norm {results['average_acc_norm']:.3f} over {len(names)} benchmarks in {results['seconds']:.0f} s{speed}")
