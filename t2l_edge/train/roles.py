"""The role term: teach the word-piece reader which named word answers which class.

A generator that binds "answer Y if the sentence has a digit, N otherwise" must tell Y from N by
their roles, not by which words they are. Under SFT alone it does not: trained on a description
and its role-swapped twin (the same words, answers exchanged) it made the same adapter for both
(docs/specificity.md, "Which part of binding fails"). The encoder's token states do keep the role
(scripts/word_probe.py: an attention reader finds the answer word over the other on 86% of
unseen pairs when trained for it), so this term trains for it: on descriptions of the label
families (data/synthetic.py, variants with `roles`), the first half of the reader's queries
should pool the value of the word for the class that holds and the second half the word for the
other, the layout scripts/pretrain_reader.py warms up. Loss: 1 - cosine of each query's read
with its word's value, averaged. The words' values are the encoder's own piece
values of the bare word, the space the reader pools (hypernet/piece_values.py).

A generator with an object query (hypernet/word_path.py, HyperConfig.word_which_object) gets the
same kind of term for it on variants that name the word their rule is about (`Variant.object`):
its read should be that word's value. With a gate on that row (HyperConfig.word_which_object_gate),
the gate should open on exactly those descriptions and stay shut on every other: the pool tasks',
other code-built families' and nonsense strings (fit_gate once; then a logistic loss, half
positives and half negatives a step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from ..hypernet.reader import split_packed


class PackedRows:
    """Packed descriptions held as views into their variants' arrays, stacked only when picked:
    the term reads a few rows a step, and a stacked copy of every row doubled the memory of the
    descriptions (pretrain_roles on rule_words_composed_rules peaked at 14.1 GB with it, 7.1 GB without)."""

    def __init__(self, rows: list[np.ndarray]):
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index) -> np.ndarray:
        """One row for an int; [n, 1 + pieces, 2 * dim] for a slice or an array of indices."""
        if isinstance(index, (int, np.integer)):
            return self._rows[index]
        picked = self._rows[index] if isinstance(index, slice) else [self._rows[i] for i in index]
        return np.stack(picked)


@dataclass
class RoleData:
    packed: PackedRows | np.ndarray  # [N, 1 + pieces, 2 * dim]: descriptions that name both words
    targets: np.ndarray  # [N, 2, dim]: value of the word for the class that holds, then the other's
    objects: np.ndarray | None = None  # [N, dim]: value of the word the rule is about, zeros where none
    has_object: np.ndarray | None = None  # [N] bool
    gate_rows: PackedRows | None = None  # [G, 1 + pieces, 2 * dim]: descriptions the object row's gate trains on
    gate_open: np.ndarray | None = None  # [G] bool: whether the description names the word its rule is about

    def __len__(self) -> int:
        return len(self.packed)


def _names(text: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", text, re.IGNORECASE) is not None


def role_data(families, embed, split: str, tasks=()) -> RoleData | None:
    """From conflict families (train/conflict.py) whose variants have roles: every description
    (of `split`'s wordings, as the families hold them) that names both words; and for the object
    row's gate, every description of the families and of `tasks` (train/tasks.TaskData), open
    where it names its rule's word."""
    from ..data import synthetic

    variants = {synthetic.task_id(f, v): v for f in synthetic.FAMILIES for v in f.split_variants(split) if v.roles}
    rows, words, objects = [], [], []
    for fam in families:
        for v in fam.variants:
            known = variants.get(v.task_id)
            for k, text in enumerate(v.descriptions if known else []):
                if all(_names(text, w) for w in known.roles):
                    rows.append(v.desc_emb[k])
                    words.append(known.roles)
                    objects.append(known.object if known.object and _names(text, known.object) else "")
    if not rows:
        return None
    vocab = sorted({w for pair in words for w in pair} | set(objects) - {""})
    values = dict(zip(vocab, split_packed(torch.from_numpy(embed(vocab)))[2][:, 1].numpy()))  # piece 1: after [CLS]
    values[""] = np.zeros_like(values[vocab[0]])
    has_object = np.array([bool(o) for o in objects])
    gate_rows = gate_open = None
    if has_object.any():  # descriptions to open the object row's gate on
        gate_rows, gate_open = _gate_rows(families, variants, tasks, embed, split)
    return RoleData(PackedRows(rows), np.stack([[values[y], values[n]] for y, n in words]).astype(np.float32),
                    np.stack([values[o] for o in objects]).astype(np.float32) if has_object.any() else None,
                    has_object if has_object.any() else None, gate_rows, gate_open)


GATE_PER_FAMILY = 200  # descriptions from each code-built family that names no word to look for
GATE_NONSENSE = 200  # and nonsense strings (seeds clear of the swap controls' random strings)


def _gate_rows(families, variants: dict, tasks, embed, split: str) -> tuple[PackedRows, np.ndarray]:
    """(G packed descriptions, [G] open): every description of the training families'
    variants, open where it names its variant's object word; shut: every description of the
    pool's tasks, of the other code-built families (a sample) and nonsense strings. Pool tasks
    alone were too few and too alike: a gate fitted on them opened 0.84 for "Translate the
    sentence into French." and 0.62 for a random string."""
    rows, open_ = [], []
    for fam in families:
        for v in fam.variants:
            known = variants.get(v.task_id)
            word = known.object if known is not None else ""
            for k, text in enumerate(v.descriptions):
                rows.append(v.desc_emb[k])
                open_.append(bool(word) and _names(text, word))
    for t in tasks:
        rows.extend(t.desc_emb)
        open_.extend([False] * len(t.desc_emb))
    others = _other_descriptions(split, {f.name for f in families})
    for i in range(0, len(others), 256):
        rows.extend(embed(others[i:i + 256]))
    open_.extend([False] * len(others))
    return PackedRows(rows), np.array(open_)


def _other_descriptions(split: str, skip: set[str]) -> list[str]:
    """Up to GATE_PER_FAMILY of `split`'s descriptions from each code-built family not in `skip`
    whose variants name no object word, and GATE_NONSENSE nonsense strings."""
    import random

    from ..data import synthetic
    from ..evaluation.rows import random_description
    from .conflict import split_descriptions

    rng, out = random.Random(f"gate-{split}"), []
    for fam in synthetic.FAMILIES:
        texts = [d for v in fam.split_variants(split) if not v.object for d in split_descriptions(v.descriptions, split)]
        if fam.name not in skip and texts:
            out += rng.sample(texts, min(GATE_PER_FAMILY, len(texts)))
    lengths = [len(t) for t in out] or [60]
    return out + [random_description("x" * rng.choice(lengths), seed=10_000 + k) for k in range(GATE_NONSENSE)]


def _reads(net, packed: torch.Tensor) -> torch.Tensor:
    """[N, queries, dim]: what each of the reader's queries pools."""
    _, states, pieces, mask = split_packed(packed.to(next(net.parameters()).device))
    return net.reader.pool(states, pieces, mask).view(len(packed), -1, pieces.shape[-1])


def _targets(data: RoleData, rows, queries: int) -> torch.Tensor:
    """[N, queries, dim]: the holding class's word for the first half of the queries, the other's for the rest."""
    t = torch.from_numpy(data.targets[rows])
    return t[:, [0] * (queries // 2) + [1] * (queries - queries // 2)]


def _object_reads(net, packed: torch.Tensor) -> torch.Tensor:
    """[N, dim]: what the word path's object query pools."""
    _, states, pieces, mask = split_packed(packed.to(next(net.parameters()).device))
    return net.reader.pool(states, pieces, mask, net.word_path.object_query)


def _reads_objects(net, data: RoleData) -> bool:
    return data.objects is not None and bool(getattr(net.cfg, "word_which_object", 0))


def role_loss(net, data: RoleData, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, dict]:
    """The term on n descriptions drawn with `rng`, and its mean cosine for the log; with an
    object query, plus the object term on those of them that name their rule's word."""
    pick = rng.choice(len(data), size=min(n, len(data)), replace=False)
    packed = torch.from_numpy(data.packed[pick])
    reads = _reads(net, packed)
    cos = torch.nn.functional.cosine_similarity(reads, _targets(data, pick, reads.shape[1]).to(reads.device), dim=-1)
    loss, info = (1 - cos).mean(), {"role_cos": float(cos.detach().mean())}
    named = data.has_object[pick] if _reads_objects(net, data) else np.zeros(len(pick), bool)
    if named.any():
        obj = _object_reads(net, packed[torch.from_numpy(named)])
        target = torch.from_numpy(data.objects[pick[named]]).to(obj.device)
        obj_cos = torch.nn.functional.cosine_similarity(obj, target, dim=-1)
        loss = loss + (1 - obj_cos).mean()
        info["object_cos"] = float(obj_cos.detach().mean())
    if _trains_gate(net, data):
        gate_loss, info["gate_loss"] = _gate_loss(net, data, rng, n)
        loss = loss + gate_loss
    return loss, info


def _trains_gate(net, data: RoleData) -> bool:
    return data.gate_rows is not None and bool(getattr(net.cfg, "word_which_object_gate", 0))


@torch.no_grad()
def _gate_inputs(net, data: RoleData, rows, chunk: int = 256) -> torch.Tensor:
    """[N, dim + 1]: what the gate reads for these gate rows. Without gradient: the gate's labels
    train the gate alone, not the reader's keys or the object query its peak comes from."""
    device = next(net.parameters()).device
    return torch.cat([net.object_gate_input(torch.from_numpy(data.gate_rows[rows[i:i + chunk]]).to(device))
                      for i in range(0, len(rows), chunk)])


def _gate_loss(net, data: RoleData, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, float]:
    """The gate's logistic loss on n/2 descriptions that should open it and n/2 that should not."""
    half = max(1, n // 2)
    pick = np.concatenate([rng.choice(np.flatnonzero(data.gate_open == side), size=half) for side in (True, False)])
    logits = net.word_path.object_gate(_gate_inputs(net, data, pick)).squeeze(-1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(data.gate_open[pick]).to(logits))
    return loss, float(loss.detach())


def fit_gate(net, data: RoleData, l2: float = 1e-5, steps: int = 500) -> float:
    """Fit the object row's gate at once: a logistic regression on every gate row, each side
    weighted to half, with a small L2 so separable rows keep finite weights. With the reader
    fixed, the gate's input is fixed, so this is the optimum the gate term's steps creep
    towards (at the reader's rate, a pooled-only gate took 2,000 steps to open 0.8 on held-out
    descriptions). Returns the final loss."""
    if not _trains_gate(net, data):
        raise ValueError("fit_gate needs a generator with an object row gate and gate rows")
    gate = net.word_path.object_gate
    x = _gate_inputs(net, data, np.arange(len(data.gate_open)))
    y = torch.from_numpy(data.gate_open).to(x)
    weight = torch.where(y > 0, 0.5 / y.sum(), 0.5 / (1 - y).sum())
    opt = torch.optim.LBFGS(gate.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def objective():
        bce = torch.nn.functional.binary_cross_entropy_with_logits(gate(x).squeeze(-1), y, weight=weight, reduction="sum")
        return bce + l2 * gate.weight.pow(2).sum()

    def closure():
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    opt.step(closure)  # returns the loss before the fit
    with torch.no_grad():
        return float(objective())


@torch.no_grad()
def gate_rates(net, data: RoleData) -> dict | None:
    """How far the object row's gate opens, on average, on descriptions that name their rule's
    word ("open") and on all others ("shut", ideally near 0); None without a gate or gate rows."""
    if not _trains_gate(net, data):
        return None
    x = _gate_inputs(net, data, np.arange(len(data.gate_open)))
    g = net.word_path.gate(x).cpu().numpy()
    return {"open": float(g[data.gate_open].mean()), "shut": float(g[~data.gate_open].mean())}


@torch.no_grad()
def object_accuracy(net, data: RoleData, chunk: int = 64) -> float | None:
    """The share of descriptions naming their rule's word whose object read is nearer that word
    than either named answer word; None without an object query or such descriptions."""
    if not _reads_objects(net, data):
        return None
    hits = []
    for i in range(0, len(data), chunk):
        named = data.has_object[i:i + chunk]
        if not named.any():
            continue
        obj = _object_reads(net, torch.from_numpy(data.packed[i:i + chunk])[torch.from_numpy(named)])
        words = torch.cat([torch.from_numpy(data.objects[i:i + chunk][named])[:, None],
                           torch.from_numpy(data.targets[i:i + chunk][named])], 1).to(obj.device)  # [n, 3, dim]
        sim = torch.nn.functional.cosine_similarity(obj[:, None], words, dim=-1)
        hits.append(sim.argmax(-1) == 0)
    return float(torch.cat(hits).float().mean())


@torch.no_grad()
def role_reads(net, data: RoleData, chunk: int = 64) -> dict:
    """How the reader's two halves of queries read each description: "right" (the first half
    nearer the holding class's word than the other's, the second half the reverse), "swapped"
    (both the other way), and "word" (the mean cosine of each half with its nearer word: near 1
    when the halves find the named words at all, lower when they read other pieces)."""
    right, swapped, word = [], [], []
    for i in range(0, len(data), chunk):
        reads = _reads(net, torch.from_numpy(data.packed[i:i + chunk]))
        half = reads.shape[1] // 2
        reads = torch.stack([reads[:, :half].mean(1), reads[:, half:].mean(1)], 1)
        t = torch.from_numpy(data.targets[i:i + chunk]).to(reads.device)
        sim = torch.nn.functional.cosine_similarity(reads[:, :, None], t[:, None], dim=-1)  # [N, query, word]
        right.append((sim[:, 0, 0] > sim[:, 0, 1]) & (sim[:, 1, 1] > sim[:, 1, 0]))
        swapped.append((sim[:, 0, 1] > sim[:, 0, 0]) & (sim[:, 1, 0] > sim[:, 1, 1]))
        word.append(sim.amax(-1).mean(-1))
    return {k: float(torch.cat(v).float().mean()) for k, v in (("right", right), ("swapped", swapped), ("word", word))}


def role_accuracy(net, data: RoleData) -> float:
    """role_reads' "right": 0.5 for a reader that finds the two words but not their roles."""
    return role_reads(net, data)["right"]
