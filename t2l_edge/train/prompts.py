"""Prompt styles for training: an Example -> (token ids, number of prompt tokens), in the
shapes `t2l-edge eval --style` scores (chat, plain) or half of each (mixed)."""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod

from ..data.schema import Example, cloze_prompt, description_prefix, user_turn


class _Formatter(ABC):
    """Prompt text and answer text -> (token ids, number of prompt tokens); None when the pair is
    longer than max_len. Only the answer tokens are scored.
    `description`: the task description put in the prompt the way evaluation's prompt rows and
    the server's in_prompt put it (description_prefix). The prompt distillation teacher reads
    it; its answer tokens are the same as without it, and max_len does not count it."""

    def __init__(self, tokenizer, max_len: int):
        self.tok, self.max_len = tokenizer, max_len

    @abstractmethod
    def parts(self, ex: Example, prefix: str = "") -> tuple[str, str]:
        """(prompt text, answer text) of one example in this shape, `prefix` opening the input."""

    def __call__(self, ex: Example, description: str | None = None) -> tuple[list[int], int] | None:
        prompt, answer = self.parts(ex, description_prefix(description))
        p_ids = self.tok(prompt, add_special_tokens=False)["input_ids"]
        a_ids = self.tok(answer, add_special_tokens=False)["input_ids"]
        if description is None and len(p_ids) + len(a_ids) > self.max_len:
            return None
        return p_ids + a_ids, len(p_ids)


class ChatFormatter(_Formatter):
    """Prompt in the user turn, answer in the assistant turn, via the tokenizer's chat template.
    The answer's end-of-turn token is scored too."""

    def parts(self, ex: Example, prefix: str = "") -> tuple[str, str]:
        content = prefix + user_turn(ex)
        prompt = self.tok.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False)
        return prompt, ex.answer + (self.tok.eos_token or "")


class PlainFormatter(_Formatter):
    """The plain (cloze) style of `t2l-edge eval --style plain`: "Question: ...\nAnswer:" with
    no chat template and no option list, then " answer". Training in this shape makes the
    adapter raise the likelihood of the right option exactly where the plain style scores it.
    No end token: the cloze ends with the option."""

    def parts(self, ex: Example, prefix: str = "") -> tuple[str, str]:
        return prefix + cloze_prompt(ex), " " + ex.answer


class MixedFormatter:
    """Half the examples in each shape, so one adapter serves both uses: chat generation (the
    product) and the plain cloze scoring (the primary benchmark format). The shape is a fixed
    function of the example id (crc32 parity), not a random draw: batches stay a pure function
    of the step, and a resumed run sees the same prompts."""

    def __init__(self, tokenizer, max_len: int):
        self.shapes = (ChatFormatter(tokenizer, max_len), PlainFormatter(tokenizer, max_len))

    def __call__(self, ex: Example, description: str | None = None) -> tuple[list[int], int] | None:
        return self.shapes[zlib.crc32(ex.id.encode()) & 1](ex, description)


FORMATTERS = {"chat": ChatFormatter, "plain": PlainFormatter, "mixed": MixedFormatter}
