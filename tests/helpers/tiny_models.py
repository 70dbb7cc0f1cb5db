"""Tiny stand-ins built in code: a BERT-style encoder with its tokenizer, a small base shape,
and bundles exported from them. No downloads; everything takes well under a second.

Importing this module needs no torch (tiny_spec, read_manifest and the stored bundle serve the
torch-free runtime tests); the builders import torch when called."""

from __future__ import annotations

import json
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from t2l_edge.core.basemodel import BaseSpec

if TYPE_CHECKING:
    from t2l_edge.hypernet.model import HyperNetwork

# Built by tests/helpers/make_tiny_bundle.py (tiny_bundle(..., "M", perturb=0.5)) and committed, so
# the runtime tests need no torch to get a bundle.
STORED_BUNDLE = Path(__file__).resolve().parent.parent / "data" / "tiny_bundle"

WORDS = ("answer yes or no the question with a number translate into french summarise text "
         "pick correct option write python function classify review positive negative . , ?").split()


def tiny_spec(arch: str = "llama") -> BaseSpec:
    return BaseSpec(arch=arch, n_layer=2, hidden=64, n_head=4, n_head_kv=2, head_dim=16, ffn=128, vocab=300,
                    name="tiny", sha256="0" * 64, size=1)


def tiny_tokenizer(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *dict.fromkeys(WORDS)])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    tok.save(str(path))
    return path


def tiny_encoder(folder: Path, seed: int = 0, pieces: bool = False, values=None) -> dict:
    """Exports a 2-layer BERT (hidden 32, emb 32) to ONNX; returns the dict write_bundle takes.
    With `pieces` it also returns word-piece states and embeddings (for read_tokens generators),
    or rows of `values` [64, 32] in place of the embeddings (hypernet/piece_values.py)."""
    import torch
    from transformers import BertConfig, BertModel

    from t2l_edge.export.encoder import export_encoder_onnx
    from t2l_edge.formats.keys import ENCODER_OUTPUT, ENCODER_PIECE_OUTPUTS
    from t2l_edge.hypernet.encoder import PiecesEncoder, PooledEncoder

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    bert = BertModel(cfg, add_pooling_layer=False).eval()
    enc = (PiecesEncoder(bert, values) if pieces else PooledEncoder(bert)).eval()
    export_encoder_onnx(enc, folder / "encoder.onnx", vocab_size=64)
    tiny_tokenizer(folder / "tokenizer.json")
    outputs = list(ENCODER_PIECE_OUTPUTS if pieces else (ENCODER_OUTPUT,))
    return {"onnx": folder / "encoder.onnx", "tokenizer": folder / "tokenizer.json", "quant": "fp32", "max_length": 64,
            "report": {"encoder": "tiny-bert", "outputs": outputs,
                       **({"piece_values": "minilm" if values is None else "base"} if pieces else {})}, "torch": enc}


def tiny_hypernet(variant: str, spec: BaseSpec | None = None, targets=("q_proj", "v_proj"), seed: int = 0,
                  perturb: float = 0.05, read_tokens: int = 0, piece_values: str = "minilm",
                  word_layers: int = 0, word_which: int = 0, read_context: int = 0,
                  word_which_rule: int = 0, word_which_object: int = 0, word_which_object_gate: int = 0) -> HyperNetwork:
    """A hypernetwork with random (non-zero) head weights, so outputs depend on the input; with
    `read_tokens`, a word-piece reader whose last layer is random too."""
    import torch

    from t2l_edge.hypernet.config import HyperConfig
    from t2l_edge.hypernet.model import HyperNetwork

    torch.manual_seed(seed)
    cfg = HyperConfig(variant=variant, emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, targets=targets,
                      read_tokens=read_tokens, piece_values=piece_values, word_layers=word_layers,
                      word_which=word_which, word_which_a=0.5 if word_which == 2 else 0.0, read_context=read_context,
                      word_which_rule=word_which_rule, word_which_object=word_which_object,
                      word_which_object_gate=word_which_object_gate)
    net = HyperNetwork(cfg, spec or tiny_spec())
    with torch.no_grad():
        for head in net.heads.values():
            head.weight.normal_(0.0, perturb)
        if read_tokens:
            net.reader.mlp[-1].weight.normal_(0.0, 0.5)
        if word_layers:
            net.word_path.to_b.weight.normal_(0.0, 0.1)
            net.word_path.a.normal_(0.0, 0.5)
        if word_which == 1:
            net.word_path.which_b.weight.normal_(0.0, 0.1)
        if word_which == 2:
            net.word_path.which_scale.normal_(0.0, 1.0)
        if word_which:
            net.word_path.which_a.normal_(0.0, 0.5)
        if word_which_rule:
            net.word_path.which_rule.weight.normal_(0.0, 0.1)
        if word_which_object:  # a random basis stands in for the base's (train/run.py fills the real one)
            net.word_path.object_basis.normal_(0.0, 1.0)
            net.word_path.object_gain.normal_(0.0, 0.5)
        if word_which_object_gate:
            net.word_path.object_gate.weight.normal_(0.0, 0.5)
    return net.eval()


def tiny_bundle(folder: Path, variant: str = "M", encoder: dict | None = None, hypernet_dtype: str = "fp32",
                **kw) -> tuple[Path, HyperNetwork, dict]:
    from t2l_edge.export.bundle_writer import write_bundle

    enc = encoder or tiny_encoder(folder.parent / f"{folder.name}-encoder")
    net = tiny_hypernet(variant, **kw)
    write_bundle(net, folder, provenance={"note": "untrained test bundle"}, encoder=enc, hypernet_dtype=hypernet_dtype,
                 log=lambda s: None)
    return folder, net, enc


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def torch_pipeline(enc: dict, net: HyperNetwork, texts: list[str]) -> dict:
    """Reference: tokenize, embed and generate in PyTorch."""
    import torch
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(enc["tokenizer"]))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    batch = tok.encode_batch(texts)
    ids = torch.tensor([b.ids for b in batch])
    mask = torch.tensor([b.attention_mask for b in batch])
    with torch.no_grad():
        emb = enc["torch"](ids, mask)
        if isinstance(emb, tuple):  # a PiecesEncoder: what a word-piece reader takes
            from t2l_edge.core.description_seq import pack

            emb = torch.from_numpy(pack(*(t.numpy() for t in emb), mask.numpy()))
        return {m: (a.numpy(), b.numpy()) for m, (a, b) in net(emb).items()}


def finite(x) -> bool:
    return bool(np.isfinite(x).all())
