"""scripts/word_probe.py: the probe's maps and scores on embeddings whose answer is known.

A description is modelled as the code of its yes-word plus, in the `ordered` case, a sign that
says which of the two words is the yes-word; the `symmetric` case is the mean pooling of the
real encoder: the sum of both words' codes, which cannot say which is which.
"""

import numpy as np

from scripts.word_probe import _binding, fit_and_score, ranks, ridge


def _world(ordered: bool, seed: int = 0, words: int = 200, dim: int = 32, pairs: int = 600):
    rng = np.random.default_rng(seed)
    code = rng.normal(size=(words, dim))  # what the encoder keeps of each word
    token = code @ rng.normal(size=(dim, 24))  # the base's token embedding: a linear image of it
    token /= np.linalg.norm(token, axis=1, keepdims=True)
    yes, no = rng.integers(words, size=pairs), rng.integers(words, size=pairs)
    keep = yes != no
    yes, no = yes[keep], no[keep]
    x = code[yes] + (0.2 * code[no] if ordered else code[no])
    return x, yes, no, token


def test_a_linear_code_is_read_back_and_its_roles_bound():
    x, yes, no, token = _world(ordered=True)
    n = len(x) // 2
    lam, r, f = fit_and_score(x[:n], token[yes[:n]], x[n:n + 50], yes[n:n + 50], x[n + 50:], yes[n + 50:], token)
    assert np.median(r) == 0 and _binding(f(x[n + 50:]), token, yes[n + 50:], no[n + 50:]) > 0.95


def test_a_symmetric_code_names_both_words_but_binds_neither():
    x, yes, no, token = _world(ordered=False)
    n = len(x) // 2
    pred = ridge(x[:n], token[yes[:n]], 1e-3)(x[n:])
    both = np.minimum(ranks(pred, token, yes[n:]), ranks(pred, token, no[n:]))
    assert np.median(both) <= 1  # the pair is found...
    assert abs(_binding(pred, token, yes[n:], no[n:]) - 0.5) < 0.1  # ...but not which is which
