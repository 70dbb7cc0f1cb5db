"""`t2l-edge chat`: make an adapter from a description in memory and talk to it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


def _make_adapter(description: str, bundle: Optional[Path]):
    """(Generator.load(bundle), its adapter for description, ms), imported lazily (onnxruntime is not free)."""
    from ..core.errors import T2LError

    try:
        from ..runtime.bundle import default_bundle_path
        from ..runtime import Generator
    except ImportError as exc:
        raise T2LError(f"the adapter generator is not available ({exc})", "reinstall t2l-edge") from None
    t0 = time.perf_counter()
    gen = Generator.load(bundle or default_bundle_path())
    adapter = gen.make(description)
    return gen, adapter, (time.perf_counter() - t0) * 1000.0


def _nearest(gen, description: str) -> list[dict]:
    """The 3 pool tasks closest to the description; the far-from-all warning goes to stderr."""
    from ..runtime.task_bank import far_warning

    near = gen.task_bank(announce=lambda text: typer.echo(text, err=True)).nearest(gen.embed([description]), k=3)[0]
    if warning := far_warning(description, near):
        typer.echo(f"warning: {warning}", err=True)
    return near


def _chat_tokens(engine, text: str) -> list[int]:
    return engine.prompt_tokens(engine.format_chat(text), chat=True)


def _show_compare(console, prompt: str, base_text: str, adapted_text: str, description: str, in_prompt: bool) -> None:
    from rich.columns import Columns
    from rich.panel import Panel

    console.print(f"[bold]prompt:[/bold] {prompt}")
    console.print(Columns([
        Panel(base_text.strip() or "(empty)", title="base", expand=True),
        Panel(adapted_text.strip() or "(empty)", title=f"adapted{' + in prompt' if in_prompt else ''}: {description[:40]}", expand=True),
    ], equal=True, expand=True))


class _Session:
    """One adapter resident in one engine; answers with it, or with the plain base."""

    def __init__(self, engine, loaded, scale: float, max_tokens: int, prefix: str):
        self.engine, self.loaded, self.scale, self.max_tokens, self.prefix = engine, loaded, scale, max_tokens, prefix

    def answer(self, text: str, adapted: bool, stream: bool):
        if adapted:
            self.engine.use(self.loaded, scale=self.scale)  # already resident: a swap, not a reload
            text = self.prefix + text
        else:
            self.engine.clear()
        sink = (lambda s: (sys.stdout.write(s), sys.stdout.flush())) if stream else None
        return self.engine.generate(text, max_tokens=self.max_tokens, on_token=sink)

    def prompt_cost(self, text: str) -> int:
        """Extra prompt tokens the description costs this prompt (0 without --desc-in-prompt)."""
        if not self.prefix:
            return 0
        return len(_chat_tokens(self.engine, self.prefix + text)) - len(_chat_tokens(self.engine, text))


def _json_answer(session: _Session, description: str, prompt: str, compare: bool, make_ms: float, near) -> dict:
    result = session.answer(prompt, True, False)
    out = {"description": description, "prompt": prompt, "answer": result.text,
           "tokens_per_s": result.tokens_per_s, "make_adapter_ms": make_ms,
           "desc_in_prompt": bool(session.prefix), "in_prompt_tokens": session.prompt_cost(prompt),
           "adapter": session.loaded.report.to_dict()}
    if compare:
        out["base_answer"] = session.answer(prompt, False, False).text
    if near:
        out["nearest"] = near
    return out


def _typed_prompts(console):
    """Prompts typed at the console until an empty line, /quit, /exit or Ctrl-D."""
    while True:
        try:
            text = console.input("[bold cyan]you>[/bold cyan] ").strip()
        except EOFError:
            return
        if not text or text in ("/quit", "/exit"):
            return
        yield text


def _reply(console, session: _Session, text: str, compare: bool, description: str) -> None:
    if compare:
        with console.status("thinking…"):
            base_res = session.answer(text, False, False)
            ad_res = session.answer(text, True, False)
        _show_compare(console, text, base_res.text, ad_res.text, description, bool(session.prefix))
    else:
        res = session.answer(text, True, True)
        console.print(f"\n[dim]{res.n_gen_tokens} tokens, {res.tokens_per_s:.1f} tok/s[/dim]")


@app.command(
    help=(
        "Turn DESCRIPTION into a LoRA adapter in memory (no file written), apply it, and answer "
        "--prompt, or chat interactively when no prompt is given (empty line or Ctrl-D quits).\n\n"
        "Example:\n\n"
        "  t2l-edge chat \"Answer grade-school science questions with the letter of the right option.\" "
        "--prompt \"Which gas do plants absorb? A) oxygen B) carbon dioxide\" --compare\n\n"
        "--compare shows the plain base answer next to the adapted one. --desc-in-prompt also puts the "
        "description in front of each prompt the adapted model sees (the base keeps the plain prompt); "
        "in the steering check (docs/steer-check.md) adapter and prompt together matched 27% of "
        "answers exactly, against 6% and 2% for either alone, at the cost of the description's tokens "
        "in every prompt (printed)."
    )
)
def chat(
    description: str = typer.Argument(..., help="One sentence describing the task."),
    prompt: Optional[str] = typer.Option(None, "--prompt", "-p", help="Answer this and exit (default: interactive)."),
    compare: bool = typer.Option(False, "--compare", help="Also answer with the plain base, side by side."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Generator bundle directory (default: the installed one)."),
    base: Optional[Path] = typer.Option(None, "--base", help="Base model GGUF (default: SmolLM2-135M-Instruct Q4_1)."),
    scale: float = typer.Option(1.0, "--scale", help="Adapter strength."),
    max_tokens: int = typer.Option(128, "--max-tokens", "-n", min=1, help="Stop after this many new tokens."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for prompts and generation (default: all cores for prompts; for generation all, half or one, whichever decodes fastest on the first tokens)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (needs --prompt)."),
    desc_in_prompt: bool = typer.Option(False, "--desc-in-prompt", help="Also put the description in front of the adapted model's prompts."),
    nearest: bool = typer.Option(False, "--nearest", help="Also name the 3 pool tasks closest to the description, as make-adapter "
                                 "--nearest does (the first use per bundle takes ~30 s, then cached)."),
) -> None:
    from ..data.schema import description_prefix
    from ..engine import Engine
    from ..core.errors import T2LError

    if as_json and prompt is None:
        raise T2LError("--json needs --prompt", "add --prompt \"...\" or drop --json for interactive chat")
    gen, adapter, make_ms = _make_adapter(description, bundle)
    near = _nearest(gen, description) if nearest else None
    with Engine(base, n_threads=threads) as engine:
        loaded = engine.use(adapter, scale=scale)  # validated against this base before llama.cpp sees it
        prefix = description_prefix(adapter.description) if desc_in_prompt else ""
        session = _Session(engine, loaded, scale, max_tokens, prefix)
        if as_json:
            typer.echo(json.dumps(_json_answer(session, description, prompt, compare, make_ms, near), indent=2))
            return

        from rich.console import Console

        console = Console()
        console.print(f"[dim]adapter made in {make_ms:.0f} ms: rank {adapter.rank}, targets {', '.join(adapter.targets)}"
                      + (f"; the description adds {session.prompt_cost('')} prompt tokens to each turn" if prefix else "") + "[/dim]")
        if near:
            from ..runtime.task_bank import nearest_line

            console.print(f"[dim]{nearest_line(near)}[/dim]")
        # --prompt: answer it once and exit; otherwise a conversation, one typed prompt at a time
        for text in [prompt] if prompt is not None else _typed_prompts(console):
            _reply(console, session, text, compare, description)
