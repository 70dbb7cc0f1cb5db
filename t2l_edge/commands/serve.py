"""`t2l-edge serve`: the OpenAI-compatible local server with adapters made on the fly."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)


def _bind(host: str, port: int) -> socket.socket:
    """Bind before loading anything, so a taken port is a one-line error, not a traceback."""
    from ..core.errors import T2LError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # connections made while the models load wait instead of being refused
    except OSError as exc:
        sock.close()
        raise T2LError(f"cannot listen on {host}:{port} ({exc.strerror})", "pick another --port, or stop what uses it") from None
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check_bundle_base(generator, engine) -> None:
    """The bundle must be for this base, or every request would fail validation."""
    from ..core.basemodel import file_sha256
    from ..core.errors import T2LError

    want = generator.base.sha256
    if want and want != file_sha256(engine.base_path):
        raise T2LError(f"the bundle was made for base '{generator.base.name}' (sha256 {want[:12]}…), "
                       f"not {engine.base_path.name}", "pass the matching --base, or another --bundle")


@app.command(
    help=(
        "Serve an OpenAI-compatible API (chat and text completions, streamed or not) and a web page, "
        "making a LoRA adapter from a task description on first use. The base model and the generator "
        "load once; requests take turns on the base.\n\n"
        "Example:\n\n"
        "  t2l-edge serve --port 8080\n\n"
        "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' -d "
        "'{\"model\": \"SmolLM2-135M-Instruct.Q4_1\", \"messages\": [{\"role\": \"user\", \"content\": \"Is the sky green?\"}], "
        "\"t2l\": {\"description\": \"Answer yes or no.\"}}'\n\n"
        "Open http://127.0.0.1:8080/ for the page. Ctrl-C stops the server."
    )
)
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="TCP port (0 picks a free one)."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Generator bundle directory (default: the installed one)."),
    base: Optional[Path] = typer.Option(None, "--base", help="Base model GGUF (default: SmolLM2-135M-Instruct Q4_1)."),
    adapters_dir: Optional[Path] = typer.Option(None, "--adapters-dir", help="Folder of pre-made GGUF adapters to serve by file name."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for prompts and generation (default: all cores for prompts; for generation all, half or one, whichever decodes fastest on the first tokens)."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="T2L_EDGE_API_KEY", show_default=False,
                                          help="Require 'Authorization: Bearer KEY' on the API (env T2L_EDGE_API_KEY)."),
    ctx: int = typer.Option(2048, "--ctx", min=64, help="Context length in tokens (prompt plus reply)."),
    cache_mb: float = typer.Option(256.0, "--cache-mb", min=0.0, help="Memory cap for generated adapters kept loaded."),
    max_body_kb: int = typer.Option(1024, "--max-body-kb", min=1, help="Largest request body accepted."),
    max_queue: int = typer.Option(64, "--max-queue", min=1, help="Requests allowed to wait; more get 503."),
    nearest: bool = typer.Option(False, "--nearest", help="POST /v1/adapters also names the 3 pool tasks closest to the "
                                 "description, with a warning when none is close (as make-adapter --nearest; the first "
                                 "start per bundle embeds the pool's descriptions, ~30 s, then cached)."),
) -> None:
    import uvicorn

    from ..engine import Engine
    from ..runtime import Generator
    from ..server import build_app

    sock = _bind(host, port)
    try:
        generator = Generator.load(bundle, threads=threads)
        with Engine(base, n_ctx=ctx, n_threads=threads) as engine:
            _check_bundle_base(generator, engine)
            bank = generator.task_bank(announce=lambda text: typer.echo(text, err=True)) if nearest else None
            web = build_app(engine, generator, adapters_dir, cache_mb=cache_mb, api_key=api_key,
                            max_body=max_body_kb * 1024, max_queue=max_queue, task_bank=bank)
            bound = sock.getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            typer.echo(f"t2l-edge serve: http://{shown}:{bound}/  (model {web.state.ctx.store.base_id}, "
                       f"bundle {generator.manifest.bundle_id}; OpenAI API at /v1; Ctrl-C stops)")
            if not _is_loopback(host) and not api_key:
                typer.echo("warning: listening beyond this machine without --api-key", err=True)
            config = uvicorn.Config(web, log_level="warning", timeout_graceful_shutdown=5, lifespan="on")
            try:
                uvicorn.Server(config).run(sockets=[sock])
            except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, after shutting down
                pass
    finally:
        sock.close()
    typer.echo("t2l-edge serve: stopped")
