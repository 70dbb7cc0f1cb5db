"""Engine: one base model loaded once in llama.cpp, adapters swapped on top of it.

This is the API desktop apps embed and evaluation scores through. It talks to llama.cpp
through llama-cpp-python's low-level bindings rather than the `Llama` class because:
  - `Llama(lora_path=...)` takes one adapter, disables mmap and cannot hot-swap;
  - scoring needs logits at chosen positions only and explicit KV-cache reuse.
Every adapter is validated in Python first (formats/validate.py): the binding segfaults on a bad one.
Never imports torch or transformers.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..core.adapter import Adapter
from ..core.basemodel import read_base_spec, resolve_base
from ..core.errors import T2LError
from ..formats.validate import AdapterReport, validate_adapter, validate_adapter_object
from .binding import import_llama_cpp, install_logger
from .generation import GenerationResult, decode_loop
from .threads import DecodeThreadTuner

_KV_TYPES = {"f16": 1, "f32": 0}  # GGML_TYPE_F16 / GGML_TYPE_F32
_SCORE_SEQS = 8  # answer options decoded together by score(); sequence 0 holds the context
@dataclass
class LoadedAdapter:
    """An adapter resident in llama.cpp; pass it to use()/blend() to switch without reloading."""

    ptr: object
    report: AdapterReport
    key: tuple
    source: object = None  # keeps an in-memory Adapter alive so its id() stays unique

    @property
    def description(self) -> str:
        return self.report.description


class Engine:
    """A llama.cpp base model kept in memory, with hot-swappable LoRA adapters."""

    def __init__(self, base_path: str | os.PathLike | None = None, n_ctx: int = 2048, n_threads: int | None = None,
                 seed: int = 0, verbose: bool = False, kv_type: str = "f16", n_batch: int = 512,
                 n_threads_batch: int | None = None):
        """n_threads: threads for token-by-token generation; None measures the first decode
        steps under all cores, half and one, and keeps the fastest (engine/threads.py: on a
        small model one thread can decode twice as fast as two). n_threads_batch: threads for
        prompts and scoring (default: n_threads, or all cores when that is measured)."""
        self._lib = lib = import_llama_cpp()
        self._model = self._ctx = None
        self._tuner: DecodeThreadTuner | None = None
        self._loaded: dict[tuple, LoadedAdapter] = {}
        self._batch = None
        self.base_path = resolve_base(base_path)
        # Check the base in Python first: llama.cpp must never see a truncated or foreign file.
        read_base_spec(self.base_path, sha256=False)
        self._spec = None
        self.seed = seed
        self.n_ctx, self.n_batch = int(n_ctx), int(n_batch)
        if kv_type not in _KV_TYPES:
            raise T2LError(f"unknown kv_type '{kv_type}'", "use f16 or f32")
        threads = n_threads or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        install_logger(lib, verbose)
        lib.llama_backend_init()

        mparams = lib.llama_model_default_params()
        mparams.n_gpu_layers = 0
        if hasattr(mparams, "load_mode"):  # 0.3.36+: load_mode replaced use_mmap
            mparams.load_mode = lib.LLAMA_LOAD_MODE_MMAP
        else:
            mparams.use_mmap = True
        self._model = lib.llama_model_load_from_file(str(self.base_path).encode(), mparams)
        if not self._model:
            raise T2LError(f"llama.cpp could not load {self.base_path}", "check that it is a llama.cpp model GGUF (run with verbose=True)")
        cparams = lib.llama_context_default_params()
        cparams.n_ctx, cparams.n_batch, cparams.n_ubatch = self.n_ctx, self.n_batch, self.n_batch
        cparams.n_threads = threads
        cparams.n_threads_batch = n_threads_batch or threads
        cparams.type_k = cparams.type_v = _KV_TYPES[kv_type]
        cparams.no_perf = True
        # Options scored in parallel share the context's KV cells: one unified cache, several sequences.
        self.score_seqs = _SCORE_SEQS if hasattr(cparams, "kv_unified") else 0
        if self.score_seqs:
            cparams.n_seq_max = self.score_seqs + 1
            cparams.kv_unified = True
        if kv_type == "f32" and hasattr(cparams, "flash_attn_type"):
            # exact mode (parity tests): CPU flash attention rounds Q to f16 internally
            cparams.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self._ctx = lib.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            self.close()
            raise T2LError("llama.cpp could not create a context", f"try a smaller n_ctx than {self.n_ctx}")
        self.n_threads, self._n_threads_batch = threads, cparams.n_threads_batch
        # Generation threads: the caller's count, or measured on the first decode steps.
        self._tuner = DecodeThreadTuner(threads, self._set_decode_threads) if n_threads is None and threads > 1 else None
        self._vocab = lib.llama_model_get_vocab(self._model)
        self.n_vocab = int(lib.llama_vocab_n_tokens(self._vocab))
        self._batch = lib.llama_batch_init(self.n_batch, 0, 1)
        self._cache: list[int] = []  # tokens whose KV state is in sequence 0
        self.decoded_tokens = 0  # tokens run through the model so far (evaluation speed reports)
        self._active: list[tuple[LoadedAdapter, float]] = []
        self._set_adapters = getattr(lib, "llama_set_adapters_lora", None)
        tmpl = lib.llama_model_chat_template(self._model, None)
        self.chat_template = tmpl.decode("utf-8", "replace") if tmpl else None

    @property
    def spec(self):
        """BaseSpec of the loaded base (read on first use: gguf's reader takes seconds on a
        large vocabulary, and loading the base should not pay for it)."""
        if self._spec is None:
            self._spec = read_base_spec(self.base_path)
        return self._spec

    # ---- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        """Free adapters, context and model. Safe to call twice."""
        lib = getattr(self, "_lib", None)
        if lib is None:
            return
        if self._ctx and self._loaded:
            self._apply([])
        for loaded in self._loaded.values():
            lib.llama_adapter_lora_free(loaded.ptr)
        self._loaded.clear()
        if self._batch is not None:
            lib.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            lib.llama_free(self._ctx)
            self._ctx = None
        if self._model:
            lib.llama_model_free(self._model)
            self._model = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _require_open(self):
        if not self._ctx:
            raise T2LError("this Engine is closed", "create a new Engine")

    # ---- adapters -------------------------------------------------------------------------
    def load(self, adapter: str | os.PathLike | Adapter | LoadedAdapter, allow_base_mismatch: bool = False) -> LoadedAdapter:
        """Validate and load an adapter into llama.cpp without activating it (cached)."""
        self._require_open()
        if isinstance(adapter, LoadedAdapter):
            if adapter.key not in self._loaded:
                raise T2LError("that adapter belongs to another (or a closed) Engine", "load it again with this Engine")
            return adapter
        if isinstance(adapter, Adapter):
            key = ("memory", id(adapter))
            if key in self._loaded:
                return self._loaded[key]
            from ..formats.gguf_adapter import write_scratch_gguf

            # Checked in memory, so the file below is ours and is not read back. llama.cpp only
            # loads files: write a scratch GGUF (in RAM where /dev/shm exists), load it, delete
            # it (llama.cpp copies the data).
            report = validate_adapter_object(adapter, self.base_path, allow_base_mismatch=allow_base_mismatch)
            with tempfile.TemporaryDirectory(prefix="t2l-adapter-", dir=scratch_dir()) as tmp:
                path = write_scratch_gguf(adapter, Path(tmp) / "adapter.gguf", dtype="f32")
                loaded = self._init_adapter(path, key, report)
            loaded.source = adapter
            return loaded
        path = Path(adapter)
        if not path.is_file():
            raise T2LError(f"adapter {path} not found", "check the path")
        st = path.stat()
        key = ("file", str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key in self._loaded:
            return self._loaded[key]
        return self._load_file(path, key, allow_base_mismatch)

    def _load_file(self, path: Path, key: tuple, allow_base_mismatch: bool) -> LoadedAdapter:
        report = validate_adapter(path, self.base_path, allow_base_mismatch=allow_base_mismatch)
        return self._init_adapter(path, key, report)

    def _init_adapter(self, path: Path, key: tuple, report: AdapterReport) -> LoadedAdapter:
        """Hand a validated file to llama.cpp (never an unvalidated one: the binding segfaults)."""
        ptr = self._lib.llama_adapter_lora_init(self._model, str(path).encode())
        if not ptr:  # a NULL pointer object is truthy-false but not None
            raise T2LError(f"llama.cpp refused adapter {path.name}", "run with verbose=True to see llama.cpp's reason")
        loaded = LoadedAdapter(ptr=ptr, report=report, key=key)
        self._loaded[key] = loaded
        return loaded

    def use(self, adapter, scale: float = 1.0, allow_base_mismatch: bool = False) -> LoadedAdapter:
        """Make `adapter` (path, Adapter or LoadedAdapter) the only active adapter."""
        loaded = self.load(adapter, allow_base_mismatch)
        self._apply([(loaded, float(scale))])
        return loaded

    def blend(self, adapters: Iterable[tuple[object, float]], allow_base_mismatch: bool = False) -> list[LoadedAdapter]:
        """Activate several adapters at once; their scaled deltas add up."""
        pairs = [(self.load(a, allow_base_mismatch), float(s)) for a, s in adapters]
        self._apply(pairs)
        return [p[0] for p in pairs]

    def clear(self) -> None:
        """Back to the plain base model."""
        self._require_open()
        self._apply([])

    def unload(self, adapter: LoadedAdapter) -> None:
        """Free one resident adapter's llama.cpp memory; it is deactivated first if active.
        Long-running hosts (the server's adapter cache) need this: close() frees everything."""
        self._require_open()
        if self._loaded.get(adapter.key) is not adapter:
            raise T2LError("that adapter is not loaded in this Engine", "load it again with this Engine")
        if any(p is adapter for p, _ in self._active):
            self._apply([(p, s) for p, s in self._active if p is not adapter])
        del self._loaded[adapter.key]
        self._lib.llama_adapter_lora_free(adapter.ptr)
        adapter.ptr = None

    @property
    def n_loaded(self) -> int:
        """Adapters resident in llama.cpp (active or not)."""
        return len(self._loaded)

    @property
    def active(self) -> list[tuple[LoadedAdapter, float]]:
        return list(self._active)

    def _apply(self, pairs: Sequence[tuple[LoadedAdapter, float]]) -> None:
        lib, n = self._lib, len(pairs)
        if self._set_adapters is not None:
            if n:
                ptrs = (lib.llama_adapter_lora_p_ctypes * n)(*[p.ptr for p, _ in pairs])
                scales = (ctypes.c_float * n)(*[s for _, s in pairs])
                rc = self._set_adapters(self._ctx, ptrs, n, scales)
            else:
                rc = self._set_adapters(self._ctx, None, 0, None)
        else:  # releases before llama_set_adapters_lora: add one at a time after clearing
            lib.llama_clear_adapter_lora(self._ctx)
            rc = 0
            for p, s in pairs:
                rc = rc or lib.llama_set_adapter_lora(self._ctx, p.ptr, s)
        if rc != 0:
            raise T2LError(f"llama.cpp could not activate the adapters (code {rc})", "run with verbose=True")
        self._active = list(pairs)
        self.reset_cache()  # KV state computed under the old adapters is stale

    # ---- tokens and evaluation ----------------------------------------------------------------
    def tokenize(self, text: str, add_bos: bool = True, special: bool = False) -> list[int]:
        """Token ids of `text`; BOS only if the model wants one; `special` parses <|...|> markers."""
        self._require_open()
        data = text.encode("utf-8")
        cap = len(data) + 16
        for _ in range(2):
            buf = (self._lib.llama_token * cap)()
            n = self._lib.llama_tokenize(self._vocab, data, len(data), buf, cap, add_bos, special)
            if n >= 0:
                return list(buf[:n])
            cap = -n
        raise T2LError("tokenization failed", "report this input")

    def token_bytes(self, token: int, special: bool = False) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self._lib.llama_token_to_piece(self._vocab, token, buf, 64, 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lib.llama_token_to_piece(self._vocab, token, buf, -n, 0, special)
        return buf.raw[:n]

    def detokenize(self, tokens: Iterable[int]) -> str:
        return b"".join(self.token_bytes(t) for t in tokens).decode("utf-8", "replace")

    def reset_cache(self) -> None:
        """Forget the KV state, so the next call evaluates its tokens from the start (speed
        measurements want a cold prefill; adapter changes make the state stale)."""
        self._require_open()  # a NULL context would crash inside llama.cpp
        # metadata only: zeroing the whole KV buffer (tens of MB) would dominate a swap
        self._lib.llama_memory_clear(self._lib.llama_get_memory(self._ctx), False)
        self._cache = []

    def logits_at(self, tokens: Sequence[int], want: Sequence[int]) -> np.ndarray:
        """Make sequence 0 hold `tokens` and return logits rows [len(want), vocab] at positions
        `want`. The KV state of the longest common prefix with the previous call is reused, so
        a shared prompt is evaluated once and generation feeds one token per step."""
        self._require_open()
        tokens, want = list(tokens), list(want)
        if len(tokens) > self.n_ctx:
            raise T2LError(f"input is {len(tokens)} tokens, the context holds {self.n_ctx}", "shorten it or raise n_ctx")
        if want and not (0 <= min(want) and max(want) < len(tokens)):
            raise ValueError("logit positions out of range")
        keep = 0
        for a, b in zip(self._cache, tokens):
            if a != b:
                break
            keep += 1
        if want:
            keep = min(keep, min(want))  # logits exist only for positions decoded in this call
        lib = self._lib
        lib.llama_memory_seq_rm(lib.llama_get_memory(self._ctx), 0, keep, -1)
        self._cache = tokens[:keep]
        wanted = set(want)
        rows: dict[int, np.ndarray] = {}
        batch = self._batch
        for start in range(keep, len(tokens), self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            for i, tok in enumerate(chunk):
                batch.token[i] = tok
                batch.pos[i] = start + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = (start + i) in wanted
            batch.n_tokens = len(chunk)
            self.decoded_tokens += len(chunk)
            timed = self._tuner is not None and len(chunk) == 1
            t0 = time.perf_counter() if timed else 0.0
            rc = lib.llama_decode(self._ctx, batch)
            if timed and rc == 0:
                self._tuner.observe(time.perf_counter() - t0)
            if rc != 0:
                self.reset_cache()
                raise T2LError(f"llama.cpp decode failed (code {rc})", "the input may exceed the context; raise n_ctx")
            for i in range(len(chunk)):
                if (start + i) in wanted:
                    ptr = lib.llama_get_logits_ith(self._ctx, i)
                    rows[start + i] = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
            self._cache = tokens[:start + len(chunk)]
        if not want:
            return np.zeros((0, self.n_vocab), np.float32)
        return np.stack([rows[p] for p in want])

    def _set_decode_threads(self, n: int) -> None:
        self._lib.llama_set_n_threads(self._ctx, n, self._n_threads_batch)
        self.n_threads = n

    @property
    def decode_threads(self) -> dict:
        """The generation thread count and how it was chosen: {"threads", "chosen_by",
        "median_step_s"} (median seconds per decode step for each count measured so far)."""
        if self._tuner is None:
            return {"threads": self.n_threads, "chosen_by": "caller", "median_step_s": {}}
        summary = self._tuner.summary()
        return {"threads": self._tuner.current, "chosen_by": "measured" if summary["chosen"] else "measuring",
                "median_step_s": summary["median_step_s"]}

    def logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Logits [len(tokens), vocab] at every position (for tests and debugging)."""
        return self.logits_at(tokens, range(len(tokens)))

    def score(self, context: str, continuations: Sequence[str]) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens after `context`.

        The context is tokenized with BOS, each continuation on its own without BOS, so every
        option is scored on identical context tokens. The context is evaluated once; the
        options then run together in one decode on top of its KV state (see scoring.py).
        """
        ctx_tokens = self.tokenize(context, add_bos=True)
        conts = [self.tokenize(c, add_bos=False) for c in continuations]
        return self.score_tokens(ctx_tokens, conts)

    def score_tokens(self, context: Sequence[int], continuations: Sequence[Sequence[int]]) -> list[float]:
        """score() on token ids, for callers that tokenize themselves."""
        from .scoring import score_tokens

        self._require_open()
        return score_tokens(self, context, continuations)

    # ---- generation ---------------------------------------------------------------------------
    def format_chat(self, prompt: str, system: str | None = None,
                    history: Sequence[tuple[str, str]] = ()) -> str:
        """The prompt wrapped in the base model's own chat template, after earlier
        (user, assistant) turns in `history` (e.g. in-context examples)."""
        if not self.chat_template:
            return "".join(f"{u}\n{a}\n\n" for u, a in history) + prompt
        messages = [{"role": "system", "content": system}] if system else []
        for user, assistant in history:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        messages.append({"role": "user", "content": prompt})
        return self.format_messages(messages)

    def format_messages(self, messages: Sequence[dict]) -> str:
        """A whole conversation ({"role", "content"} dicts, OpenAI style) in the base model's
        chat template, ending with the assistant turn opener."""
        if not self.chat_template:
            return "".join(f"{m['content']}\n\n" for m in messages)
        from .chat_template import render_chat

        bos = self.token_bytes(self._lib.llama_vocab_bos(self._vocab), special=True).decode("utf-8", "replace")
        eos = self.token_bytes(self._lib.llama_vocab_eos(self._vocab), special=True).decode("utf-8", "replace")
        return render_chat(self.chat_template, list(messages), bos, eos)

    def prompt_tokens(self, text: str, chat: bool) -> list[int]:
        """Token ids for generation: `text` already in the chat template (chat=True, special
        markers parsed) or a raw prompt."""
        bos_text = self.token_bytes(self._lib.llama_vocab_bos(self._vocab), special=True).decode("utf-8", "replace")
        # A template that writes BOS itself must not get a second one from the tokenizer.
        add_bos = not (chat and bos_text and text.startswith(bos_text))
        return self.tokenize(text, add_bos=add_bos, special=chat)

    def generate(self, prompt: str, max_tokens: int = 128, chat: bool = True, temperature: float = 0.0,
                 on_token: Callable[[str], None] | None = None, system: str | None = None) -> GenerationResult:
        """Complete `prompt` (wrapped in the chat template if `chat`) with the active adapters.
        temperature 0 is greedy; otherwise sampling is seeded by the Engine's seed."""
        text = self.format_chat(prompt, system) if chat else prompt
        return self.generate_tokens(self.prompt_tokens(text, chat), max_tokens, temperature, on_token)

    def generate_tokens(self, tokens: Sequence[int], max_tokens: int = 128, temperature: float = 0.0,
                        on_token: Callable[[str], None] | None = None, seed: int | None = None,
                        should_stop: Callable[[], bool] | None = None) -> GenerationResult:
        """generate() on prompt token ids, for hosts that build the prompt themselves (the
        server): a per-request `seed` (default: the Engine's) and `should_stop()`, asked after
        every token, to end early on a stop string or a client that went away."""
        self._require_open()
        return decode_loop(self, list(tokens), max_tokens, temperature, on_token,
                           self.seed if seed is None else seed, should_stop)


def scratch_dir() -> str | None:
    """/dev/shm when it is a writable folder (Linux tmpfs: the scratch adapter never touches a
    disk), else the system temp folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
