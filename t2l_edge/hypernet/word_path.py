"""A direct path from the words a description names to the adapter that makes the base say them.

Through the trunk, a word the reader found (hypernet/reader.py) reaches the LoRA weights only
after two residual blocks and a head shared with everything else a description asks for; under
SFT that map was not learned for words outside training (docs/specificity.md). With the pieces'
values in the base's own embedding space (hypernet/piece_values.py) the map is nearly linear:
the base's output head is its input embedding, so saying a word means adding that word's
embedding to the last residual, which a v_proj adapter in the last layers does through o_proj.
This path gives it a linear map of its own: in each of the last `layers` layers, v_proj's B
column 0 gains a linear function of what the queries read, and A row 0 a learned vector that
decides on which inputs it fires. Both start at zero, so a generator that grows the path starts
from exactly its earlier adapters (init_from).

`which` adds the same map on rank 1: a second B column and A row for which of the named words
the input asks for. Under SFT on "answer Y if the sentence has a digit, N otherwise", generators
with rank 0 alone settle on one named word per description, whatever the input. Our hypothesis
(docs/specificity.md, "Binding a named word to a rule the base can compute"): there the pulls
along Y - N cancel over inputs balanced between Y and N, unless some A row already varies with
the rule. A second column that starts at zero sees those pulls weighted by its own A row, so it
can grow along Y - N if that row varies with the rule. `which_a`
starts that row at random, as a LoRA's A starts, so it varies with the input from the outset.
It adds to the trunk's own rank-1 row, whose B column is not zero, so with which_a > 0 a grown
generator starts near its earlier adapters rather than exactly at them. `start_which_from_naming`
(HyperConfig.word_which_b) starts the B map instead, from the trained naming map; with a zero B
map the A row gets no gradient at all.

`which` = 2 (WHICH_TIED) ties that B map to the naming map: rank 1's B column in each layer is a
learned scale times what the naming map says for the holding word's read minus the other word's
(the role term's layout, train/roles.py): "the holding word, not the other", negated exactly
when the roles are exchanged.
A free B map keyed on the words it trained on can bind them by role (digit-long: +10.5 nats on 4
word pairs) without a rule that carries to new words; the tied map has only its scales to learn,
and carries to any word the naming map can say, as far as the reader reads its role.

`rule_dim` (HyperConfig.word_which_rule) lets that rank's A row follow the description: it adds a
linear map of the pooled description embedding, starting at zero. Rank 1's A row is otherwise
one learned vector per layer, the same for every description, so it can look for digits or for
commas but not for digits under one description and commas under the next (docs/specificity.md,
"Which part of binding fails"). The trunk's own rank-1 row depends on the description too, but
reaches it only through the shared head.

`object_dim` (HyperConfig.word_which_object) builds that row from the rule's own words instead
of from a map learned per rule. A rule map trained on four surface rules sent a fifth, held out,
to nothing: it learned one direction per rule, not a way to make one from a rule's words
(docs/specificity.md, "Does the rule map read a rule it never trained on?"). Here a query of its
own reads, through the reader's keys, one piece of the description (the word the rule is about:
"answer Y if the text contains the word *apple*"), whose value is the base's own embedding of
that word projected onto its principal directions (hypernet/piece_values.py). `object_basis`,
fixed by the base (train/object_basis.py), maps it to a row that fires where the input carries
that word in each layer, and a learned gain per layer, starting at zero, scales that row into
rank 1's. Only a scalar: a gain per feature (tried first) reweights the row's features and, we
think, so turns it away from the word; it stayed near zero and the adapters ignored the rule, trained
words included. Nothing in the map is specific to a word, so what it learns on trained words
applies to any word the query reads. SFT left the scalar gains near zero too; set to 2 by hand,
adapters follow their word, held-out words included, but the row acts on every description, pool
tasks' too (docs/specificity.md, "An A row built from the rule's own word").

`gate_dim` (HyperConfig.word_which_object_gate) scales the object row by a gate: open for a
description that names a word to look for, shut for the rest. The object query reads some piece
of every description, so without a gate the row fired on pool tasks too, and SFT bent the rest of
the adapter against it. The gate is the sigmoid of a linear map of the pooled description and of
the object query's peak (its largest attention logit: how sharply it found one piece). The pooled
embedding alone did not carry to held-out wordings (open 0.64 on them); the peak is high wherever
the query finds its kind of piece, whatever the wording around it. The gate learns from its own
labels (train/roles.py), not from SFT, whose gradient on a row that helps a few tasks has no
steady sign. It starts half open (zero weight and bias).

`object_rank` = 2 (OBJECT_OWN_RANK, HyperConfig.word_which_object=2) gives the object row a rank
of its own: rank 2's A row is the object row alone, and its B column the tied column of rank 1
("the holding word, not the other") at a scale of its own per layer. In rank 1 the object row
shares one B column with a learned row, a random row and the rule map, whose noise SFT cuts by
cutting the column; alone, the row keeps what it does unless SFT turns its own scale down.
"""

