"""Render the chat template stored in a base GGUF (tokenizer.chat_template, Jinja).

Rendering the model's own template (rather than a hard-coded format) keeps prompts identical
to what transformers' apply_chat_template produces, so adapters trained in PyTorch see the
same text at run time. jinja2 ships with llama-cpp-python; the sandbox stops a hostile
template from touching Python objects.
"""

from __future__ import annotations

from functools import lru_cache

from ..core.errors import T2LError


@lru_cache(maxsize=8)
def _compile(template: str):
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise T2LError(f"chat template refused the conversation: {message}", "pass chat=False / --raw")

    # trim_blocks/lstrip_blocks: the settings transformers uses for chat templates.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template)


def render_chat(template: str, messages: list[dict], bos_token: str = "", eos_token: str = "") -> str:
    """The prompt text for `messages`, ending with the assistant turn opener."""
    try:
        return _compile(template).render(
            messages=messages, add_generation_prompt=True, bos_token=bos_token, eos_token=eos_token
        )
    except T2LError:
        raise
    except Exception as exc:  # jinja syntax/undefined errors in a foreign template
        raise T2LError(f"the base model's chat template failed to render ({type(exc).__name__}: {exc})",
                       "pass chat=False / --raw to send the prompt as is") from None
