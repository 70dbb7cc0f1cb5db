"""`t2l-edge merge`: bake an adapter into a copy of the base model, for long sessions."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


@app.command(
    help=(
        "Bake ADAPTER.gguf into a copy of the base model: the targeted tensors become "
        "W + scale * B @ A in F16, everything else is copied as it is. The merged model runs at "
        "the base's speed with no adapter active, in t2l-edge and in any llama.cpp program; "
        "worth it for long sessions (docs/benchmarks.md has the measured speeds). About 3 s and "
        "117 MB for SmolLM2-135M.\n\n"
        "Example:\n\n"
        "  t2l-edge make-adapter \"Answer yes or no.\" -o yes_no.gguf\n\n"
        "  t2l-edge merge yes_no.gguf -o smollm2-yes-no.gguf\n\n"
        "  llama-cli -m smollm2-yes-no.gguf -p \"Is the sun a star?\" -n 16 --temp 0"
    )
)
def merge(
    adapter: Path = typer.Argument(..., help="GGUF LoRA adapter (validated against the base first)."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the merged model GGUF."),
    base: Optional[Path] = typer.Option(None, "--base", help="Base model GGUF (default: SmolLM2-135M-Instruct Q4_1)."),
    scale: float = typer.Option(1.0, "--scale", help="Adapter strength baked in: 0 is the base, 1 as trained."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
    allow_base_mismatch: bool = typer.Option(False, "--allow-base-mismatch", help="Accept an adapter made for another base file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    from ..core.basemodel import resolve_base
    from ..formats.merge import merge_adapter_file

    base_path = resolve_base(base)
    t0 = time.perf_counter()
    path, report = merge_adapter_file(adapter, base_path, out, scale=scale, force=force,
                                      allow_base_mismatch=allow_base_mismatch)
    seconds = time.perf_counter() - t0
    if as_json:
        typer.echo(json.dumps({"out": str(path), "base": str(base_path), "adapter": str(adapter), "scale": scale,
                               "bytes": path.stat().st_size, "seconds": seconds, "targets": report.targets,
                               "warnings": report.warnings}, indent=2))
        return
    for w in report.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB, {', '.join(report.targets)} merged at scale {scale:g}) "
               f"in {seconds:.1f} s")
