"""Generative benchmarks: GSM8K by exact match of the final number, HumanEval and MBPP by
pass@1 of greedy code run in the sandbox."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..data.schema import Example, description_prefix
from .sandbox import run_python

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def final_number(text: str) -> str | None:
    """The answer after '####' if present, else the last number in the text; commas dropped,
    a trailing '.0' removed, so '1,000.0' and '1000' compare equal."""
    tail = text.split("####")[-1] if "####" in text else text
    found = NUMBER.findall(tail)
    if not found:
        return None
    n = found[0] if "####" in text else found[-1]
    n = n.replace(",", "")
    if "." in n:
        n = n.rstrip("0").rstrip(".")
    return n


def extract_code(text: str) -> str:
    """The first fenced code block, or the whole text when there is none."""
    m = re.search(r"```(?:python|py)?\n(.*?)(?:```|$)", text, flags=re.S)
    return m.group(1) if m else text


@dataclass
class GenScore:
    id: str
    correct: bool
    output: str
    detail: str = ""


def score_gsm8k(engine, ex: Example, description: str | None = None, max_tokens: int = 256) -> GenScore:
    prefix = description_prefix(description)
    out = engine.generate(prefix + ex.prompt, max_tokens=max_tokens).text
    got = final_number(out)
    return GenScore(ex.id, got is not None and got == final_number(ex.answer), out, got or "")


def humaneval_program(ex: Example, completion: str) -> str:
    body = extract_code(completion)
    # A model may restate the whole function; otherwise the completion continues the prompt.
    code = body if f"def {ex.extra['entry_point']}" in body else ex.prompt + body
    return f"{code}\n\n{ex.extra['test']}\n\ncheck({ex.extra['entry_point']})\n"


def mbpp_program(ex: Example, completion: str) -> str:
    return "\n".join([ex.extra.get("setup", ""), extract_code(completion), *ex.extra["tests"]]) + "\n"


def score_code(engine, bench: str, ex: Example, description: str | None = None, max_tokens: int = 384,
               timeout: float = 10.0) -> GenScore:
    prefix = description_prefix(description)
    if bench == "humaneval":
        prompt = prefix + "Complete this Python function.\n\n" + ex.prompt
    else:
        prompt = prefix + ex.prompt + "\nYour code must pass: " + ex.extra["tests"][0]
    out = engine.generate(prompt, max_tokens=max_tokens).text
    program = humaneval_program(ex, out) if bench == "humaneval" else mbpp_program(ex, out)
    res = run_python(program, timeout=timeout)
    return GenScore(ex.id, res.passed, out, f"{res.status} ({res.isolation})")
