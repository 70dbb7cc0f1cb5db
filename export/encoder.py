"""Export the description encoder to ONNX (fp32 and int8), cached outside the repo.

MiniLM in fp32 is ~90 MB, three times the bundle budget; dynamic int8 quantisation brings it
to ~23 MB. Its error against fp32 is measured on every export and written to the report.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from t2l_edge.core.atomic import atomic_dir, atomic_output
from t2l_edge.core.errors import T2LError
from t2l_edge.core.paths import cache_root
from t2l_edge.formats.keys import ENCODER_INPUTS, ENCODER_OUTPUT, ENCODER_PIECE_OUTPUTS, ENCODER_STATES

PROBE_TEXTS = [
    # The kind of descriptions users write: short and long, plain and formal, several domains.
    "Answer the multiple-choice science question with the correct option.",
    "Translate the English sentence into French.",
    "Decide whether the review is positive or negative.",
    "Given a math word problem, output only the final number.",
    "Write a Python function that satisfies the docstring.",
    "Summarise the paragraph in one sentence.",
    "Is the second sentence entailed by the first? Reply yes or no.",
    "Pick the most plausible ending for the story.",
    "You are a helpful assistant who fixes grammar mistakes in short texts.",
    "Classify the news headline into world, sports, business or science.",
    "Fill in the blank with the right pronoun.",
    "List the named people in the text, separated by commas.",
    "Answer yes or no.",
    "Sort the words alphabetically.",
    "Convert the temperature from Celsius to Fahrenheit and round to one decimal.",
    "Given a passage about history, answer the question using a short span copied from the passage.",
    "Identify the logical fallacy in the argument and name it.",
    "Rewrite the sentence in the passive voice.",
    "Detect whether the SMS message is spam.",
    "Extract the date mentioned in the email and format it as YYYY-MM-DD.",
    "Choose the word that does not belong with the others.",
    "Explain the joke in simple terms for a child.",
    "Generate a SQL query that answers the question about the employees table.",
    "Determine the emotion expressed by the speaker: joy, anger, sadness, fear or surprise.",
    "Count the number of vowels in the given word.",
    "Which option best completes the analogy?",
    "Solve the chess puzzle and give the best move in algebraic notation.",
    "Tell whether the two questions ask the same thing.",
    "Respond to the customer complaint politely and offer a solution.",
    "Predict the chemical product of the reaction.",
    "Answer medical exam questions by selecting the letter of the correct answer (A, B, C or D).",
    "Reorder the scrambled sentences so that the story makes sense.",
    "Traduire la phrase en anglais.",
    "Beantworte die Frage mit Ja oder Nein.",
    "Physical commonsense: choose which of two solutions achieves the goal.",
    "Read the code snippet and predict what it prints. def f(x): return x * 2; print(f(3))",
    "Given a long description of a legal contract with many clauses, definitions, exceptions and "
    "cross-references, identify which party bears the liability in the scenario described at the end, "
    "and justify the answer by citing the relevant clause number.",
    "Grade-school arithmetic word problems; show the reasoning step by step, then the answer after ####.",
    "Be concise.",
    "Tag each word with its part of speech.",
]


def export_encoder_onnx(encoder: torch.nn.Module, path: Path, vocab_size: int = 1000) -> None:
    """A PooledEncoder gives one output (the embedding), a PiecesEncoder three (ENCODER_PIECE_OUTPUTS)."""
    from t2l_edge.hypernet.encoder import PiecesEncoder

    ids = torch.randint(5, max(vocab_size - 1, 6), (2, 7))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    names = list(ENCODER_PIECE_OUTPUTS if isinstance(encoder, PiecesEncoder) else (ENCODER_OUTPUT,))
    axes = {n: {0: "batch", 1: "seq"} for n in [*ENCODER_INPUTS, *names[1:]]}
    torch.onnx.export(
        encoder, (ids, mask), str(path), input_names=list(ENCODER_INPUTS), output_names=names,
        dynamic_axes={**axes, ENCODER_OUTPUT: {0: "batch"}}, opset_version=17, dynamo=False,
    )


def quantize_int8(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Gather quantises the 30k x 384 word-embedding table, the largest single tensor.
    # Per-channel scales matter: per-tensor int8 gave cosine 0.92 to fp32, per-channel 0.986.
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather"])


def cosine_report(fp32: Path, other: Path, tokenizer_json: Path, texts: list[str] = PROBE_TEXTS) -> dict:
    from t2l_edge.runtime.encoder_runtime import OnnxEncoder

    a = OnnxEncoder(fp32, tokenizer_json).encode(texts)
    b = OnnxEncoder(other, tokenizer_json).encode(texts)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return {"n_texts": len(texts), "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
            "max_abs_diff": float(np.abs(a - b).max())}


def torch_vs_onnx(encoder: torch.nn.Module, onnx_path: Path, tokenizer_json: Path, texts: list[str] = PROBE_TEXTS) -> float:
    from t2l_edge.runtime.encoder_runtime import OnnxEncoder

    enc = OnnxEncoder(onnx_path, tokenizer_json)
    batch = enc.tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in batch])
    mask = torch.tensor([e.attention_mask for e in batch])
    with torch.no_grad():
        ref = encoder(ids, mask)
    if isinstance(ref, tuple):  # a PiecesEncoder: compare the packed arrays the generator reads
        from t2l_edge.core.description_seq import pack

        return float(np.abs(pack(*(t.numpy() for t in ref), mask.numpy()) - enc.encode_packed(texts)).max())
    return float(np.abs(ref.numpy() - enc.encode(texts)).max())


def has_pieces(report: dict) -> bool:
    """Does the encoder return word-piece states and values besides the pooled embedding?"""
    return ENCODER_STATES in report.get("outputs", [])


def piece_values_of(report: dict) -> str:
    """What an encoder with pieces returns as their values; those exported before there was a
    choice return MiniLM's own."""
    return report.get("piece_values", "minilm")


