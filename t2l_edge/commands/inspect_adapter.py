"""`t2l-edge inspect`: validate an adapter against a base model and describe it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """Per-layer norms as one line of bars, so 30 layers fit in a terminal row."""
    if not values:
        return ""
    hi = max(values)
    if hi <= 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(len(_BARS) - 1, int(v / hi * (len(_BARS) - 1) + 0.5))] for v in values)


@app.command(
    help=(
        "Validate ADAPTER.gguf against a base model and describe it: task description, rank, "
        "alpha, targets, per-layer delta-W norms, generator version and the verdict.\n\n"
        "Example:\n\n"
        "  t2l-edge inspect sci.gguf\n\n"
        "  t2l-edge inspect sci.gguf --base other-base.gguf --allow-base-mismatch --json\n\n"
        "Exit code 0 when the adapter is valid for the base, 1 when it is not."
    )
)
def inspect(
    adapter: Path = typer.Argument(..., help="GGUF LoRA adapter to check."),
    base: Optional[Path] = typer.Option(None, "--base", help="Base model GGUF (default: SmolLM2-135M-Instruct Q4_1)."),
    allow_base_mismatch: bool = typer.Option(False, "--allow-base-mismatch", help="Accept an adapter made for a different base file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    from ..core.basemodel import resolve_base
    from ..core.errors import T2LError
    from ..formats.validate import validate_adapter

    base_path = resolve_base(base)
    try:
        report = validate_adapter(adapter, base_path, allow_base_mismatch=allow_base_mismatch)
    except T2LError as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "adapter": str(adapter), "base": str(base_path),
                                   "error": exc.message, "hint": exc.hint}, indent=2))
        else:
            typer.echo(f"INVALID  {exc.one_line()}", err=True)
        raise typer.Exit(1)

    if as_json:
        typer.echo(json.dumps({"valid": True, "base": str(base_path), **report.to_dict()}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("adapter", report.path)
    table.add_row("description", report.description or "(none)")
    table.add_row("base", f"{base_path.name} ({report.arch})")
    table.add_row("rank / alpha", f"{report.rank} / {report.alpha:g}  (llama.cpp scale {report.scale:g})")
    table.add_row("targets", ", ".join(report.targets) + f"  over {report.n_layers} layers, {report.dtype}")
    table.add_row("generator", report.generator or "(unknown: not made by t2l-edge)")
    for target in report.targets:
        v = report.delta_norms[target]
        table.add_row(f"‖ΔW‖ {target}", f"{sparkline(v)}  min {min(v):.3g}  mean {sum(v) / len(v):.3g}  max {max(v):.3g}")
    verdict = "[green]VALID[/green]" + (" (base verified by sha256)" if report.base_verified else "")
    table.add_row("verdict", verdict)
    console.print(table)
    for w in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
