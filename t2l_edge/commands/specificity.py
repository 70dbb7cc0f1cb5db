"""`t2l-edge specificity`: swap controls. Does the adapter follow its description?"""

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
        "Score every task of a set under the adapter made from its own held-out description, "
        "from every other task's description, from 3 fixed random strings, from an empty and a "
        "neutral description, and with no adapter; beside them, the description as a prompt "
        "(bare base, and own adapter plus prompt). Reports the matrix, the diagonal advantage "
        "(own minus the mean of the others), own minus random, and top-1 retrieval, with paired "
        "bootstrap 95% CIs over items, and draws a heat-map. Sets: bench (the 7 multiple-choice "
        "benchmarks, plain cloze), pool (the pool's validation-only tasks), unseen (tasks no "
        "trainer sees). Multiple choice scores acc_norm; generation tasks the mean per-token "
        "log-likelihood of the gold answer.\n\n"
        "Examples:\n\n"
        "  t2l-edge specificity --set bench --limit 30 --out results/swap-bench.json\n\n"
        "  t2l-edge specificity --set unseen --limit 20 --out results/swap-unseen.json --plot docs/plots/swap-unseen.png\n\n"
        "  t2l-edge specificity --set bench --tasks arc_easy,piqa --limit 5 --json"
    )
)
def specificity(
    task_set: str = typer.Option("bench", "--set", help="bench | pool | unseen."),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="Comma-separated subset of the set's task ids (default: all)."),
    limit: int = typer.Option(20, "--limit", min=1, help="Seeded subset of items per task."),
    seed: int = typer.Option(0, "--seed"),
    descriptions: int = typer.Option(1, "--descriptions", min=1, help="Held-out descriptions per task (one adapter each; the column averages them)."),
    n_random: int = typer.Option(3, "--random", min=1, help="Fixed random strings."),
    prompt_rows: bool = typer.Option(True, "--prompt-rows/--no-prompt-rows", help="Also score the description-in-prompt rows."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Generator bundle (default models/default)."),
    base: Optional[Path] = typer.Option(None, "--base", help="Base GGUF (default: SmolLM2-135M-Instruct Q4_1)."),
    store: Optional[Path] = typer.Option(None, "--store", help="Task store for --set pool (default ~/.cache/t2l-edge/tasks)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1),
    guidance: float = typer.Option(1.0, "--guidance", help="Scale every adapter's difference from the description-free one (1 = off; docs/specificity.md)."),
    label: Optional[str] = typer.Option(None, "--label", help="Name in reports (default: the output file's name)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the result JSON here (atomically; --force to replace)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Heat-map PNG (default: beside --out, as .png; none without --out or with --no-plot)."),
    no_plot: bool = typer.Option(False, "--no-plot"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of markdown."),
    force: bool = typer.Option(False, "--force"),
) -> None:
    from ..core.atomic import atomic_output, check_output_path
    from ..core.guidance import check_guidance
    from ..engine import Engine
    from ..evaluation.swap import prompt_cost, run_swap
    from ..evaluation.swap_report import render_swap
    from ..evaluation.swap_sets import load_set
    from ..evaluation.swap_stats import analyse
    from ..runtime import Generator

    check_guidance(guidance)
    plot_path = None if no_plot else plot or (out.with_suffix(".png") if out else None)
    for path in (out, plot_path):  # refuse an existing file before any work, not after it
        if path:
            check_output_path(path, force)
    names = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    swap_tasks = load_set(task_set, names, limit, seed, store)  # fails on a bad name before loading a model
    gen = Generator.load(bundle)
    t0 = time.perf_counter()
    with Engine(base, n_threads=threads) as engine:
        run = run_swap(engine, gen, swap_tasks, descriptions, n_random, prompt_rows, log=lambda s: typer.echo(s, err=True),
                       guidance=guidance)
        base_sha, cost = engine.spec.sha256, prompt_cost(engine, swap_tasks, descriptions)
    result = {"kind": "swap", "set": task_set, "label": label or (out.stem if out else f"swap-{task_set}"),
              "config": {"tasks": [t.id for t in swap_tasks], "limit": limit, "seed": seed, "descriptions": descriptions,
                         "random": n_random, "prompt_rows": prompt_rows, "bundle": str(gen.bundle_dir),
                         "threads": threads, "style": "plain", **({"guidance": guidance} if guidance != 1.0 else {})},
              "bundle_id": gen.manifest.bundle_id, "base_sha256": base_sha, **run, **analyse(run),
              "prompt_cost": cost,
              "option_logp": analyse({"columns": run["columns"], "tasks": run["tasks_option_logp"]}) if run["tasks_option_logp"] else None,
              "seconds": time.perf_counter() - t0, "git_commit": _git_commit()}
    if out:
        with atomic_output(out, force=force) as tmp:
            tmp.write_text(json.dumps(result, indent=1))
        typer.echo(f"wrote {out}", err=True)
    if plot_path:
        _heatmap(result, plot_path)
    if as_json:
        typer.echo(json.dumps({k: result[k] for k in ("set", "label", "config", "summary", "per_task", "seconds")}, indent=1))
    else:
        typer.echo(render_swap(result))


def _heatmap(result: dict, path: Path) -> None:
    from ..analysis.plots import swap_heatmap

    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # matplotlib is an extra; the numbers above do not need it
        typer.echo(f"wrote {swap_heatmap(result, path)}", err=True)
    except ImportError as exc:
        typer.echo(f"no heat-map: plotting needs matplotlib ({exc.name} is missing; pip install -e '.[plot]')", err=True)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
