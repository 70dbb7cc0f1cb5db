#!/usr/bin/env python
"""Does a description's embedding say which word to answer? A linear probe of the generator's input.

The label-word families ask for an adapter that answers with the words its description names
("If the second sentence follows from the first, answer Y; otherwise answer N."). Trained
generators learn to answer with *a* label-like word but not with Y or N when the words are new
(docs/specificity.md). The generator sees only the encoder's pooled embedding of the text, so
this asks whether that embedding carries the answer at all: a ridge map, fitted on word pairs
of the label-words vocabulary (t2l_edge/data/label_words.txt), from the embedding of each of the
family's ten wordings to the base's input embedding of Y's token, scored on pairs of words no
training pair uses. Candidates are all the vocabulary's words.

- `description`: the ridge map. `top1`, `top10`, `median_rank`: rank of Y's token among the
  candidates by cosine with the prediction: does the embedding say which words are named?
  `binding`: share of held-out wordings whose prediction is nearer Y than N (chance 0.5): does
  it say which of the two named words answers "follows"?
- `word_alone`: the same map fitted on the bare word's embedding: how much of a word's identity
  the encoder keeps at all (the ceiling for `identity`).
- `binding_one_wording`: `binding` with a ridge map fitted and scored on one wording at a time
  (the mean over the ten), where the role is the word's place in a fixed sentence.
- `description_mlp`: `description` with a one-hidden-layer MLP (PyTorch, cosine loss) instead of
  the ridge map, since the generator itself is nonlinear.
- `token_role`: the encoder's own token states before pooling (PyTorch MiniLM, fp32). A linear
  classifier on the state of each named word's token says whether it is the Y or the N word,
  across all ten wordings, on held-out words: `paired` is the share of wordings whose Y token
  scores above its N token (chance 0.5). This is what a generator that attends over the tokens,
  instead of reading their mean, could use.
- `token_attention`: `description_mlp` with attention pooling (4 learned queries) over those
  token states in place of the mean: no word positions given, as a generator would read them.
- `token_attention_pieces`: the same attention, keyed on the states as before, but pooling each
  piece's input word-piece embedding instead of its state.
- `token_attention_reader`: `token_attention_pieces` with an MLP computing the keys: how the
  generator's word-piece reader reads (hypernet/reader.py).

    .venv/bin/python -m scripts.word_probe [--bundle models/default] [--json results/word-probe.json]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from scripts.make_label_wordlist import space_words

WORDINGS = 10  # synthetic._label_word_descriptions gives ten wordings per pair
LAMBDAS = (1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1)


def pairs_of(words: list[str], rng: random.Random, rounds: int = 2) -> list[tuple[str, str]]:
    out = []
    for _ in range(rounds):
        order = words[:]
        rng.shuffle(order)
        out += list(zip(order[::2], order[1::2]))
    return out


def embed(gen, texts: list[str], batch: int = 256) -> np.ndarray:
    return np.concatenate([gen.embed(texts[i:i + batch]) for i in range(0, len(texts), batch)])


def ridge(x: np.ndarray, y: np.ndarray, lam: float):
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    w = np.linalg.solve(xc.T @ xc + lam * len(x) * np.eye(x.shape[1]), xc.T @ (y - my))
    return lambda z: (z - mx) @ w + my


def ranks(pred: np.ndarray, cand: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Rank (0 = best) of each row's gold candidate by cosine with its prediction."""
    p = pred / np.linalg.norm(pred, axis=1, keepdims=True)
    sims = p @ cand.T
    return (sims > sims[np.arange(len(gold)), gold][:, None]).sum(1)


def summary(r: np.ndarray) -> dict:
    return {"top1": round(float((r == 0).mean()), 3), "top10": round(float((r < 10).mean()), 3),
            "median_rank": float(np.median(r))}


def fit_and_score(x_tr, y_tr, x_va, gold_va, x_te, gold_te, cand) -> tuple[float, np.ndarray, object]:
    """The lambda with the best validation median rank; its ranks on the test rows and its map."""
    best = min(LAMBDAS, key=lambda lam: np.median(ranks(ridge(x_tr, y_tr, lam)(x_va), cand, gold_va)))
    f = ridge(np.concatenate([x_tr, x_va]), np.concatenate([y_tr, cand[gold_va]]), best)
    return best, ranks(f(x_te), cand, gold_te), f


