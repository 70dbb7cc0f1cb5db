"""`t2l-edge export`: a trained hypernetwork checkpoint -> an ONNX bundle folder."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False)


@app.command(
    help=(
        "Export a trained hypernetwork CHECKPOINT (hypernet.safetensors + hypernet.json, written "
        "by `t2l-edge train`) together with the all-MiniLM-L6-v2 description encoder into a "
        "self-describing ONNX bundle. ONNX Runtime is checked against PyTorch on several "
        "descriptions; the export fails above tolerance.\n\n"
        "Example:\n\n"
        "  t2l-edge export runs/sft-M/best -o models/default"
    )
)
def export(
    checkpoint: Path = typer.Argument(..., help="Checkpoint folder from `t2l-edge train`."),
    output: Path = typer.Option(..., "-o", "--output", help="Bundle folder to create."),
    encoder_quant: str = typer.Option("int8", "--encoder-quant", help="int8 (23 MB, per-channel dynamic) or fp32 (90 MB). Must match training."),
    hypernet_dtype: str = typer.Option("fp16", "--hypernet-dtype", help="fp16 (half the file, ~2e-4 relative error) or fp32 (exact) weights."),
    force: bool = typer.Option(False, "--force", help="Replace an existing bundle folder."),
) -> None:
    from ..core.atomic import refuse_existing
    from ..core.errors import T2LError

    if encoder_quant not in ("int8", "fp32"):
        raise T2LError(f"unknown --encoder-quant '{encoder_quant}'", "use int8 or fp32")
    if hypernet_dtype not in ("fp16", "fp32"):
        raise T2LError(f"unknown --hypernet-dtype '{hypernet_dtype}'", "use fp16 or fp32")
    refuse_existing(output, force)  # before loading torch and the checkpoint
    from t2l_edge.export.bundle_writer import write_bundle

    from ..hypernet.checkpoint import load_hypernet

    net, meta = load_hypernet(checkpoint)
    manifest = write_bundle(net, output, provenance=meta.get("provenance", {}), force=force,
                            encoder_quant=encoder_quant, hypernet_dtype=hypernet_dtype, log=lambda s: typer.echo(s))
    size = sum(f.stat().st_size for f in output.iterdir())
    typer.echo(f"wrote bundle {output} ({size / 1e6:.1f} MB, variant {manifest['hypernet']['variant']}, "
               f"{manifest['hypernet']['param_count']:,} hypernet parameters, {hypernet_dtype} weights)")
