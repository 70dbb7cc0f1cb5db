"""The object basis: a map from a word's base embedding to a v_proj A row that fires on that word.

The word path's object row (hypernet/word_path.py) turns the word a description names into rank
1's A row in the last layers. The word's own embedding is a poor row there: dotted with v_proj's
input (the normed residual) it picks out the word's tokens among a list's other words with an
AUC of about 0.72 in SmolLM2-135M's last four layers (scripts/object_row_probe.py). Those layers
still carry the token, but transformed. This fits the transformation from the base alone, on
plain sentences: per layer, a ridge map M from each token's centred input embedding e to v_proj's
input x (x ~ M e), then the detector for a word is (S + a I)^-1 M e_word, with S the covariance of
x: the direction along which that word's tokens stand out from the rest (as in linear discriminant
analysis). No label and no word list enters the fit, so it treats every word alike. Each layer's
map is scaled so that rows of random pieces give scores of unit spread over the fitted tokens.
"""

from __future__ import annotations

import torch

OBJECT_FIT_SENTENCES = 300  # news sentences the basis is fitted on (about 6,000 tokens)
OBJECT_FIT_SAMPLES = 256  # random pieces whose rows set each layer's scale
RIDGE = 1.0  # on E^T E when fitting M; scripts/object_row_probe.py saw 1-100 within 0.01 AUC
SHRINK = 0.1  # a = SHRINK x the mean variance of x, so rare directions of x do not dominate


@torch.no_grad()
def v_proj_inputs(model, tok, texts: list[str], layers: list[int],
                  add_special_tokens: bool = True) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """(token ids [N], {layer: v_proj's input at those tokens [N, width]}) over `texts`, one at a time."""
    captured: dict[int, list] = {i: [] for i in layers}
    hooks = [model.model.layers[i].self_attn.v_proj.register_forward_hook(
        lambda mod, inp, out, i=i: captured[i].append(inp[0][0].detach().float().cpu())) for i in layers]
    ids = []
    try:
        for text in texts:
            enc = tok(text, return_tensors="pt", add_special_tokens=add_special_tokens).to(model.device)
            model(**enc)
            ids.append(enc["input_ids"][0].cpu())
    finally:
        for h in hooks:
            h.remove()
    return torch.cat(ids), {i: torch.cat(x) for i, x in captured.items()}


def detectors(emb: torch.Tensor, token_ids: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """[width, emb width]: D with D e the detector for a word of centred embedding e, fitted on
    tokens `token_ids` whose v_proj inputs are x [N, width] (emb: the base's input embeddings)."""
    return feature_detectors(emb[token_ids], x)


def feature_detectors(features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """detectors() for any per-token features [N, emb width] in place of each token's own
    embedding (scripts/object_row_probe.py: the mean embedding of every token so far)."""
    e = features - features.mean(0)
    xc = x - x.mean(0)
    m = torch.linalg.solve(e.T @ e + RIDGE * torch.eye(e.shape[1]), e.T @ xc).T  # [width, emb width]
    cov = xc.T @ xc / len(xc)
    return torch.linalg.solve(cov + SHRINK * cov.diagonal().mean() * torch.eye(len(cov)), m)


def fit_object_basis(model, tok, texts: list[str], layers: list[int], value_basis: torch.Tensor,
                     sample_values: torch.Tensor, centre: bool = False) -> torch.Tensor:
    """[len(layers), width, piece dim]: per layer, detectors() after value_basis (piece value ->
    centred embedding), scaled so `sample_values` [n, piece dim] score with unit spread; with
    `centre`, first without_mean_response on the fitted tokens' mean input."""
    emb = model.get_input_embeddings().weight.detach().float().cpu()
    token_ids, inputs = v_proj_inputs(model, tok, texts, layers)
    out = []
    for i in layers:
        basis = detectors(emb, token_ids, inputs[i]) @ value_basis  # [width, piece dim]
        if centre:
            basis = without_mean_response(basis, inputs[i].mean(0))
        spread = ((inputs[i] - inputs[i].mean(0)) @ (sample_values @ basis.T).T).std()
        out.append(basis / spread)
    return torch.stack(out)


def without_mean_response(basis: torch.Tensor, mean_input: torch.Tensor) -> torch.Tensor:
    """basis [width, piece dim] with its rows' response to `mean_input` removed: every row it
    makes scores 0 on that input. A detector's scores sit on an offset, which the AUC ignores
    but a LoRA does not: through attention spread over a prompt's tokens, every token's offset
    adds up, while only one token carries the word (scripts/object_row_offset.py measures both).
    Not on by default: centred on the fitted news sentences, the offset on word lists stayed
    (docs/specificity.md, "A gate for the object row")."""
    unit = mean_input / mean_input.norm()
    return basis - unit[:, None] * (unit @ basis)[None, :]


def generator_object_basis(model, tok, hcfg, store: str, n_layer: int, log) -> torch.Tensor:
    """The word path's object basis for a generator config (news_object_basis on its last
    word_layers layers). A fixed map, not learned: an init_from or resumed checkpoint that has
    one overwrites it with its own."""
    return news_object_basis(model, tok, store, list(range(n_layer - hcfg.word_layers, n_layer)), hcfg.emb_dim, log)


def news_object_basis(model, tok, store: str, layers: list[int], dim: int, log, centre: bool = False) -> torch.Tensor:
    """fit_object_basis on the base and the news sentences of rule_words_split's training
    inputs, never on word lists, for pieces of `dim` values (hypernet/piece_values.py)."""
    from ..data import synthetic
    from ..data.store import TaskStore
    from ..hypernet.encoder import minilm_path
    from ..hypernet.piece_values import base_values_and_basis

    table, basis = base_values_and_basis(minilm_path() / "tokenizer.json", dim)
    used = table[table.abs().amax(1) > 0]
    sample = used[torch.randperm(len(used), generator=torch.Generator().manual_seed(0))[:OBJECT_FIT_SAMPLES]]
    texts = [ex.prompt for ex in synthetic.family_inputs(synthetic.RULE_WORDS_SPLIT, TaskStore(store).examples, "train")]
    log(f"fitting the object basis on {min(len(texts), OBJECT_FIT_SENTENCES)} sentences, layers {layers[0]}-{layers[-1]}")
    return fit_object_basis(model, tok, texts[:OBJECT_FIT_SENTENCES], layers, basis, sample, centre=centre)


def word_token_ids(tok, words) -> list[int]:
    """Each word's first base token as it appears inside a text (after a space)."""
    return [tok(" " + w, add_special_tokens=False)["input_ids"][0] for w in words]