def mlp_map(x: np.ndarray, y: np.ndarray, epochs: int = 400, hidden: int = 1024):
    """A one-hidden-layer MLP from x to y's direction, full-batch Adam on 1 - cosine."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.GELU(), torch.nn.Linear(hidden, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        opt.zero_grad()
        loss = 1 - torch.nn.functional.cosine_similarity(net(xt), yt).mean()
        loss.backward()
        opt.step()
    return lambda z: net(torch.from_numpy(z)).detach().numpy()


def load_encoder():
    """(PyTorch MiniLM, fp32; its tokenizer), loaded once for both token-state probes."""
    from tokenizers import Tokenizer

    from t2l_edge.hypernet.encoder import load_minilm

    enc, folder = load_minilm()
    return enc, Tokenizer.from_file(str(folder / "tokenizer.json"))


def token_states(encoder, texts: list[str], batch: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(word-piece ids [N, T], mask [N, T], last-layer states [N, T, 384], the word-piece
    embeddings the encoder starts from [N, T, 384]) of `encoder` (from load_encoder), padded to
    the longest text."""
    import torch

    enc, tok = encoder
    encs = tok.encode_batch(texts)
    width = max(len(e.ids) for e in encs)
    ids = np.array([e.ids + [0] * (width - len(e.ids)) for e in encs])
    mask = (np.arange(width)[None] < np.array([len(e.ids) for e in encs])[:, None]).astype(np.int64)
    states = np.zeros((len(texts), width, enc.bert.config.hidden_size), np.float32)
    with torch.inference_mode():
        for k in range(0, len(texts), batch):
            out = enc.bert(input_ids=torch.from_numpy(ids[k:k + batch]), attention_mask=torch.from_numpy(mask[k:k + batch]))
            states[k:k + batch] = out.last_hidden_state.numpy()
        pieces = enc.bert.embeddings.word_embeddings(torch.from_numpy(ids)).numpy()
    return ids, mask, states, pieces


