"""`t2l-edge make-adapter`: one sentence in, a LoRA adapter file out (no torch involved)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


def _read_descriptions(path: Path) -> list[str]:
    """One description per line; blank lines skipped; exact duplicates reported and dropped."""
    from ..core.errors import T2LError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise T2LError(f"cannot read {path}: {exc.strerror}", "check the --from-file path") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise T2LError(f"{path} is not valid UTF-8 (line {line})", "save the file as UTF-8") from None
    seen, out = set(), []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line in seen:
            typer.echo(f"warning: {path}:{n} repeats an earlier description; skipped", err=True)
            continue
        seen.add(line)
        out.append(line)
    if not out:
        raise T2LError(f"{path} holds no descriptions", "write one description per line")
    return out


def _slug(text: str, n: int) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    return f"{n:03d}-{s or 'adapter'}"


@app.command(
    help=(
        "Turn a plain-language task DESCRIPTION into a LoRA adapter for the bundle's base model, "
        "in milliseconds, with ONNX Runtime. The adapter is written as a llama.cpp GGUF LoRA "
        "(default) or a PEFT folder.\n\n"
        "Examples:\n\n"
        "  t2l-edge make-adapter \"Answer yes or no to questions about the passage.\" -o boolq.gguf\n\n"
        "  t2l-edge make-adapter \"Solve the math word problem; give only the number.\" --format peft -o math-lora\n\n"
        "  t2l-edge make-adapter --from-file tasks.txt --out-dir adapters/ --json\n\n"
        "Then: t2l-edge generate --adapter boolq.gguf --prompt \"...\""
    )
)
def make_adapter(
    description: Optional[str] = typer.Argument(None, help="What the adapter should make the model do."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file (GGUF) or folder (PEFT). Default: adapter.gguf / adapter-peft."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Generator bundle folder (default: models/default)."),
    fmt: str = typer.Option("gguf", "--format", help="gguf (llama.cpp) or peft (transformers/peft)."),
    dtype: str = typer.Option("f16", "--dtype", help="GGUF tensor type: f16 (half the size) or f32."),
    from_file: Optional[Path] = typer.Option(None, "--from-file", help="Text file with one description per line (batch)."),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="Folder for batch outputs (with --from-file)."),
    max_delta_norm: Optional[float] = typer.Option(None, "--max-delta-norm", help="Refuse adapters whose largest per-layer ||delta W|| exceeds this."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="ONNX Runtime threads."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per adapter."),
    verify: bool = typer.Option(False, "--verify", help="Hash every bundle file again (default: only files changed since their last check)."),
    nearest: bool = typer.Option(False, "--nearest", help="Also name the 3 pool tasks closest to each description (the adapter follows its "
                                 "description on trained tasks, hardly on new ones). The first use per bundle takes ~30 s, then cached."),
) -> None:
    from ..core.errors import T2LError

    if fmt not in ("gguf", "peft"):
        raise T2LError(f"unknown format '{fmt}'", "use --format gguf or --format peft")
    if (description is None) == (from_file is None):
        raise T2LError("give either a DESCRIPTION or --from-file", "see t2l-edge make-adapter --help")
    descriptions, outputs = _plan_outputs(description, from_file, output, out_dir, fmt, force)

    t0 = time.perf_counter()
    from ..runtime import Generator

    gen = Generator.load(bundle, threads=threads, verify="full" if verify else True)
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    adapters = gen.make_batch(descriptions)
    t_make = time.perf_counter() - t1
    for w in gen.warnings:
        typer.echo(f"warning: {w}", err=True)
    closest = _nearest(gen, adapters) if nearest else [None] * len(adapters)
    if max_delta_norm is not None:
        _check_delta_norms(adapters, max_delta_norm)
    per_adapter = t_make / len(adapters)
    for ad, path, near in zip(adapters, outputs, closest):
        t2 = time.perf_counter()
        size = _write(ad, path, fmt, dtype, force)
        seconds = {"load_bundle": round(t_load, 4), "generate_per_adapter": round(per_adapter, 4),
                   "write": round(time.perf_counter() - t2, 4)}
        if as_json:
            typer.echo(json.dumps({**_record(ad, path, fmt, size, seconds), **({"nearest": near} if near else {})}))
        else:
            typer.echo(f"wrote {path} ({size / 1e6:.2f} MB) in {1000 * per_adapter:.0f} ms "
                       f"for {ad.base.name} [{ad.base.arch}, {ad.base.n_layer} layers, sha256 {ad.base.sha256[:12]}]")
            if near:
                from ..runtime.task_bank import nearest_line

                typer.echo("  " + nearest_line(near))


def _nearest(gen, adapters: list) -> list[list[dict]]:
    """The 3 closest pool tasks per adapter, with a warning for a description unlike all of them."""
    from ..runtime.task_bank import far_warning

    bank = gen.task_bank(announce=lambda text: typer.echo(text, err=True))
    found = bank.nearest(gen.embed([ad.description for ad in adapters]), k=3)
    for ad, near in zip(adapters, found):
        if warning := far_warning(ad.description, near):
            typer.echo(f"warning: {warning}", err=True)
    return found


def _plan_outputs(description: Optional[str], from_file: Optional[Path], output: Optional[Path], out_dir: Optional[Path],
                  fmt: str, force: bool) -> tuple[list[str], list[Path]]:
    """(descriptions, output paths), every path checked before any work, not after the first file."""
    from ..core.atomic import check_output_path, refuse_existing
    from ..core.errors import T2LError

    ext = ".gguf" if fmt == "gguf" else ""
    if from_file is not None:
        descriptions = _read_descriptions(from_file)
        folder = out_dir or Path(".")
        if not folder.is_dir():
            raise T2LError(f"--out-dir {folder} is not a folder", "create it first")
        outputs = [folder / (_slug(d, i + 1) + ext) for i, d in enumerate(descriptions)]
    else:
        descriptions = [description]
        outputs = [output or Path("adapter.gguf" if fmt == "gguf" else "adapter-peft")]
    for path in outputs:
        if fmt == "gguf":
            check_output_path(path, force)
        else:
            refuse_existing(path, force)
    return descriptions, outputs


def _check_delta_norms(adapters: list, max_delta_norm: float) -> None:
    from ..core.errors import T2LError

    for ad in adapters:
        worst = max(float(v.max()) for v in ad.delta_norms().values())
        if worst > max_delta_norm:
            raise T2LError(f"adapter for '{ad.description[:40]}' has ||delta W|| {worst:.3g} > {max_delta_norm}",
                           "raise --max-delta-norm or rephrase the description")


def _write(ad, path: Path, fmt: str, dtype: str, force: bool) -> int:
    """Write one adapter; its size in bytes. Only the chosen writer is imported: each pulls in
    its own file-format library."""
    if fmt == "gguf":
        from ..formats.gguf_adapter import write_gguf

        write_gguf(ad, path, dtype=dtype, force=force)
        return path.stat().st_size
    from ..formats.peft_writer import write_peft

    write_peft(ad, path, force=force)
    return sum(f.stat().st_size for f in path.iterdir())


def _record(ad, path: Path, fmt: str, size: int, seconds: dict) -> dict:
    """The --json line of one adapter."""
    return {"description": ad.description, "output": str(path), "format": fmt, "bytes": size,
            "base": {"name": ad.base.name, "arch": ad.base.arch, "sha256": ad.base.sha256},
            "rank": ad.rank, "alpha": ad.alpha, "targets": list(ad.targets), "seconds": seconds}
