"""`t2l-edge generate`: answer a prompt with a base model plus an adapter in llama.cpp."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


@app.command(
    help=(
        "Answer PROMPT with the base model plus a LoRA adapter, streaming tokens as they come "
        "and reporting tokens/s. The prompt is wrapped in the base model's chat template.\n\n"
        "Example:\n\n"
        "  t2l-edge generate --adapter sci.gguf --prompt \"Which gas do plants absorb? A) oxygen B) carbon dioxide\"\n\n"
        "  t2l-edge generate --adapter sci.gguf --scale 0.5 --max-tokens 64 --prompt \"...\" --json"
    )
)
def generate(
    prompt: str = typer.Option(..., "--prompt", "-p", help="What to ask."),
    adapter: Optional[Path] = typer.Option(None, "--adapter", "-a", help="GGUF LoRA adapter (omit for the plain base)."),
    scale: float = typer.Option(1.0, "--scale", help="Adapter strength: 0 is the base, 1 as trained."),
    base: Optional[Path] = typer.Option(None, "--base", help="Base model GGUF (default: SmolLM2-135M-Instruct Q4_1)."),
    max_tokens: int = typer.Option(128, "--max-tokens", "-n", min=1, help="Stop after this many new tokens."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0 = greedy (deterministic)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed when --temperature > 0."),
    raw: bool = typer.Option(False, "--raw", help="Send the prompt as is, without the chat template."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for prompts and generation (default: all cores for prompts; for generation all, half or one, whichever decodes fastest on the first tokens)."),
    allow_base_mismatch: bool = typer.Option(False, "--allow-base-mismatch", help="Accept an adapter made for another base file."),
    merge: bool = typer.Option(False, "--merge", help="Bake the adapter into a temporary copy of the base first (~3 s): "
                               "base speed for long generations (see `t2l-edge merge`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object at the end instead of streaming."),
) -> None:
    import contextlib

    from ..core.basemodel import resolve_base
    from ..core.errors import T2LError
    from ..engine import Engine

    if merge and adapter is None:
        raise T2LError("--merge needs an --adapter to bake in", "add --adapter A.gguf, or drop --merge")
    base_path = resolve_base(base)
    with contextlib.ExitStack() as stack:
        model, report = base_path, None
        if merge:
            model, report = _merged_scratch(stack, adapter, base_path, scale, allow_base_mismatch)
        engine = stack.enter_context(Engine(model, n_threads=threads, seed=seed))
        if adapter is not None and not merge:
            report = engine.use(adapter, scale=scale, allow_base_mismatch=allow_base_mismatch).report
        if report is not None and not as_json:
            for w in report.warnings:
                typer.echo(f"warning: {w}", err=True)

        def stream(piece: str) -> None:
            sys.stdout.write(piece)
            sys.stdout.flush()

        result = engine.generate(prompt, max_tokens=max_tokens, chat=not raw, temperature=temperature,
                                 on_token=None if as_json else stream)
    if as_json:
        out = {**result.__dict__, "prompt": prompt, "base": str(base_path),
               "scale": scale, "merged": merge, "adapter": report.to_dict() if report else None}
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo("")
    typer.echo(f"[{result.n_prompt_tokens} prompt tokens at {result.prompt_tokens_per_s:.0f} tok/s, "
               f"{result.n_gen_tokens} generated at {result.tokens_per_s:.1f} tok/s, stop: {result.stop_reason}]", err=True)


def _merged_scratch(stack, adapter: Path, base_path: Path, scale: float, allow_base_mismatch: bool):
    """(merged model path in a temporary folder that `stack` removes, the adapter's report)."""
    import tempfile

    from ..engine.engine import scratch_dir
    from ..formats.merge import merge_adapter_file

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="t2l-merged-", dir=scratch_dir())))
    return merge_adapter_file(adapter, base_path, folder / "merged.gguf", scale=scale,
                              allow_base_mismatch=allow_base_mismatch)
