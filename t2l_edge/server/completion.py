"""One completion, run start to finish in the engine thread.

Order inside the job, so a request never sees a half-switched state:
  1. resolve every adapter the request names (errors here are a 4xx before any output);
  2. make the exact set active (AdapterStore.activate: one llama_set_adapters_lora call with
     every scale, which also empties the KV cache, so each request starts from the same state
     and its answer cannot depend on what ran before);
  3. tokenize and check the context; then say "ready" and decode, streaming text pieces.
"""

from __future__ import annotations

import secrets
import time

from ..data.schema import description_prefix
from .adapters import AdapterStore, Ref, clean_description
from .errors import ApiError
from .schemas import ChatRequest, CompletionRequest

DEFAULT_CHAT_MAX_TOKENS = 512  # OpenAI's chat default is "until the context is full"; a CPU server needs a bound
DEFAULT_COMPLETION_MAX_TOKENS = 16  # OpenAI's documented default for /v1/completions


class StopText:
    """OpenAI stop sequences over streamed text: output ends before the first stop sequence,
    and text that could still be the start of one is held back until it is decided."""

    def __init__(self, stops: list[str], emit):
        self.stops, self.emit = stops, emit
        self.buf, self.hit, self.parts = "", False, []

    def _out(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.emit(text)

    def feed(self, piece: str) -> None:
        if self.hit:
            return
        if not self.stops:
            self._out(piece)
            return
        self.buf += piece
        found = [i for i in (self.buf.find(s) for s in self.stops) if i >= 0]
        if found:
            self._out(self.buf[:min(found)])
            self.buf, self.hit = "", True
            return
        hold = max((k for s in self.stops for k in range(1, len(s)) if self.buf.endswith(s[:k])), default=0)
        self._out(self.buf[:len(self.buf) - hold])
        self.buf = self.buf[len(self.buf) - hold:]

    def flush(self) -> None:
        if not self.hit:
            self._out(self.buf)
        self.buf = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)


def build_plan(store: AdapterStore, req) -> list[tuple[Ref, float]]:
    """The request's adapters and scales: `model` (an adapter name selects it at scale 1), the
    "t2l" field, and llama-server's "lora" ids. A request that names none gets the global
    scales POST /lora-adapters set (all 0 until then)."""
    plan = []
    if req.model != store.base_id:
        plan.append((store.resolve_name(req.model), 1.0))
    for ref in req.t2l_list():
        if ref.description is not None:
            plan.append((Ref("description", clean_description(ref.description)), ref.scale))
        else:
            plan.append((store.resolve_name(ref.adapter), ref.scale))
    for ref in req.lora or []:
        plan.append((store.resolve_id(ref.id), ref.scale))
    if not plan and req.t2l is None and req.lora is None:
        plan = [(store.resolve_id(i), s) for i, s in sorted(store.global_scales.items()) if s > 0.0]
    return plan


def _prompt(engine, req, prefix: str = "") -> list[int]:
    """The request's prompt tokens; `prefix` goes in front of the last user message (or the prompt)."""
    if isinstance(req, ChatRequest):
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in req.messages]
        if prefix:
            last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
            if last is None:
                raise ApiError(400, "'in_prompt' needs a user message to put the description in front of",
                               "add a user message", param="t2l.in_prompt")
            messages[last] = {**messages[last], "content": prefix + messages[last]["content"]}
        return engine.prompt_tokens(engine.format_messages(messages), chat=True)
    return engine.prompt_tokens(prefix + req.prompt, chat=False)


def in_prompt_prefix(req) -> str:
    """The descriptions the request asks to see in the prompt, in request order."""
    return "".join(description_prefix(clean_description(r.description)) for r in req.t2l_list() if r.in_prompt)


def _max_tokens(req) -> int:
    if isinstance(req, ChatRequest):
        return req.max_completion_tokens or req.max_tokens or DEFAULT_CHAT_MAX_TOKENS
    return req.max_tokens or DEFAULT_COMPLETION_MAX_TOKENS


def completion_job(store: AdapterStore, req: ChatRequest | CompletionRequest, worker):
    """The job for EngineWorker.submit. Events: ("ready", t2l info), ("text", piece)...,
    then the worker's ("done", result)."""
    stopping = worker.stopping

    def job(channel):
        engine = store.engine
        t2l = store.activate(build_plan(store, req))
        prefix = in_prompt_prefix(req)
        tokens = _prompt(engine, req, prefix)
        if prefix:  # the cost of the description in the prompt: extra tokens every request prefills
            t2l["in_prompt_tokens"] = len(tokens) - len(_prompt(engine, req))
        if len(tokens) >= engine.n_ctx:
            raise ApiError(400, f"the prompt is {len(tokens):,} tokens; the context holds {engine.n_ctx:,} "
                           "including the reply", "shorten the prompt or start the server with a larger --ctx",
                           code="context_length_exceeded", param="messages" if isinstance(req, ChatRequest) else "prompt")
        t2l["bundle_id"] = store.bundle_id
        channel.put("ready", t2l)
        stop = StopText(req.stop_list(), lambda s: channel.put("text", s))
        seed = req.seed if req.seed is not None else secrets.randbits(31)  # OpenAI: unseeded differs each call

        def should_stop() -> bool:
            return stop.hit or channel.cancelled.is_set() or stopping.is_set()

        t0 = time.perf_counter()
        res = engine.generate_tokens(tokens, _max_tokens(req), req.temperature, stop.feed, seed, should_stop)
        wall_ms = (time.perf_counter() - t0) * 1000.0
        stop.flush()
        if res.stop_reason == "stopped" and not stop.hit:  # the client left (or the server is stopping)
            worker.stats["cancelled"] += 1
            worker.stats["cancelled_tokens"] += res.n_gen_tokens
        prefill_ms = res.n_prompt_tokens / res.prompt_tokens_per_s * 1000.0 if res.prompt_tokens_per_s else 0.0
        t2l["timings"].update(prefill_ms=prefill_ms, decode_ms=wall_ms - prefill_ms, tokens_per_s=res.tokens_per_s,
                              prompt_tokens_per_s=res.prompt_tokens_per_s)
        # OpenAI: "stop" for a natural end or a stop sequence, "length" for the token limit
        # (max_tokens, or a context that filled up).
        finish = "stop" if res.stop_reason == "eos" or stop.hit else "length"
        return {"text": stop.text, "finish_reason": finish, "prompt_tokens": res.n_prompt_tokens,
                "completion_tokens": res.n_gen_tokens, "t2l": t2l}

    return job
