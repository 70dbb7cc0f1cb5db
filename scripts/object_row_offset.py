#!/usr/bin/env python
"""How far the object row's scores sit off zero on word lists, against how far the word lifts them.

The object row (hypernet/word_path.py) is a detector of the rule's word, fitted on the base
(train/object_basis.py). Its AUC for the word's tokens is high (scripts/object_row_probe.py), but
a LoRA row also answers every other token: through attention spread over the prompt, a score that
sits off zero on every token adds up, while only the word's token carries the rule. Per layer and
word, over the tokens of word lists (rule_words_composed_word's inputs), this prints the mean score
(the offset), its spread, and the mean score on the word's own tokens minus the mean.

    .venv/bin/python -m scripts.object_row_offset --store DIR [--centre] [--json F]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

WORDS = 12  # the first words of WORD_RULE_VOCAB
LISTS = 40  # word lists scored


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", type=Path, required=True, help="task store the word lists are drawn from")
    p.add_argument("--centre", action="store_true", help="fit the basis without its response to the mean input (object_basis.without_mean_response)")
    p.add_argument("--layers", type=int, default=4, help="the last N layers, as hypernet.word_layers")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import torch

    from t2l_edge.core.basemodel import resolve_base
    from t2l_edge.data import synthetic
    from t2l_edge.data.store import TaskStore
    from t2l_edge.hypernet.config import HyperConfig
    from t2l_edge.hypernet.reader import split_packed
    from t2l_edge.train.base_torch import load_base_torch
    from t2l_edge.train.object_basis import news_object_basis, v_proj_inputs, word_token_ids
    from t2l_edge.train.tasks import DescriptionEmbedder

    torch.set_num_threads(args.threads)
    model, tok, _ = load_base_torch(resolve_base(None))
    n_layer = model.config.num_hidden_layers
    layers = list(range(n_layer - args.layers, n_layer))
    basis = news_object_basis(model, tok, str(args.store), layers, HyperConfig().emb_dim, print, centre=args.centre)
    words = list(synthetic.WORD_RULE_VOCAB[:WORDS])
    values = split_packed(torch.from_numpy(DescriptionEmbedder(pieces=True, values="base")(words)))[2][:, 1]  # piece 1: after [CLS]
    lists = [ex.prompt for ex in synthetic.family_inputs(synthetic.RULE_WORDS_COMPOSED_WORD, TaskStore(args.store).examples, "train")][:LISTS]
    ids, inputs = v_proj_inputs(model, tok, lists, layers)
    word_ids = word_token_ids(tok, words)
    out = {}
    for k, layer in enumerate(layers):
        scores = inputs[layer] @ (values @ basis[k].T).T  # [tokens, words]
        on_word = torch.stack([scores[ids == w, j].mean() for j, w in enumerate(word_ids)])
        out[layer] = {"offset": scores.mean(0).tolist(), "spread": scores.std(0).tolist(),
                      "word_lift": (on_word - scores.mean(0)).tolist()}
        print(f"layer {layer}: offset {scores.mean(0).mean():+.2f} (range {scores.mean(0).min():+.2f} to "
              f"{scores.mean(0).max():+.2f}), spread {scores.std(0).mean():.2f}, "
              f"on the word's tokens {float((on_word - scores.mean(0)).mean()):+.2f} above the mean")
    if args.json:
        args.json.write_text(json.dumps({"centre": args.centre, "words": words, "layers": out}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
