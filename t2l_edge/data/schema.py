"""One schema for every task and benchmark item."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Example:
    """A training or benchmark item.

    Multiple choice: `options` and `answer_index` are set and `answer` is the right option's
    text. Generation: `answer` is the target and `options` is empty.
    """

    prompt: str
    answer: str
    options: list[str] = field(default_factory=list)
    answer_index: int = -1
    id: str = ""
    extra: dict = field(default_factory=dict)  # e.g. tests for code benchmarks

    @property
    def is_mc(self) -> bool:
        return bool(self.options)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: v for k, v in d.items() if v not in ([], {}, -1, "") or k in ("prompt", "answer")}

    @classmethod
    def from_dict(cls, d: dict) -> "Example":
        return cls(**d)


def user_turn(ex: Example) -> str:
    """The user message for an item, in training and in chat-style evaluation alike. Multiple
    choice lists its options, so the answer has a choice space."""
    if ex.options:
        return ex.prompt + "\nOptions: " + " | ".join(ex.options)
    return ex.prompt


def cloze_prompt(ex: Example) -> str:
    """The plain (cloze) prompt: the question alone, the answer follows after a space. The
    options are not listed; in evaluation each one is scored as the continuation."""
    return f"Question: {ex.prompt}\nAnswer:"


def description_prefix(description: str | None) -> str:
    """The task description in the prompt (the in-prompt baseline): it goes in front, then a
    blank line; nothing when there is no description."""
    return f"{description}\n\n" if description else ""
