"""A tiny llama-architecture base model built in code, plus a numpy reference forward pass.

The GGUF is written the way llama.cpp's converter writes a real one: q/k rows permuted for its
rope layout (arch.permute_rows). The reference forward works in HF order (rotate-half RoPE on
un-permuted q/k), exactly like transformers. If llama.cpp with a GGUF LoRA matches this
reference with the LoRA merged in HF order, the adapter writer's Q/K handling is right.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from t2l_edge.core.arch import gguf_tensor_name, permute_rows

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]


def _vocab() -> tuple[list[str], list[float], list[int]]:
    """A minimal SentencePiece-style vocab: specials, 256 byte-fallback tokens, single chars
    and a few merges, so llama.cpp's SPM tokenizer works on any text."""
    T = gguf.TokenType
    tokens = list(SPECIALS)
    types = [T.UNKNOWN, T.CONTROL, T.CONTROL, T.CONTROL, T.CONTROL]
    tokens += [f"<0x{i:02X}>" for i in range(256)]
    types += [T.BYTE] * 256
    pieces = ["\u2581"] + [c for c in string.printable if c not in " \t\n\r\x0b\x0c"]
    pieces += ["\u2581t", "he", "\u2581the", "\u2581a", "in", "er", "an", "\u2581is"]
    tokens += pieces
    types += [T.NORMAL] * len(pieces)
    # SPM merges the highest-scoring pair first: longer pieces score higher.
    scores = [0.0] * (len(SPECIALS) + 256) + [float(len(p)) - 10.0 for p in pieces]
    return tokens, scores, [int(t) for t in types]


@dataclass
class TinyLlama:
    n_layer: int = 2
    hidden: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    ffn: int = 128
    rope_base: float = 10000.0
    eps: float = 1e-5
    seed: int = 0
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # HF order, float32

    def __post_init__(self):
        self.tokens, self.scores, self.types = _vocab()
        self.vocab = len(self.tokens)
        self.head_dim = self.hidden // self.n_head
        if not self.weights:
            self._init_weights()

    def _init_weights(self):
        rng = np.random.default_rng(self.seed)

        def mat(out, fin):
            return (rng.standard_normal((out, fin)) / np.sqrt(fin)).astype(np.float32)

        def norm():
            return (1.0 + 0.1 * rng.standard_normal(self.hidden)).astype(np.float32)

        q_out, kv_out = self.n_head * self.head_dim, self.n_head_kv * self.head_dim
        w = {"token_embd": rng.standard_normal((self.vocab, self.hidden)).astype(np.float32), "output_norm": norm(),
             "output": mat(self.vocab, self.hidden)}
        for i in range(self.n_layer):
            w |= {f"{i}.attn_norm": norm(), f"{i}.ffn_norm": norm(),
                  f"{i}.q_proj": mat(q_out, self.hidden), f"{i}.k_proj": mat(kv_out, self.hidden),
                  f"{i}.v_proj": mat(kv_out, self.hidden), f"{i}.o_proj": mat(self.hidden, q_out),
                  f"{i}.gate_proj": mat(self.ffn, self.hidden), f"{i}.up_proj": mat(self.ffn, self.hidden),
                  f"{i}.down_proj": mat(self.hidden, self.ffn)}
        self.weights = w

    # ---- GGUF -------------------------------------------------------------------------
    def write(self, path: str | Path) -> Path:
        names = gguf.TENSOR_NAMES
        M = gguf.MODEL_TENSOR
        w = gguf.GGUFWriter(str(path), arch="llama")
        w.add_name("tinyllama-test")
        w.add_context_length(512)
        w.add_embedding_length(self.hidden)
        w.add_block_count(self.n_layer)
        w.add_feed_forward_length(self.ffn)
        w.add_head_count(self.n_head)
        w.add_head_count_kv(self.n_head_kv)
        w.add_layer_norm_rms_eps(self.eps)
        w.add_rope_dimension_count(self.head_dim)
        w.add_rope_freq_base(self.rope_base)
        w.add_vocab_size(self.vocab)
        w.add_file_type(gguf.LlamaFileType.ALL_F32)
        w.add_tokenizer_model("llama")
        w.add_token_list(self.tokens)
        w.add_token_scores(self.scores)
        w.add_token_types(self.types)
        w.add_unk_token_id(0)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_eot_token_id(SPECIALS.index("<|im_end|>"))
        w.add_add_bos_token(True)
        w.add_add_eos_token(False)
        w.add_chat_template(CHATML)
        W = self.weights
        w.add_tensor(names[M.TOKEN_EMBD] + ".weight", W["token_embd"])
        for i in range(self.n_layer):
            w.add_tensor(names[M.ATTN_NORM].format(bid=i) + ".weight", W[f"{i}.attn_norm"])
            w.add_tensor(names[M.FFN_NORM].format(bid=i) + ".weight", W[f"{i}.ffn_norm"])
            for module in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
                m = W[f"{i}.{module}"]
                if module == "q_proj":  # what convert_hf_to_gguf.py does for llama
                    m = permute_rows(m, self.n_head)
                elif module == "k_proj":
                    m = permute_rows(m, self.n_head_kv)
                w.add_tensor(gguf_tensor_name(module, i), np.ascontiguousarray(m))
        w.add_tensor(names[M.OUTPUT_NORM] + ".weight", W["output_norm"])
        w.add_tensor(names[M.OUTPUT] + ".weight", W["output"])
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return Path(path)

    # ---- numpy reference (HF order, float64) ---------------------------------------------
    def _rms(self, x, weight):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * weight

    def _rope(self, x, pos):
        """transformers' rotate-half RoPE; x [T, heads, head_dim]."""
        half = self.head_dim // 2
        inv = 1.0 / self.rope_base ** (np.arange(0, self.head_dim, 2, dtype=np.float64) / self.head_dim)
        ang = pos[:, None] * inv[None, :]
        cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
        sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
        rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos + rot * sin

    def forward(self, tokens, deltas: dict[tuple[str, int], np.ndarray] | None = None) -> np.ndarray:
        """Logits [T, vocab]; `deltas[(module, layer)]` is a delta_W [out, in] merged in HF order."""
        deltas = deltas or {}
        W = {k: v.astype(np.float64) for k, v in self.weights.items()}

        def proj(module, i, x):
            m = W[f"{i}.{module}"]
            if (module, i) in deltas:
                m = m + deltas[(module, i)]
            return x @ m.T

        tokens = np.asarray(tokens)
        T, hd = len(tokens), self.head_dim
        pos = np.arange(T, dtype=np.float64)
        mask = np.triu(np.full((T, T), -np.inf), 1)
        group = self.n_head // self.n_head_kv
        x = W["token_embd"][tokens]
        for i in range(self.n_layer):
            h = self._rms(x, W[f"{i}.attn_norm"])
            q = self._rope(proj("q_proj", i, h).reshape(T, self.n_head, hd), pos)
            k = self._rope(proj("k_proj", i, h).reshape(T, self.n_head_kv, hd), pos)
            v = proj("v_proj", i, h).reshape(T, self.n_head_kv, hd)
            k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)  # GQA: kv head j serves q heads j*g..
            att = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            o = np.einsum("hts,shd->thd", att, v).reshape(T, -1)
            x = x + proj("o_proj", i, o)
            h = self._rms(x, W[f"{i}.ffn_norm"])
            g = proj("gate_proj", i, h)
            x = x + proj("down_proj", i, (g / (1.0 + np.exp(-g))) * proj("up_proj", i, h))
        return self._rms(x, W["output_norm"]) @ W["output"].T