def word_states(tok, seq: tuple, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The states at the Y and the N word of each text (mean over repeats); `seq` from token_states."""
    ids, _, states, _ = seq
    ys, ns = [], []
    for row, (y, n) in enumerate(pairs):
        ys.append(states[row, ids[row] == tok.token_to_id(y)].mean(0))
        ns.append(states[row, ids[row] == tok.token_to_id(n)].mean(0))
    return np.stack(ys), np.stack(ns)


def attention_map(seq: tuple, target: np.ndarray, heads: int = 4, epochs: int = 20, hidden: int = 1024,
                  values: str = "states", key_mlp: bool = False):
    """Attention pooling with `heads` learned queries over the token states, then an MLP to the
    target's direction; Adam on 1 - cosine, minibatches of 256, fixed settings (no selection).
    The keys always come from the last-layer states (where a word's role is); the pooled values
    are those states, or with values="pieces" the word-piece embeddings (where its identity is).
    The keys are a linear map of the states, or with `key_mlp` a one-hidden-layer MLP of them."""
    import torch

    torch.manual_seed(0)
    _, mask, states, pieces = seq
    pick = 3 if values == "pieces" else 2
    dim = states.shape[-1]

    class Read(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.query = torch.nn.Parameter(torch.randn(heads, dim) * dim ** -0.5)
            self.key = torch.nn.Sequential(torch.nn.Linear(dim, dim), torch.nn.GELU(), torch.nn.Linear(dim, dim)) \
                if key_mlp else torch.nn.Linear(dim, dim)
            self.out = torch.nn.Sequential(torch.nn.Linear(heads * dim, hidden), torch.nn.GELU(),
                                           torch.nn.Linear(hidden, target.shape[1]))

        def forward(self, h, v, m):
            logits = torch.einsum("qd,ntd->nqt", self.query, self.key(h)) / dim ** 0.5
            weights = logits.masked_fill(~m[:, None, :], float("-inf")).softmax(-1)
            return self.out(torch.einsum("nqt,ntd->nqd", weights, v).flatten(1))

    net, y = Read(), torch.from_numpy(target)
    h, v, m = torch.from_numpy(states), torch.from_numpy(seq[pick]), torch.from_numpy(mask.astype(bool))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(h), generator=gen).split(256):
            opt.zero_grad()
            (1 - torch.nn.functional.cosine_similarity(net(h[idx], v[idx], m[idx]), y[idx]).mean()).backward()
            opt.step()
    return lambda q: net(torch.from_numpy(q[2]), torch.from_numpy(q[pick]), torch.from_numpy(q[1].astype(bool))).detach().numpy()


def token_role(fit: tuple, test: tuple) -> dict:
    """A ridge classifier (Y = +1, N = -1) on the named words' token states, fitted on `fit`
    (y states, n states) and scored on `test`."""
    x = np.concatenate(fit)
    f = ridge(x, np.concatenate([np.ones(len(fit[0])), -np.ones(len(fit[1]))])[:, None], 1e-3)
    sy, sn = f(test[0])[:, 0], f(test[1])[:, 0]
    return {"paired": round(float((sy > sn).mean()), 3),
            "single": round(float(np.concatenate([sy > 0, sn < 0]).mean()), 3)}


def base_targets(words: list[str]) -> np.ndarray:
    """[words, 576] the base's input embedding of each word's token, unit length."""
    import gguf

    from t2l_edge.core.basemodel import default_base_path, open_gguf

    reader = open_gguf(default_base_path())
    tensor = next(t for t in reader.tensors if t.name == "token_embd.weight")
    table = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    ids = space_words(reader)
    cand = table[[ids[w] for w in words]].astype(np.float32)
    return cand / np.linalg.norm(cand, axis=1, keepdims=True)


def texts_of(pairs: list[tuple[str, str]]) -> list[str]:
    from t2l_edge.data.synthetic import _label_word_descriptions

    texts = [d for y, n in pairs for d in _label_word_descriptions(y, n)]
    assert len(texts) == WORDINGS * len(pairs)
    return texts


def pooled_probes(gen, cand, index, splits) -> dict:
    """`description`, `description_mlp`: maps from the pooled embedding to Y's token."""
    (x_tr, yes_tr, _), (x_va, yes_va, _), (x_te, yes_te, no_te) = [
        (embed(gen, texts_of(pairs)), np.repeat([index[y] for y, _ in pairs], WORDINGS),
         np.repeat([index[n] for _, n in pairs], WORDINGS)) for pairs in splits]
    lam, r, f = fit_and_score(x_tr, cand[yes_tr], x_va, yes_va, x_te, yes_te, cand)
    one = [_binding(ridge(x_tr[k::WORDINGS], cand[yes_tr[k::WORDINGS]], lam)(x_te[k::WORDINGS]), cand,
                    yes_te[k::WORDINGS], no_te[k::WORDINGS]) for k in range(WORDINGS)]
    g = mlp_map(np.concatenate([x_tr, x_va]), np.concatenate([cand[yes_tr], cand[yes_va]]))
    return {"description": {"lambda": lam, **summary(r), "binding": round(_binding(f(x_te), cand, yes_te, no_te), 3),
                            "binding_one_wording": round(float(np.mean(one)), 3)},
            "description_mlp": {**summary(ranks(g(x_te), cand, yes_te)),
                                "binding": round(_binding(g(x_te), cand, yes_te, no_te), 3)}}


def word_alone_probe(gen, cand, index, fit: list[str], val: list[str], test: list[str]) -> dict:
    alone = dict(zip(fit + val + test, embed(gen, fit + val + test)))
    xs = [np.stack([alone[w] for w in ws]) for ws in (fit, val, test)]
    golds = [np.array([index[w] for w in ws]) for ws in (fit, val, test)]
    lam, r, _ = fit_and_score(xs[0], cand[golds[0]], xs[1], golds[1], xs[2], golds[2], cand)
    return {"lambda": lam, **summary(r)}


def main() -> None:
    from t2l_edge.data import label_vocab
    from t2l_edge.runtime import Generator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=Path("models/default"), help="bundle whose encoder embeds the texts")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    p.add_argument("--attn-heads", type=int, default=4, help="learned queries of the attention probe")
    p.add_argument("--attn-epochs", type=int, default=20, help="training epochs of the attention probe")
    args = p.parse_args()

    words = label_vocab.vocab_words()
    index, cand = {w: k for k, w in enumerate(words)}, base_targets(words)
    test_words, fit_words, rng = label_vocab.probe_split()
    val_words, fit_words = fit_words[:len(fit_words) // 10], fit_words[len(fit_words) // 10:]
    splits = pairs_of(fit_words, rng), pairs_of(val_words, rng, rounds=1), pairs_of(test_words, rng, rounds=1)
    gen = Generator.load(args.bundle, threads=args.threads)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # the MLP, attention and token-state parts

    encoder = load_encoder()
    seq_fit, seq_test = token_states(encoder, texts_of(splits[0])), token_states(encoder, texts_of(splits[2]))
    roles = token_role(word_states(encoder[1], seq_fit, [pr for pr in splits[0] for _ in range(WORDINGS)]),
                       word_states(encoder[1], seq_test, [pr for pr in splits[2] for _ in range(WORDINGS)]))
    yes_fit = np.repeat([index[y] for y, _ in splits[0]], WORDINGS)
    yes_test, no_test = (np.repeat([index[w[k]] for w in splits[2]], WORDINGS) for k in (0, 1))
    attention = {}
    for name, values, key_mlp in (("states", "states", False), ("pieces", "pieces", False), ("reader", "pieces", True)):
        pred = attention_map(seq_fit, cand[yes_fit], heads=args.attn_heads, epochs=args.attn_epochs, values=values,
                             key_mlp=key_mlp)(seq_test)
        attention[name] = {"heads": args.attn_heads, "epochs": args.attn_epochs, **summary(ranks(pred, cand, yes_test)),
                           "binding": round(_binding(pred, cand, yes_test, no_test), 3)}
    out = {"bundle": str(args.bundle), "candidates": len(words), "fit_words": len(fit_words) + len(val_words),
           "test_words": len(test_words), "test_wordings": WORDINGS * len(splits[2]),
           "chance_top1": round(1 / len(words), 4), "chance_median_rank": len(words) / 2,
           **pooled_probes(gen, cand, index, splits),
           "word_alone": word_alone_probe(gen, cand, index, fit_words, val_words, test_words), "token_role": roles,
           "token_attention": attention["states"], "token_attention_pieces": attention["pieces"],
           "token_attention_reader": attention["reader"]}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")


def _binding(pred, cand, yes, no) -> float:
    """Share of rows whose prediction is nearer the Y word than the N word."""
    return float(((pred * cand[yes]).sum(1) > (pred * cand[no]).sum(1)).mean())


if __name__ == "__main__":
    main()
