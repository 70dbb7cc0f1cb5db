"""The same multiple-choice scoring in PyTorch, to check llama.cpp against: a stand-in for the
Engine that keeps llama.cpp's tokenizer and chat template (so both see identical token ids)
and computes the log-likelihoods with the transformers model dequantised from the same GGUF.
Any disagreement is then numerics (Q4_1 kernels, f16 KV cache), not prompts or tokens.
Training-side code: imports torch, never used by the runtime.
"""

from __future__ import annotations

from typing import Sequence


class TorchScorer:
    def __init__(self, engine, model):
        self.engine, self.model = engine, model

    def tokenize(self, *args, **kwargs) -> list[int]:
        return self.engine.tokenize(*args, **kwargs)

    def format_chat(self, *args, **kwargs) -> str:
        return self.engine.format_chat(*args, **kwargs)

    def score_tokens(self, context: Sequence[int], continuations: Sequence[Sequence[int]]) -> list[float]:
        import torch

        n, out = len(context), []
        with torch.no_grad():
            for cont in continuations:
                ids = torch.tensor([list(context) + list(cont)])
                logp = torch.log_softmax(self.model(ids).logits[0, n - 1:-1].double(), -1)
                out.append(float(logp[torch.arange(len(cont)), torch.tensor(list(cont))].sum()))
        return out