def random_adapter(spec, modules=("q_proj", "v_proj"), rank=4, seed=1, b_scale=0.3, description="test adapter"):
    """A t2l_edge Adapter with random A and nonzero B (HF order) for the given base spec."""
    from t2l_edge.core.adapter import Adapter

    rng = np.random.default_rng(seed)
    A, B = {}, {}
    for m in modules:
        fin, fout = spec.shape(m)
        A[m] = (rng.standard_normal((spec.n_layer, rank, fin)) / np.sqrt(fin)).astype(np.float32)
        B[m] = (b_scale * rng.standard_normal((spec.n_layer, fout, rank))).astype(np.float32)
    return Adapter(description=description, base=spec, rank=rank, alpha=float(rank), use_rslora=False,
                   A=A, B=B, generator="tests")


def adapter_deltas(adapter, scale: float = 1.0) -> dict[tuple[str, int], np.ndarray]:
    """(module, layer) -> scale * delta_W in HF order, float64."""
    return {(m, i): scale * adapter.delta(m, i).astype(np.float64)
            for m in adapter.targets for i in range(adapter.base.n_layer)}


def without_qk_permutation(adapter):
    """A copy whose GGUF will hold lora_B of q/k in HF row order, i.e. the silent bug of
    forgetting llama.cpp's permutation: B is pre-un-permuted so the writer's permute cancels."""
    import dataclasses

    from t2l_edge.core.arch import qk_heads, unpermute_rows

    B = {}
    for m, b in adapter.B.items():
        heads = qk_heads(m, adapter.base.n_head, adapter.base.n_head_kv)
        B[m] = b if heads is None else np.stack([unpermute_rows(x, heads) for x in b])
    return dataclasses.replace(adapter, B=B, description=adapter.description + " (unpermuted)")