from __future__ import annotations

import torch
from torch import nn

WORD_MODULE = "v_proj"  # its output reaches the residual through o_proj alone
WHICH_FREE, WHICH_TIED = 1, 2  # HyperConfig.word_which: the second rank's B map learned, or tied to the naming map
OBJECT_IN_RANK_1, OBJECT_OWN_RANK = 1, 2  # HyperConfig.word_which_object: the object row added to rank 1's A row, or a rank of its own


class WordPath(nn.Module):
    def __init__(self, read_dim: int, layers: int, fin: int, fout: int, which: int = 0, which_a: float = 0.0,
                 query_dim: int | None = None, rule_dim: int = 0, object_dim: int = 0, gate_dim: int = 0,
                 object_rank: int = OBJECT_IN_RANK_1):
        super().__init__()
        self.layers, self.fout = layers, fout
        # What the reader read is `queries` blocks of query_dim; under the role term the first
        # half of the queries read the holding class's word, the rest the other's (train/roles.py).
        self.query_dim = query_dim or read_dim // 2
        self.queries = read_dim // self.query_dim
        self.holding_width = self.queries // 2 * self.query_dim
        self.to_b = nn.Linear(read_dim, layers * fout, bias=False)
        nn.init.zeros_(self.to_b.weight)
        self.a = nn.Parameter(torch.zeros(layers, fin))
        if which == WHICH_FREE:  # after the rank-0 parameters, so they draw the same values either way
            self.which_b = nn.Linear(read_dim, layers * fout, bias=False)
            nn.init.zeros_(self.which_b.weight)
        elif which == WHICH_TIED:
            self.which_scale = nn.Parameter(torch.zeros(layers))
        if which:
            self.which_a = nn.Parameter(torch.randn(layers, fin) * which_a)
        if rule_dim:  # after which_a, so which_a draws the same values either way
            self.which_rule = nn.Linear(rule_dim, layers * fin, bias=False)
            nn.init.zeros_(self.which_rule.weight)
        if object_dim:  # last, so the parts above draw the same values either way
            self.object_query = nn.Parameter(torch.randn(1, object_dim) * object_dim ** -0.5)
            self.object_gain = nn.Parameter(torch.zeros(layers))
            # Filled from the base by start_object_from_base; saved with the weights.
            self.register_buffer("object_basis", torch.zeros(layers, fin, object_dim))
        if object_dim and object_rank == OBJECT_OWN_RANK:  # rank 2's B: the tied column, its own scale per layer
            self.object_scale = nn.Parameter(torch.zeros(layers))
        if gate_dim:
            self.object_gate = nn.Linear(gate_dim, 1)
            nn.init.zeros_(self.object_gate.weight)
            nn.init.zeros_(self.object_gate.bias)

    @torch.no_grad()
    def start_which_from_naming(self, scale: float) -> None:
        """Start rank 1's B map as `scale` times rank 0's trained naming map, with the columns
        of the queries that read the other word (all after `holding_width`, the role term's
        layout: train/roles.py) negated: a column that says the holding word and not the
        other. Rank 1's A row then gets a gradient that points at what tells the two classes'
        inputs apart, as a LoRA's A does once its B is not zero; from zero B it gets none. A
        tied rank (WHICH_TIED) is that map already: its scales start at `scale`."""
        if hasattr(self, "which_scale"):
            self.which_scale.fill_(scale)
            return
        w = self.to_b.weight.clone()
        w[:, self.holding_width:] *= -1
        self.which_b.weight.copy_(scale * w)

    @torch.no_grad()
    def start_object_from_base(self, basis: torch.Tensor) -> None:
        """basis [layers, in, piece dim] (train/object_basis.py): per layer, a read piece to the
        A row that fires on that word."""
        if basis.shape != self.object_basis.shape:
            raise ValueError(f"the base's value basis is {list(basis.shape)}, the word path needs {list(self.object_basis.shape)}")
        self.object_basis.copy_(basis)

    def gate(self, gate_in: torch.Tensor) -> torch.Tensor:
        """[T]: how far the object row's gate opens for these gate inputs (HyperNetwork.object_gate_input)."""
        return torch.sigmoid(self.object_gate(gate_in)).squeeze(-1)

    def _holding_minus_other(self, read: torch.Tensor) -> torch.Tensor:
        """[T, layers * out]: the naming map's column for the holding word's mean read minus the
        other word's, each read as if by every query, so exchanging the roles negates it exactly
        (the naming map's query blocks need not be alike)."""
        blocks = read.view(read.shape[0], self.queries, self.query_dim)
        half = self.queries // 2
        diff = blocks[:, :half].mean(1) - blocks[:, half:].mean(1)
        return self.to_b(diff.repeat(1, self.queries))

    def forward(self, a: torch.Tensor, b: torch.Tensor, read: torch.Tensor,
                pooled: torch.Tensor | None = None, obj: torch.Tensor | None = None,
                gate_in: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """a [T, L, r, in], b [T, L, out, r], read [T, read_dim], pooled [T, emb_dim] (read only
        with rule_dim), obj [T, object_dim] (what object_query read; only with object_dim), gate_in
        [T, gate_dim] (the gate's input; only with gate_dim) ->
        (a, b) with rank 0 (and with `which`, rank 1) of the last `layers` layers added to."""
        k, t = self.layers, a.shape[0]
        rows, cols = [self.a], [self.to_b(read)]
        if hasattr(self, "which_b"):
            rows.append(self.which_a)
            cols.append(self.which_b(read))
        elif hasattr(self, "which_scale"):
            tied = self._holding_minus_other(read)
            rows.append(self.which_a)
            cols.append(tied * self.which_scale.repeat_interleave(self.fout)[None])
        n = len(rows)
        add_a = torch.stack(rows, dim=1)[None]  # [1, k, n, in]
        if hasattr(self, "which_rule"):
            rule_row = self.which_rule(pooled).view(t, k, 1, -1)
            add_a = add_a + torch.cat([torch.zeros_like(rule_row), rule_row], dim=2)  # [T, k, 2, in]
        if hasattr(self, "object_gain"):
            object_row = (torch.einsum("kfd,td->tkf", self.object_basis, obj) * self.object_gain[None, :, None]).unsqueeze(2)  # [T, k, 1, in]
            if hasattr(self, "object_gate"):
                # Detached: only the gate's own labels train it (train/roles.py), not SFT's gradient.
                object_row = object_row * self.gate(gate_in).detach().view(t, 1, 1, 1)
            if hasattr(self, "object_scale"):  # rank 2: the object row alone, with the tied column (OBJECT_OWN_RANK needs WHICH_TIED)
                add_a = torch.cat([add_a.expand(t, -1, -1, -1), object_row], dim=2)
                cols.append(tied * self.object_scale.repeat_interleave(self.fout)[None])
                n += 1
            else:
                add_a = add_a + torch.cat([torch.zeros_like(object_row), object_row], dim=2)
        add_b = torch.stack([c.view(t, k, self.fout) for c in cols], dim=3)  # [T, k, out, n]
        top_a = torch.cat([a[:, -k:, :n] + add_a, a[:, -k:, n:]], dim=2)
        top_b = torch.cat([b[:, -k:, :, :n] + add_b, b[:, -k:, :, n:]], dim=3)
        return torch.cat([a[:, :-k], top_a], dim=1), torch.cat([b[:, :-k], top_b], dim=1)
