"""One thread owns the Engine; requests take turns through its queue.

There is one base model in one llama.cpp context, and its active adapters are global state.
If two requests could touch it at once, one could decode with the other's adapters half
switched in. So every operation on the Engine (and on the adapter cache, which holds Engine
handles) is a job run by this single thread, start to finish, in arrival order. Handlers only
validate input and wait.

A job talks back through a Channel: it is called in the worker thread and hands events to
the request's asyncio queue with call_soon_threadsafe. A streaming request can therefore start
its response as soon as the job says "ready" (adapters active, prompt accepted), while errors
found before that still become a plain JSON error with a 4xx status.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any, Callable

from .errors import ApiError

log = logging.getLogger("t2l_edge.server")


class Channel:
    """Events from one job (worker thread) to one request (event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._events: asyncio.Queue = asyncio.Queue()
        self.cancelled = threading.Event()  # the client went away: stop at the next token

    def put(self, kind: str, value: Any = None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._events.put_nowait, (kind, value))
        except RuntimeError:  # the event loop is gone (shutdown): nobody is listening
            self.cancelled.set()

    async def get(self) -> tuple[str, Any]:
        return await self._events.get()


class EngineWorker:
    def __init__(self, max_queue: int = 64):
        self.max_queue = max_queue
        self._jobs: queue.Queue = queue.Queue()
        self._waiting = 0
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # counters for /health: "disconnected" is written by the event loop, the rest by the
        # engine thread only
        self.stats = {"jobs": 0, "cancelled": 0, "cancelled_tokens": 0, "skipped": 0, "disconnected": 0}

    def start(self) -> None:
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, name="t2l-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the running job end at its next token, drop queued ones, join the thread."""
        self.stopping.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def queued(self) -> int:
        return self._waiting

    def submit(self, job: Callable[[Channel], Any], channel: Channel) -> None:
        """Queue `job(channel)`; its return value arrives as ("done", value), an exception as
        ("error", exc). A full queue is refused at once rather than piling up latency."""
        if self.stopping.is_set() or self._thread is None:
            raise ApiError(503, "the server is shutting down", "retry on a running server", code="shutting_down")
        with self._lock:
            if self._waiting >= self.max_queue:
                raise ApiError(503, f"server busy: {self._waiting} requests are queued", "retry in a moment",
                               code="server_busy")
            self._waiting += 1
        self._jobs.put((job, channel))

    async def call(self, job: Callable[[], Any], loop: asyncio.AbstractEventLoop | None = None) -> Any:
        """Run `job()` in the engine thread and return its result (or raise its error)."""
        channel = Channel(loop or asyncio.get_running_loop())
        self.submit(lambda ch: job(), channel)
        kind, value = await channel.get()
        if kind == "error":
            raise value
        return value

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, channel = item
            with self._lock:
                self._waiting -= 1
            if self.stopping.is_set() or channel.cancelled.is_set():
                self.stats["skipped"] += 1
                channel.put("error", ApiError(503, "the request was cancelled before it ran", code="cancelled"))
                continue
            self.stats["jobs"] += 1
            try:
                channel.put("done", job(channel))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to its request
                channel.put("error", exc)
