"""Object row probe: does a word's base embedding, made into a LoRA A row, fire on that word in the input?

The word path's object row (hypernet/word_path.py, HyperConfig.word_which_object) makes rank 1's
A row of v_proj in the last layers from the base embedding of the word a description names. That
only helps if the row, dotted with v_proj's input (the normed residual) at those layers, is
larger at the word's own tokens than at other tokens. For each word of rule_words_composed_word
(synthetic.WORD_RULE_VOCAB) and each of the last `--layers` layers, this reports the AUC of that
score for "this token is the word" over every token of word-list inputs (0.5: chance), for two
rows made from the word's piece value (hypernet/piece_values.py):
- "embedding": the value mapped back to the word's centred embedding;
- "fitted": train/object_basis.py's detector, fitted on news sentences as training fits it.

With --last it also asks whether the last prompt position, the one the first answer token is
read from, knows which words the list had: the AUC of "the list carries the word" over lists,
for the raw row and for a bag detector (train/object_basis.py's fit, but from the mean centred
embedding of every token so far, chat-formatted news sentences).

    .venv/bin/python -m scripts.object_row_probe --store DIR [--inputs 100] [--layers 4] [--last] [--threads 2] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from scripts.word_check import _emit


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    both = np.concatenate([pos, neg])
    for value in np.unique(both):  # average the ranks of ties
        tied = both == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def word_aucs(scores: np.ndarray, token_ids: np.ndarray, word_ids: np.ndarray, words) -> dict[str, float]:
    """{word: AUC of its row's scores [tokens, words] for "this token is the word"}, for the words
    that occur among the tokens."""
    return {w: round(auc(scores[:, k], token_ids == word_ids[k]), 3) for k, w in enumerate(words)
            if (token_ids == word_ids[k]).any()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", type=Path, required=True, help="task store with olmo.rte and olmo.mrpc (t2l-edge data build)")
    p.add_argument("--inputs", type=int, default=100, help="word lists to run through the base")
    p.add_argument("--layers", type=int, default=4, help="the last this many layers (hypernet.word_layers)")
    p.add_argument("--last", action="store_true", help="also the last prompt position of chat-formatted lists (slower)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)

    import torch
    from transformers import AutoTokenizer

    from t2l_edge.data import synthetic
    from t2l_edge.data.store import TaskStore
    from t2l_edge.hypernet.encoder import minilm_path
    from t2l_edge.hypernet.piece_values import base_values_and_basis
    from t2l_edge.train.base_torch import load_base_torch
    from t2l_edge.train.object_basis import OBJECT_FIT_SENTENCES, detectors, v_proj_inputs, word_token_ids

    torch.set_num_threads(args.threads)
    store = TaskStore(args.store)
    lists = [ex.prompt for ex in synthetic.family_inputs(synthetic.RULE_WORDS_COMPOSED_WORD, store.examples, "train")]
    news = [ex.prompt for ex in synthetic.family_inputs(synthetic.RULE_WORDS_SPLIT, store.examples, "train")]
    model, tok, _ = load_base_torch()
    table, basis = base_values_and_basis(minilm_path() / "tokenizer.json", 384)
    pieces = AutoTokenizer.from_pretrained(str(minilm_path()))
    words = synthetic.WORD_RULE_VOCAB
    values = torch.stack([table[pieces.convert_tokens_to_ids(w)] for w in words])  # [words, piece dim]
    word_ids = np.array(word_token_ids(tok, words))
    n_layer = model.config.num_hidden_layers
    layers = list(range(n_layer - args.layers, n_layer))
    fit_ids, fit_x = v_proj_inputs(model, tok, news[:OBJECT_FIT_SENTENCES], layers)
    token_ids, inputs = v_proj_inputs(model, tok, lists[:args.inputs], layers)
    token_ids = token_ids.numpy()
    emb = model.get_input_embeddings().weight.detach().float()
    held = set(synthetic.HELDOUT_WORDS)
    out = {"inputs": len(lists[:args.inputs]), "fit_sentences": len(news[:OBJECT_FIT_SENTENCES]), "layers": layers,
           "auc": {}, "mean_auc": {}}
    for i in layers:
        rows = {"embedding": values @ basis.T, "fitted": values @ (detectors(emb, fit_ids, fit_x[i]) @ basis).T}
        for kind, r in rows.items():
            by = word_aucs((inputs[i] @ r.T).numpy(), token_ids, word_ids, words)
            out["auc"].setdefault(kind, {})[str(i)] = by
            out["mean_auc"].setdefault(kind, {})[str(i)] = {
                "trained": round(float(np.mean([a for w, a in by.items() if w not in held])), 3),
                "heldout": round(float(np.mean([a for w, a in by.items() if w in held])), 3),
                "min": round(float(min(by.values())), 3)}
    if args.last:
        out["last_position"] = last_position_auc(model, tok, news[:OBJECT_FIT_SENTENCES], lists[:2 * args.inputs], layers)
    return _emit(out, args.json)


def _chat_inputs(model, tok, texts: list[str], layers: list[int]):
    """v_proj_inputs of the chat-formatted texts (the prompt as the engine sends it)."""
    from t2l_edge.train.object_basis import v_proj_inputs

    chats = [tok.apply_chat_template([{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True)
             for t in texts]
    lengths = [len(tok(c, add_special_tokens=False)["input_ids"]) for c in chats]
    ids, inputs = v_proj_inputs(model, tok, chats, layers, add_special_tokens=False)
    return ids, inputs, lengths


def last_position_auc(model, tok, news: list[str], lists: list[str], layers: list[int]) -> dict:
    """{layer: {"raw": mean AUC, "bag": mean AUC}} of "the list carries the word", scored at each
    list's last prompt position by the word's centred embedding (raw) or by a bag detector."""
    import torch

    from t2l_edge.data import synthetic
    from t2l_edge.train.object_basis import feature_detectors, word_token_ids

    emb = model.get_input_embeddings().weight.detach().float()
    mu = emb.mean(0)
    fit_ids, fit_x, fit_len = _chat_inputs(model, tok, news, layers)
    bags, start = [], 0
    for n in fit_len:  # the mean centred embedding of every token up to each position
        e = emb[fit_ids[start:start + n]] - mu
        bags.append(torch.cumsum(e, 0) / torch.arange(1, n + 1)[:, None])
        start += n
    bag = torch.cat(bags)
    _, list_x, list_len = _chat_inputs(model, tok, lists, layers)
    last = torch.tensor(list_len).cumsum(0) - 1
    words = synthetic.WORD_RULE_VOCAB
    rows = emb[word_token_ids(tok, words)] - mu
    present = np.array([[w in t.split() for w in words] for t in lists])
    out = {}
    for i in layers:
        d = feature_detectors(bag, fit_x[i])
        x = list_x[i][last] - fit_x[i].mean(0)
        out[str(i)] = {kind: round(float(np.mean([auc(sc[:, k], present[:, k]) for k in range(len(words))])), 3)
                       for kind, sc in (("raw", (x @ rows.T).numpy()), ("bag", (x @ (d @ rows.T)).numpy()))}
    return out


if __name__ == "__main__":
    sys.exit(main())