def encoder_label(info: dict) -> str:
    """What a hypernetwork was trained on, as provenance records it: name, precision, and what
    an encoder with pieces returns as their values."""
    report = info["report"]
    values = piece_values_of(report)
    return f"{report['encoder']} {info['quant']}" + (" pieces" if has_pieces(report) else "") + (f" {values}-values" if values != "minilm" else "")


def _values_base_sha256() -> str:
    """The base whose embeddings "base" piece values are: the default base file."""
    from t2l_edge.core.basemodel import file_sha256, resolve_base

    return file_sha256(resolve_base(None))


def _cache_folder(pieces: bool, values: str) -> Path:
    if not pieces:
        return cache_root() / "encoders" / "all-MiniLM-L6-v2"
    if values == "minilm":  # the name earlier runs trained with
        return cache_root() / "encoders" / "all-MiniLM-L6-v2-pieces"
    return cache_root() / "encoders" / f"all-MiniLM-L6-v2-pieces-{values}-{_values_base_sha256()[:12]}"


def ensure_encoder(quant: str = "int8", folder: Path | None = None, out_dir: Path | None = None,
                   pieces: bool = False, values: str = "minilm") -> dict:
    """Export MiniLM once and cache it. Returns {onnx, tokenizer, quant, report}. With `pieces`
    the encoder also returns word-piece states and values (hypernet/piece_values.py), in a
    folder of its own, so the pooled encoder's files stay the bytes earlier runs trained with."""
    from t2l_edge.hypernet.encoder import ENCODER_NAME, load_minilm

    out = out_dir or _cache_folder(pieces, values)
    fp32, int8 = out / "encoder-fp32.onnx", out / "encoder-int8.onnx"
    report_path = out / "report.json"
    if not report_path.is_file():
        encoder, src = load_minilm(folder, pieces=pieces, values=values)
        with atomic_dir(out) as tmp:
            shutil.copy(src / "tokenizer.json", tmp / "tokenizer.json")
            export_encoder_onnx(encoder, tmp / fp32.name, encoder.bert.config.vocab_size)
            quantize_int8(tmp / fp32.name, tmp / int8.name)
            report = {
                "encoder": ENCODER_NAME,
                "outputs": list(ENCODER_PIECE_OUTPUTS if pieces else (ENCODER_OUTPUT,)),
                **({"piece_values": values} if pieces else {}),
                **({"values_base_sha256": _values_base_sha256()} if pieces and values == "base" else {}),
                "torch_vs_onnx_fp32_max_abs": torch_vs_onnx(encoder, tmp / fp32.name, tmp / "tokenizer.json"),
                "int8_vs_fp32": cosine_report(tmp / fp32.name, tmp / int8.name, tmp / "tokenizer.json"),
            }
            (tmp / report_path.name).write_text(json.dumps(report, indent=1))
    report = json.loads(report_path.read_text())
    if pieces and piece_values_of(report) != values:
        raise T2LError(f"{out} holds an encoder with {piece_values_of(report)} piece values, not {values}",
                       "pass another out_dir, or delete that folder to re-export it")
    if report.get("int8_vs_fp32", {}).get("n_texts") != len(PROBE_TEXTS):
        # The probe set changed since the export: re-measure only; the ONNX files stay as they
        # are, because training embedded its descriptions with exactly these bytes.
        report["int8_vs_fp32"] = cosine_report(fp32, int8, out / "tokenizer.json")
        with atomic_output(report_path, force=True) as tmp:
            tmp.write_text(json.dumps(report, indent=1))
    return {"onnx": fp32 if quant == "fp32" else int8, "tokenizer": out / "tokenizer.json", "quant": quant, "report": report}
