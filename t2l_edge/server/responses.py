"""Response bodies in OpenAI's shapes (chat.completion, chat.completion.chunk, text_completion).

The server does not depend on the `openai` package, so these few dicts are written out here;
tests parse every one of them with the official client. Each carries one extra key, "t2l":
which adapters answered, whether they came from the cache, and what they cost. The client
keeps unknown keys (`response.t2l` / `model_extra`), so nothing breaks.
"""

from __future__ import annotations

import time
import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(result: dict) -> dict:
    p, c = result["prompt_tokens"], result["completion_tokens"]
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


class Shape:
    """The fixed parts of one response: id, timestamps, model, chat or text."""

    def __init__(self, chat: bool, model: str, fingerprint: str, include_usage: bool = False):
        self.chat, self.model, self.fingerprint = chat, model, fingerprint
        self.id = new_id("chatcmpl" if chat else "cmpl")
        self.created = int(time.time())
        self.include_usage = include_usage

    def _head(self, obj: str) -> dict:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "system_fingerprint": self.fingerprint}

    def full(self, result: dict, t2l: dict) -> dict:
        if self.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": result["text"]},
                      "finish_reason": result["finish_reason"], "logprobs": None}
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": result["text"], "finish_reason": result["finish_reason"], "logprobs": None}
            obj = "text_completion"
        return {**self._head(obj), "choices": [choice], "usage": usage(result), "t2l": t2l}

    def chunk(self, text: str | None = None, finish_reason: str | None = None, first: bool = False,
              t2l: dict | None = None) -> dict:
        if self.chat:
            delta = {"role": "assistant", "content": ""} if first else ({"content": text} if text is not None else {})
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            body = {**self._head("chat.completion.chunk"), "choices": [choice]}
        else:
            choice = {"index": 0, "text": text or "", "finish_reason": finish_reason, "logprobs": None}
            body = {**self._head("text_completion"), "choices": [choice]}
        if self.include_usage:
            body["usage"] = None  # OpenAI: null on every chunk but the last
        if t2l is not None:
            body["t2l"] = t2l
        return body

    def usage_chunk(self, result: dict) -> dict:
        obj = "chat.completion.chunk" if self.chat else "text_completion"
        return {**self._head(obj), "choices": [], "usage": usage(result)}
