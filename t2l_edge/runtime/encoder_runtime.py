"""Description encoder on ONNX Runtime (torch-free).

The same ONNX file embeds descriptions at training time and at run time, so the hypernetwork
never sees embeddings from a different numerical path than the one it was trained on.
The model takes input_ids/attention_mask and returns the pooled, L2-normalised embedding;
an encoder exported for word-piece-reading generators also returns each piece's state and
embedding (encode_packed).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.errors import T2LError
from ..core.description_seq import pack
from ..formats.keys import ENCODER_INPUTS, ENCODER_OUTPUT, ENCODER_PIECE_OUTPUTS, ENCODER_STATES


# The manifest's encoder "graph" value for an encoder.onnx saved after ONNX Runtime's basic
# optimisations (save_optimized); such a file is loaded with optimisation off.
PRE_OPTIMIZED = "ort-basic-optimized"


def _session_options(threads: int | None, pre_optimized: bool):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # Measured on the bundle's graphs (2 cores): BASIC starts faster (0.19 s vs 0.25 s for both
    # sessions) and also runs faster (8 ms vs 13 ms per adapter) than the default ENABLE_ALL.
    # A graph already saved after BASIC needs no pass at all: the encoder then opens in about
    # half the time, and runs bit-identically (bench/bench_make_adapter.py measures both).
    level = ort.GraphOptimizationLevel
    opts.graph_optimization_level = level.ORT_DISABLE_ALL if pre_optimized else level.ORT_ENABLE_BASIC
    # No spin-waiting in the thread pool: with any other busy process on a 2-core machine
    # (llama.cpp, training) spinning made session start 1.6x and each adapter 3x slower
    # (48 ms vs 16 ms warm, measured); on an idle machine it makes no visible difference.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return opts


def save_optimized(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Write `src` as ONNX Runtime sees it after its basic optimisations: standard ONNX ops only
    (no hardware-specific fusions), so the file stays portable across machines and providers."""
    import onnxruntime as ort

    opts = _session_options(None, pre_optimized=False)
    opts.optimized_model_filepath = str(dst)
    ort.InferenceSession(str(src), sess_options=opts, providers=["CPUExecutionProvider"])


def ort_session(path: str | os.PathLike, threads: int | None = None, providers: list[str] | None = None,
                pre_optimized: bool = False):
    """An onnxruntime session: CUDA when available (onnxruntime-gpu), else CPU."""
    import onnxruntime as ort

    opts = _session_options(threads, pre_optimized)
    if providers is None:
        available = ort.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise T2LError(f"cannot load {Path(path).name}: {str(exc).splitlines()[0][:200]}", "the bundle file is damaged; re-export it") from None


class OnnxEncoder:
    def __init__(self, onnx_path: str | os.PathLike, tokenizer_json: str | os.PathLike, max_length: int = 256,
                 threads: int | None = None, providers: list[str] | None = None, pre_optimized: bool = False):
        from tokenizers import Tokenizer

        self.max_length = max_length
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        except Exception as exc:
            raise T2LError(f"cannot read tokenizer {tokenizer_json}: {exc}", "the bundle file is damaged; re-export it") from None
        self.tokenizer.no_truncation()
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        self.session = ort_session(onnx_path, threads, providers, pre_optimized)
        self.warnings: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        """[B, dim] float32 embeddings. Texts beyond max_length word pieces are cut (warning kept)."""
        ids, mask = self._inputs(texts)
        (emb,) = self._run_rows([ENCODER_OUTPUT], ids, mask)
        return emb.astype(np.float32)

    def encode_packed(self, texts: list[str]) -> np.ndarray:
        """[B, 1 + MAX_PIECES, 2 * dim]: what a word-piece-reading generator takes
        (core/description_seq.py). Needs an encoder exported with its piece outputs."""
        if ENCODER_STATES not in {o.name for o in self.session.get_outputs()}:
            raise T2LError("this encoder returns pooled embeddings only, but the generator reads word pieces",
                           "re-export the bundle: its encoder must come from ensure_encoder(pieces=True)")
        ids, mask = self._inputs(texts)
        pooled, states, pieces = self._run_rows(list(ENCODER_PIECE_OUTPUTS), ids, mask)
        return pack(pooled, states, pieces, mask)

    def _run_rows(self, outputs: list[str], ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        """_run on one text at a time, each cut to its own length, then padded back to the batch.
        The int8 encoder quantises activations with one scale per call, so in a batch a text's
        states depended on its batch-mates (cosine 0.985 to itself alone): a description embedded
        among others at training time differed from the same one embedded alone by make-adapter.
        One at a time costs about 13% on a batch of 32 (2 cores)."""
        rows = []
        for r in range(len(ids)):
            n = int(mask[r].sum())
            rows.append(self._run(outputs, ids[r:r + 1, :n], mask[r:r + 1, :n]))
        width = ids.shape[1]
        return [np.concatenate([_pad_pieces(row[k], width) for row in rows]) for k in range(len(outputs))]

    def _run(self, outputs: list[str], ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        try:
            return self.session.run(outputs, dict(zip(ENCODER_INPUTS, (ids, mask))))
        except Exception as exc:  # onnxruntime's own error types
            raise T2LError(f"the encoder failed: {str(exc).splitlines()[0][:160]}", "the bundle's encoder does not match its manifest; re-export it") from None

    def _inputs(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(input ids, attention mask), [B, width] each, cut to max_length (warnings kept)."""
        self.warnings = []
        encs = self.tokenizer.encode_batch(list(texts))
        n = max(len(e.ids) for e in encs)
        if n > self.max_length:
            for i, e in enumerate(encs):
                if sum(e.attention_mask) > self.max_length:
                    self.warnings.append(f"description {i + 1} has {sum(e.attention_mask)} word pieces; the encoder used the first {self.max_length}")
        width = min(n, self.max_length)
        ids = np.array([e.ids[:width] for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask[:width] for e in encs], dtype=np.int64)
        if n > self.max_length:  # keep the final [SEP] token BERT was trained to see
            sep = self.tokenizer.token_to_id("[SEP]")
            for row in range(len(encs)):
                if mask[row].all() and sum(encs[row].attention_mask) > width and sep is not None:
                    ids[row, -1] = sep
        return ids, mask


def _pad_pieces(out: np.ndarray, width: int) -> np.ndarray:
    """An output of one text, per-piece ones ([1, n, dim]) zero-padded to [1, width, dim]."""
    if out.ndim < 3 or out.shape[1] == width:
        return out
    return np.pad(out, ((0, 0), (0, width - out.shape[1]), (0, 0)))
