"""HyperConfig: every knob of a T2L hypernetwork, saved next to whatever it produced."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

VARIANTS = ("L", "M", "S")
PIECE_VALUES = ("minilm", "base")  # what a reader pools: MiniLM's word-piece embeddings, or the base's


@dataclass
class HyperConfig:
    variant: str = "M"  # L: A and B from one head; M: shared head + A/B embedding; S: one rank row at a time
    emb_dim: int = 384  # description encoder output (all-MiniLM-L6-v2)
    latent: int = 128  # task (latent/2) + layer (latent/4) + module (latent/4) embeddings
    hidden: int = 256  # width of the mixer and residual MLP blocks
    head_in: int = 256  # input width of the output heads
    rank: int = 8
    alpha: float = 16.0
    use_rslora: bool = True  # PEFT scaling alpha/sqrt(r) (paper); written to GGUF as alpha*sqrt(r)
    targets: tuple[str, ...] = ("q_proj", "v_proj")
    dropout: float = 0.05
    read_tokens: int = 0  # learned queries reading the description's word pieces (hypernet/reader.py); 0: pooled only
    read_context: int = 0  # >0: the reader keys each piece on its neighbours' states (this many each side), not its own
    piece_values: str = "minilm"  # what the reader pools: MiniLM's or the base's word embeddings (hypernet/piece_values.py)
    word_layers: int = 0  # last layers whose v_proj gets a direct map from what the reader read (hypernet/word_path.py)
    word_which: int = 0  # the word path's second rank, for which named word the input asks for (word_path.py): 1 a learned B map, 2 tied to the naming map
    word_which_a: float = 0.0  # std of that rank's own A row when it is created (0: zero, an exact start)
    word_which_rule: int = 0  # 1: that rank's A row adds a map of the pooled description, so what it reads can follow the rule (word_path.py)
    word_which_object: int = 0  # 1: that rank's A row adds the base embedding of the word the rule is about, read by its own query; 2: that row gets a rank of its own (word_path.py)
    word_which_object_gate: int = 0  # 1: the object row is scaled by a gate on the pooled description and the object query's peak, open when it names a word to look for (word_path.py)
    word_which_b: float = 0.0  # grown by init_from: that rank's B map starts as this multiple of the naming map, other word negated (tied: its scales)

    def __post_init__(self):
        self.targets = tuple(self.targets)
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {self.variant!r}")
        if self.word_layers and not (self.read_tokens and "v_proj" in self.targets):
            raise ValueError("word_layers needs a word-piece reader (read_tokens > 0) and v_proj among the targets")
        if self.word_which not in (0, 1, 2) or (self.word_which and not self.word_layers):
            raise ValueError("word_which is 0 (off), 1 (learned B map) or 2 (tied to the naming map), and 1 or 2 needs word_layers > 0")
        if self.word_which_rule not in (0, 1) or (self.word_which_rule and not self.word_which):
            raise ValueError("word_which_rule is 0 or 1, and 1 needs the word path's second rank (word_which 1 or 2)")
        if self.word_which_object not in (0, 1, 2) or (self.word_which_object and not self.word_which):
            raise ValueError("word_which_object is 0, 1 or 2, and 1 or 2 needs the word path's second rank (word_which 1 or 2)")
        if self.word_which_object == 2 and (self.word_which != 2 or self.rank < 3):
            raise ValueError("word_which_object=2 gives the object row a third rank with the tied column: it needs word_which=2 and rank >= 3")
        if self.word_which_object_gate not in (0, 1) or (self.word_which_object_gate and not self.word_which_object):
            raise ValueError("word_which_object_gate is 0 or 1, and 1 needs the object row (word_which_object 1 or 2)")
        if self.word_which_object and self.piece_values != "base":
            raise ValueError("word_which_object maps a read piece back into the base's embeddings: it needs piece_values=base")
        if self.word_which == 2 and not (self.word_which_a > 0 or self.word_which_b):
            raise ValueError("a tied second rank (word_which=2) with a zero A row and zero scales gets no gradient: "
                             "set word_which_a > 0 or word_which_b (the scales' start)")
        if self.read_context < 0 or (self.read_context and not self.read_tokens):
            raise ValueError("read_context is a count of neighbours (>= 0) and needs a word-piece reader (read_tokens > 0)")
        if self.piece_values not in PIECE_VALUES:
            raise ValueError(f"piece_values must be one of {PIECE_VALUES}, not {self.piece_values!r}")
        if self.latent % 4:
            raise ValueError("latent must be a multiple of 4")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["targets"] = list(self.targets)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "HyperConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
