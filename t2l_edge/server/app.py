"""The FastAPI application: OpenAI-compatible completions, adapter management, llama-server's
/lora-adapters, and the web page. Handlers validate and wait; the engine thread does the work.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sse_starlette.sse import EventSourceResponse

from .adapters import AdapterStore
from .completion import completion_job
from .errors import error_body, install_handlers
from .responses import Shape
from .schemas import AdapterCreate, ChatRequest, CompletionRequest, LoraRef
from .worker import Channel, EngineWorker

STATIC = Path(__file__).with_name("static")
# The page loads nothing from anywhere else: no CDN, no inline script.
CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


@dataclass
class ServerState:
    store: AdapterStore
    worker: EngineWorker
    api_key: str | None = None
    max_body: int = 1 << 20
    started: int = field(default_factory=lambda: int(time.time()))

    @property
    def fingerprint(self) -> str:
        return f"t2l-edge-{self.store.bundle_id}"


class Guard:
    """Bearer API key (when set) and a request-body size limit, before any route runs.
    Pure ASGI, so streamed responses pass through untouched."""

    def __init__(self, app, state: ServerState):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        path = scope["path"]
        key = self.state.api_key
        if key and not (path == "/" or path.startswith("/static/") or path == "/health"):
            got = headers.get(b"authorization", b"")
            if not hmac.compare_digest(got, b"Bearer " + key.encode()):
                body = error_body(401, "missing or wrong API key", code="invalid_api_key")
                return await JSONResponse(body, 401, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
        limit = self.state.max_body
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            return await JSONResponse(error_body(400, "bad Content-Length header"), 400)(scope, receive, send)
        if declared > limit:
            return await JSONResponse(error_body(413, f"the body is {declared:,} bytes; the limit is {limit:,}",
                                                 code="body_too_large"), 413)(scope, receive, send)
        seen = 0

        async def counted():  # a chunked body has no Content-Length: count what arrives
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"the body is over the limit of {limit:,} bytes")
            return message

        return await self.app(scope, counted, send)


def _ctx(request: Request) -> ServerState:
    return request.app.state.ctx


async def _first_event(channel: Channel):
    """Wait for the job's "ready" (or its error); if the request is abandoned, cancel the job."""
    try:
        kind, value = await channel.get()
    except asyncio.CancelledError:
        channel.cancelled.set()
        raise
    if kind == "error":
        raise value
    return value


async def _until_done(channel: Channel) -> dict:
    try:
        while True:
            kind, value = await channel.get()
            if kind == "done":
                return value
            if kind == "error":
                raise value
    except asyncio.CancelledError:
        channel.cancelled.set()
        raise


async def _stream(channel: Channel, shape: Shape, t2l: dict):
    """SSE events for one streamed completion; a vanished client cancels the decode."""
    from .errors import as_error

    try:
        if shape.chat:
            yield {"data": json.dumps(shape.chunk(first=True))}
        while True:
            kind, value = await channel.get()
            if kind == "text":
                yield {"data": json.dumps(shape.chunk(value))}
            elif kind == "done":
                yield {"data": json.dumps(shape.chunk(finish_reason=value["finish_reason"], t2l=value["t2l"]))}
                if shape.include_usage:
                    yield {"data": json.dumps(shape.usage_chunk(value))}
                yield {"data": "[DONE]"}
                return
            else:  # an error after the response started: OpenAI sends it as a data event
                yield {"data": json.dumps(as_error(value)[1])}
                return
    finally:
        channel.cancelled.set()  # finished or disconnected: the job stops at its next token


async def _watch(request: Request, channel: Channel, stats: dict) -> None:
    """Until the response starts, notice a client that hangs up (uvicorn does not cancel a
    handler for that): its job is then skipped if still queued, or stops at the next token."""
    while not channel.cancelled.is_set():
        if await request.is_disconnected():
            channel.cancelled.set()
            stats["disconnected"] += 1
            return
        await asyncio.sleep(0.25)


async def _complete(request: Request, req, chat: bool):
    ctx = _ctx(request)
    channel = Channel(asyncio.get_running_loop())
    ctx.worker.submit(completion_job(ctx.store, req, ctx.worker), channel)
    watcher = asyncio.create_task(_watch(request, channel, ctx.worker.stats))
    try:
        t2l = await _first_event(channel)
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        shape = Shape(chat, req.model, ctx.fingerprint, include_usage)
        if req.stream:  # from here sse-starlette watches the connection itself
            return EventSourceResponse(_stream(channel, shape, t2l), sep="\n")
        result = await _until_done(channel)
        return JSONResponse(shape.full(result, result["t2l"]))
    finally:
        watcher.cancel()


def create_app(state: ServerState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app):
        state.worker.start()
        try:
            yield
        finally:
            state.worker.stop()

    app = FastAPI(title="t2l-edge", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.ctx = state
    install_handlers(app)
    app.add_middleware(Guard, state=state)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _routes(app, state)
    return app


def _routes(app: FastAPI, state: ServerState) -> None:
    store, worker = state.store, state.worker

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})

    @app.get("/health")
    async def health():
        return {"status": "ok", "queued": worker.queued, **worker.stats}

    @app.get("/v1/models")
    async def models():
        names = await worker.call(store.models)
        return {"object": "list", "data": [{"id": n, "object": "model", "created": state.started,
                                            "owned_by": "t2l-edge"} for n in names]}

    @app.get("/v1/models/{model}")
    async def model(model: str):
        if model not in await worker.call(store.models):
            return JSONResponse(error_body(404, f"no model named '{model}'", code="model_not_found"), 404)
        return {"id": model, "object": "model", "created": state.started, "owned_by": "t2l-edge"}

    @app.post("/v1/chat/completions")
    async def chat(request: Request, body: ChatRequest):
        return await _complete(request, body, chat=True)

    @app.post("/v1/completions")
    async def completions(request: Request, body: CompletionRequest):
        return await _complete(request, body, chat=False)

    @app.get("/v1/adapters")
    async def list_adapters():
        return await worker.call(store.listing)

    @app.post("/v1/adapters", status_code=201)
    async def add_adapter(body: AdapterCreate):
        return await worker.call(lambda: store.register(body.name, body.description))

    @app.delete("/v1/adapters/{name}")
    async def delete_adapter(name: str):
        await worker.call(lambda: store.delete(name))
        return {"name": name, "deleted": True}

    @app.get("/lora-adapters")
    async def lora_adapters():
        return await worker.call(store.lora_listing)

    @app.post("/lora-adapters")
    async def set_lora_adapters(body: list[LoraRef]):
        await worker.call(lambda: store.set_global_scales(body))
        return {"success": True}
