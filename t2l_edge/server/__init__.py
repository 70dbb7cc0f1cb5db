"""`t2l-edge serve`: an OpenAI-compatible local server that makes adapters on the fly.

    app = build_app(Engine(...), Generator.load(...), adapters_dir=None)
    uvicorn.run(app, host="127.0.0.1", port=8080)

Modules: schemas (request bodies), adapters (the cache, names, files, lora ids), worker (the
one thread that owns the Engine), completion (one request inside that thread), responses
(OpenAI shapes), app (routes and the auth/body-size guard), static/ (the web page).
Like the runtime, nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path


def build_app(engine, generator, adapters_dir: Path | None = None, cache_mb: float = 256.0,
              api_key: str | None = None, max_body: int = 1 << 20, max_queue: int = 64, task_bank=None):
    """The ASGI app serving `engine` (base model) with adapters from `generator` (bundle).
    With a `task_bank` (runtime/task_bank.py), POST /v1/adapters also names the closest pool tasks."""
    from .adapters import AdapterStore
    from .app import ServerState, create_app
    from .worker import EngineWorker

    store = AdapterStore(engine, generator, adapters_dir, cap_bytes=int(cache_mb * (1 << 20)),
                         task_bank=task_bank)
    state = ServerState(store=store, worker=EngineWorker(max_queue), api_key=api_key or None, max_body=max_body)
    return create_app(state)
