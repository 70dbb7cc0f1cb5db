"""Every name that one side writes and another side reads.

The exporter writes the bundle and its ONNX graphs, the runtime reads them; the GGUF writer
stamps metadata, the validator and reader look it up. A name spelled twice drifts, so each
lives here once and both sides import it. Imports nothing, so any module may use it.
"""

from __future__ import annotations

# ---- bundle folder ------------------------------------------------------------------------
MANIFEST = "manifest.json"
ENCODER_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
HYPERNET_FILE = "hypernet.onnx"
BUNDLE_FILES = (ENCODER_FILE, TOKENIZER_FILE, HYPERNET_FILE)  # besides the manifest

# ---- ONNX graph inputs and outputs ------------------------------------------------------------
ENCODER_INPUTS = ("input_ids", "attention_mask")
ENCODER_OUTPUT = "embedding"
# Encoders for word-piece-reading generators (HyperConfig.read_tokens) also return, per piece,
# the last-layer state and the input word-piece embedding: [batch, pieces, dim] each.
ENCODER_STATES = "token_states"
ENCODER_PIECES = "token_pieces"
ENCODER_PIECE_OUTPUTS = (ENCODER_OUTPUT, ENCODER_STATES, ENCODER_PIECES)
HYPERNET_INPUT = "task_embedding"  # [tasks, dim], or packed [tasks, 1 + pieces, 2 * dim] (core/description_seq.py)


def lora_a_name(module: str) -> str:
    """The hypernetwork output holding `module`'s A matrices, [tasks, layers, rank, in]."""
    return f"A.{module}"


def lora_b_name(module: str) -> str:
    """The hypernetwork output holding `module`'s B matrices, [tasks, layers, out, rank]."""
    return f"B.{module}"


def hypernet_outputs(targets) -> list[str]:
    """All hypernetwork output names in graph order: A then B for each target module."""
    return [name for m in targets for name in (lora_a_name(m), lora_b_name(m))]


# ---- GGUF adapter metadata (alongside gguf's own adapter.* keys) ----------------------------
KEY_PREFIX = "t2l_edge"
KEY_BASE_SHA256 = f"{KEY_PREFIX}.base_sha256"
KEY_BASE_NAME = f"{KEY_PREFIX}.base_name"
KEY_BASE_SPEC = f"{KEY_PREFIX}.base_spec"  # JSON of BaseSpec (without sha/size)
KEY_GENERATOR = f"{KEY_PREFIX}.generator"
KEY_RANK = f"{KEY_PREFIX}.rank"
KEY_PEFT_ALPHA = f"{KEY_PREFIX}.peft_alpha"
KEY_RSLORA = f"{KEY_PREFIX}.use_rslora"
KEY_EXTRA = f"{KEY_PREFIX}.extra"  # JSON
