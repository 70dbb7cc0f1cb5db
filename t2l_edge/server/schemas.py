"""Request bodies the server accepts, as pydantic models.

The OpenAI fields are the ones the official client sends for chat and text completions. A
field this server cannot honour (top_p, n > 1, penalties, logprobs) is refused with a 400
instead of being silently ignored, and any field nobody declared is refused too
(extra="forbid"), so a typo such as "max_token" is an error, not a default.
"""

from __future__ import annotations

import math
import re
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_SCALE = 4.0  # beyond this a generated LoRA only breaks the model; llama-server has no cap
MAX_BLEND = 8  # adapters active in one request
MAX_STOP = 4  # OpenAI's limit on stop sequences
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def check_scale(value: float) -> float:
    if not math.isfinite(value) or not 0.0 <= value <= MAX_SCALE:
        raise ValueError(f"scale must be between 0 and {MAX_SCALE:g}, got {value!r}")
    return value


class T2LRef(Strict):
    """One adapter of a request: made from `description`, or a registered name / a file in
    --adapters-dir given as `adapter`. The request field "t2l" takes one or a list (a blend)."""

    description: Optional[str] = None
    adapter: Optional[str] = None
    scale: float = 1.0
    # Also put the description in front of the last user message (or the prompt), as the
    # evaluation's "own+prompt" rows do; the response's t2l.in_prompt_tokens says what it cost.
    in_prompt: bool = False

    @field_validator("scale")
    @classmethod
    def _scale(cls, v):
        return check_scale(v)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.description is None) == (self.adapter is None):
            raise ValueError("give exactly one of 'description' or 'adapter'")
        if self.in_prompt and self.description is None:
            raise ValueError("'in_prompt' needs a 'description' (a named adapter has no text to put in the prompt)")
        return self


class LoraRef(Strict):
    """llama-server's adapter reference: {"id": N, "scale": S}."""

    id: int
    scale: float

    @field_validator("scale")
    @classmethod
    def _scale(cls, v):
        return check_scale(v)


class TextPart(Strict):
    type: Literal["text"]
    text: str


class Message(Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: Union[str, list[TextPart]]
    name: Optional[str] = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class StreamOptions(Strict):
    include_usage: bool = False


class _Common(Strict):
    model: str
    max_tokens: Optional[int] = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)  # OpenAI's default and range
    top_p: float = 1.0
    n: int = 1
    stop: Union[str, list[str], None] = None
    stream: bool = False
    stream_options: Optional[StreamOptions] = None
    seed: Optional[int] = None
    user: Optional[str] = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logprobs: Optional[bool] = None
    t2l: Union[T2LRef, list[T2LRef], None] = None
    lora: Optional[list[LoraRef]] = None

    @model_validator(mode="after")
    def _supported(self):
        unsupported = [("top_p", self.top_p != 1.0, "use temperature"), ("n", self.n != 1, "send n requests"),
                       ("presence_penalty", self.presence_penalty != 0.0, "leave it at 0"),
                       ("frequency_penalty", self.frequency_penalty != 0.0, "leave it at 0"),
                       ("logprobs", bool(self.logprobs), "leave it unset")]
        for name, bad, hint in unsupported:
            if bad:
                raise ValueError(f"'{name}' other than its default is not supported by this server ({hint})")
        if len(self.stop_list()) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop sequences")
        if len(self.t2l_list()) + len(self.lora or []) > MAX_BLEND:
            raise ValueError(f"at most {MAX_BLEND} adapters in one request")
        return self

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [s for s in ([self.stop] if isinstance(self.stop, str) else self.stop) if s]

    def t2l_list(self) -> list[T2LRef]:
        if self.t2l is None:
            return []
        return [self.t2l] if isinstance(self.t2l, T2LRef) else list(self.t2l)


class ChatRequest(_Common):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: Optional[int] = Field(None, ge=1)


class CompletionRequest(_Common):
    prompt: Union[str, list[str]]

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, v):
        if isinstance(v, list):
            if len(v) != 1:
                raise ValueError("send one prompt per request (a list of exactly one string)")
            return v[0]
        return v


class AdapterCreate(Strict):
    name: str
    description: str

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not NAME_RE.match(v) or v.endswith(".gguf"):
            raise ValueError("name must be 1-64 letters, digits, '.', '_' or '-', not ending in .gguf")
        return v
