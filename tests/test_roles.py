"""The role term (train/roles.py): which descriptions it uses, and that it teaches a reader roles."""

import numpy as np
import pytest
import torch

from t2l_edge.core.description_seq import pack
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.batches import TaskData
from t2l_edge.train.conflict import ConflictFamily
from t2l_edge.train.roles import role_accuracy, role_data, role_loss, role_reads
from tests.helpers.tiny_models import tiny_spec

DIM = 32


def _vec(text: str, salt: int = 0) -> np.ndarray:
    return np.random.default_rng([sum(map(ord, text)), len(text), salt]).standard_normal(DIM)


def _embed(texts: list[str]) -> np.ndarray:
    """Packed, one piece per word after a [CLS] row: its value says which word, its state is noise."""
    n, width = len(texts), 1 + max(len(t.split()) for t in texts)
    states, pieces, mask = np.zeros((n, width, DIM)), np.zeros((n, width, DIM)), np.zeros((n, width), np.int64)
    for i, text in enumerate(texts):
        for j, word in enumerate(text.split(), start=1):
            states[i, j], pieces[i, j] = _vec(word, 1), _vec(word)
        mask[i, : 1 + len(text.split())] = 1
    return pack(np.ones((n, DIM)), states, pieces, mask)


def test_role_data_keeps_descriptions_naming_both_words_with_their_values_in_role_order():
    texts = ["answer contrast if digit else smooth", "say smooth or nothing", "Contrast when digits, smooth otherwise"]
    twin = ["answer smooth if digit else contrast"]
    fam = ConflictFamily("rule_words_few", [
        TaskData("syn.rule_words_few.digit_contrast_smooth", [], _embed(texts), texts),
        TaskData("syn.rule_words_few.digit_smooth_contrast", [], _embed(twin), twin),
        TaskData("syn.mc_format.letter", [], _embed(["name the letter"]), ["name the letter"]),  # no roles
    ])
    data = role_data([fam], _embed, "train")
    assert len(data) == 3  # the second text names one word only
    np.testing.assert_allclose(data.packed[0], _embed(texts)[0])
    for row, (y, n) in zip(data.targets, [("contrast", "smooth")] * 2 + [("smooth", "contrast")]):
        np.testing.assert_allclose(row, np.stack([_vec(y), _vec(n)]), rtol=1e-5, atol=1e-6)
    assert role_data([ConflictFamily("mc_format", fam.variants[2:])], _embed, "train") is None


def _role_task(n: int, seed: int):
    """Descriptions naming two words among fillers; each word's state says its role (+r or -r
    plus noise), so a reader can learn it. Y comes first in half of them."""
    rng, role = np.random.default_rng(seed), np.random.default_rng(99).standard_normal(DIM)
    words = [f"w{k}" for k in range(40)]
    packed, targets = [], []
    for i in range(n):
        y, no, *fill = rng.choice(words, size=5, replace=False)
        order = [y, no] if i % 2 else [no, y]
        pieces = np.stack([np.zeros(DIM)] + [_vec(w) for w in order + fill])
        states = rng.standard_normal(pieces.shape) * 0.3
        states[1 + order.index(y)] += role
        states[1 + order.index(no)] -= role
        packed.append(pack(np.ones((1, DIM)), states[None], pieces[None], np.ones((1, len(pieces)), np.int64))[0])
        targets.append([_vec(y), _vec(no)])
    from t2l_edge.train.roles import RoleData

    return RoleData(np.stack(packed).astype(np.float32), np.asarray(targets, np.float32))


def _train(net, params, data, steps: int = 150) -> dict:
    """`steps` Adam steps of the role term alone on `params`; the last step's log fields."""
    opt = torch.optim.Adam(params, lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        loss, info = role_loss(net, data, rng, 16)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return info


def test_the_role_term_teaches_the_reader_which_word_has_which_role_on_new_words():
    torch.manual_seed(0)
    cfg = HyperConfig(variant="M", emb_dim=DIM, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0, read_tokens=2)
    net = HyperNetwork(cfg, tiny_spec(), init_seed=0)
    train, held = _role_task(64, 1), _role_task(64, 2)
    before = role_accuracy(net, held)
    info = _train(net, net.reader.parameters(), train)
    assert before < 0.5 and role_accuracy(net, held) > 0.9 and info["role_cos"] > 0.8
    reads = role_reads(net, held)
    assert reads["right"] == role_accuracy(net, held) and reads["right"] + reads["swapped"] <= 1.0
    assert reads["swapped"] < 0.1 and 0.5 < reads["word"] <= 1.0


def test_a_reader_keyed_on_neighbours_cannot_key_on_the_word_itself():
    from t2l_edge.hypernet.reader import TokenReader, neighbour_mean

    states, mask = torch.arange(1.0, 6.0)[None, :, None], torch.tensor([[True, True, True, True, False]])
    assert neighbour_mean(states, mask, 1)[0, :4, 0].tolist() == [2.0, 2.0, 3.0, 3.0]  # the padded piece counts for nothing
    torch.manual_seed(0)
    states, mask = torch.randn(1, 6, DIM), torch.ones(1, 6, dtype=torch.bool)
    other = states.clone()
    other[0, 2] = torch.randn(DIM)  # another word at piece 2, in the same sentence
    for context, same in ((0, False), (2, True)):
        reader = TokenReader(DIM, 2, 16, context)
        asked = [reader.logits(s, mask)[0, :, 2] for s in (states, other)]  # how strongly piece 2 is asked for
        assert torch.allclose(*asked) == same
    with pytest.raises(ValueError, match="read_context"):
        HyperConfig(variant="M", read_context=1)


def test_pretrain_roles_refuses_to_overwrite_a_folder(tmp_path, capsys):
    from scripts.pretrain_roles import main

    with pytest.raises(SystemExit) as exc:
        main(["--init", str(tmp_path), "--store", str(tmp_path), "--families", "rule_words_roles", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "exists" in capsys.readouterr().err


def test_role_split_crosses_trained_and_held_out_pairs_with_trained_and_held_out_wordings():
    from scripts.role_split import TRAINED_SHOWN, crossings
    from t2l_edge.data.synthetic import RULE_WORDS_WORDED as fam

    sets = crossings(fam, _embed)
    trained, held = len(fam.variants[0].descriptions) - 2, 2
    assert {k: len(d) for k, d in sets.items()} == {
        "held-out pairs, trained wordings": len(fam.val_variants) * trained,
        "held-out pairs, held-out wordings": len(fam.val_variants) * held,
        "trained pairs, trained wordings": TRAINED_SHOWN * trained,
        "trained pairs, held-out wordings": TRAINED_SHOWN * held,
        "held-out pairs, held-out wording -2": len(fam.val_variants),
        "held-out pairs, held-out wording -1": len(fam.val_variants),
        "trained pairs, held-out wording -2": TRAINED_SHOWN,
        "trained pairs, held-out wording -1": TRAINED_SHOWN}
    np.testing.assert_allclose(sets["held-out pairs, held-out wording -1"].packed[:],
                               sets["held-out pairs, held-out wordings"].packed[1::2])
    y, n = fam.val_variants[0].roles
    np.testing.assert_allclose(sets["held-out pairs, held-out wordings"].targets[0],
                               np.stack([_embed([y])[0, 2, DIM:], _embed([n])[0, 2, DIM:]]), rtol=1e-5)


def test_part_swap_takes_one_kind_of_part_from_the_held_out_set():
    from scripts.part_swap import swapped_parts, swapped_sets
    from t2l_edge.data import composed_wordings as cw

    assert swapped_parts("none") == cw.TRAINED["digit"] and swapped_parts("all") == cw.HELDOUT["digit"]
    verbs = swapped_parts("verbs")
    assert verbs.verbs == cw.HELDOUT["digit"].verbs and verbs.has == cw.TRAINED["digit"].has
    sets = swapped_sets(_embed, per_variant=2, fields=("none", "verbs"))
    from t2l_edge.data.synthetic import RULE_WORDS_COMPOSED as fam

    assert {k: len(d) for k, d in sets.items()} == {"none": 2 * len(fam.val_variants), "verbs": 2 * len(fam.val_variants)}
    from scripts.part_swap import swapped_texts

    rows = swapped_texts(1, ("all",), family="rule_words_composed_rules")["all"]
    comma = [texts[0] for v, texts in rows if v.name.startswith("comma_")]
    assert len(comma) == len(rows) // 2 and all("digit" not in t and "0 to 9" not in t for t in comma)
    assert swapped_parts("lacks", "comma").lacks == cw.HELDOUT["comma"].lacks


def _probe_rows(n: int, seed: int, dim: int = 16, width: int = 8):
    """Random piece states where the holding word's piece carries +r and the other's -r."""
    rng = np.random.default_rng(seed)
    role = np.random.default_rng(99).standard_normal(dim).astype(np.float32)
    states = rng.standard_normal((n, width, dim)).astype(np.float32)
    mask = np.ones((n, width), bool)
    y_at, n_at = np.zeros((n, width), bool), np.zeros((n, width), bool)
    for i in range(n):
        y, no = rng.choice(width, size=2, replace=False)
        states[i, y] += 2 * role
        states[i, no] -= 2 * role
        y_at[i, y], n_at[i, no] = True, True
    return states, mask, y_at, n_at


def test_encoder_roles_probe_learns_roles_and_scores_right_swapped_and_word():
    from scripts.encoder_roles import score, starts, train_probe

    assert starts("Say Yes if so, yes again; yesterday no", "yes") == [4, 15]
    torch.manual_seed(0)
    probe = train_probe(_probe_rows(256, 0), context=0, steps=150)
    got = score(probe, _probe_rows(64, 1))
    assert got["right"] > 0.9 and got["swapped"] < 0.05 and got["word"] > 0.9 and got["n"] == 64
    states, mask, y_at, n_at = _probe_rows(64, 1)
    flipped = score(probe, (states, mask, n_at, y_at))  # the same reads, the roles exchanged
    assert flipped["swapped"] == got["right"] and flipped["word"] == got["word"]


def _object_task(n: int, seed: int):
    """_role_task's descriptions with a third named word, the rule's object, whose state says so."""
    from t2l_edge.train.roles import RoleData

    rng, mark = np.random.default_rng(seed), np.random.default_rng(98).standard_normal(DIM)
    words = [f"w{k}" for k in range(40)]
    packed, targets, objects = [], [], []
    for _ in range(n):
        y, no, obj, *fill = rng.choice(words, size=6, replace=False)
        order = list(rng.permutation([y, no, obj, *fill]))
        pieces = np.stack([np.zeros(DIM)] + [_vec(w) for w in order])
        states = rng.standard_normal(pieces.shape) * 0.3
        states[1 + order.index(obj)] += mark
        packed.append(pack(np.ones((1, DIM)), states[None], pieces[None], np.ones((1, len(pieces)), np.int64))[0])
        targets.append([_vec(y), _vec(no)])
        objects.append(_vec(obj))
    return RoleData(np.stack(packed).astype(np.float32), np.asarray(targets, np.float32),
                    np.asarray(objects, np.float32), np.ones(n, bool))


def test_the_object_term_teaches_the_object_query_to_find_the_rules_word_on_new_words():
    from t2l_edge.train.roles import object_accuracy

    torch.manual_seed(0)
    cfg = HyperConfig(variant="M", emb_dim=DIM, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0, read_tokens=2,
                      piece_values="base", word_layers=1, word_which=2, word_which_a=0.1, word_which_object=1)
    net = HyperNetwork(cfg, tiny_spec(), init_seed=0)
    train, held = _object_task(64, 1), _object_task(64, 2)
    before = object_accuracy(net, held)
    info = _train(net, [*net.reader.parameters(), net.word_path.object_query], train)
    assert before < 0.6 and object_accuracy(net, held) > 0.9 and info["object_cos"] > 0.8
    plain = HyperNetwork(HyperConfig(**{**cfg.to_dict(), "word_which_object": 0}), tiny_spec(), init_seed=0)
    assert object_accuracy(plain, held) is None
    assert "object_cos" not in role_loss(plain, train, np.random.default_rng(0), 16)[1]


def test_role_data_keeps_the_rules_word_where_a_description_names_it():
    from t2l_edge.data import synthetic

    v = synthetic.RULE_WORDS_COMPOSED_WORD.variants[0]
    texts = v.descriptions[:3]
    fam = ConflictFamily(synthetic.RULE_WORDS_COMPOSED_WORD.name, [
        TaskData(synthetic.task_id(synthetic.RULE_WORDS_COMPOSED_WORD, v), [], _embed(texts), texts)])
    data = role_data([fam], _embed, "train")
    assert len(data) == 3 and data.has_object.all()
    np.testing.assert_allclose(data.objects[0], _vec(v.object), rtol=1e-5, atol=1e-6)


def _gated_net():
    cfg = HyperConfig(variant="M", emb_dim=DIM, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0, read_tokens=2,
                      piece_values="base", word_layers=1, word_which=2, word_which_a=0.1, word_which_object=1,
                      word_which_object_gate=1)
    return HyperNetwork(cfg, tiny_spec(), init_seed=0)


def _with_gate_rows(data, n: int, seed: int):
    """`data` with n pooled descriptions for the gate: half carry a 'names a word' direction (open), half do not."""
    import dataclasses

    from t2l_edge.train.roles import PackedRows

    rng, mark = np.random.default_rng(seed), np.random.default_rng(97).standard_normal(DIM)
    open_ = np.arange(n) % 2 == 0
    pooled = rng.standard_normal((n, DIM)) + np.outer(2 * open_ - 1, mark)
    states, pieces = rng.standard_normal((2, n, 5, DIM))
    rows = pack(pooled, states, pieces, np.ones((n, 5), np.int64))
    return dataclasses.replace(data, gate_rows=PackedRows(list(rows)), gate_open=open_)


def test_the_gate_term_opens_the_object_rows_gate_on_descriptions_that_name_a_word_and_shuts_it_on_the_rest():
    from t2l_edge.train.roles import gate_rates

    torch.manual_seed(0)
    net = _gated_net()
    train, held = _with_gate_rows(_object_task(64, 1), 200, 1), _with_gate_rows(_object_task(64, 2), 100, 2)
    assert gate_rates(net, held) == pytest.approx({"open": 0.5, "shut": 0.5})  # starts half open
    info = _train(net, list(net.word_path.object_gate.parameters()), train)
    rates = gate_rates(net, held)
    assert rates["open"] > 0.9 and rates["shut"] < 0.1 and info["gate_loss"] < 0.2
    assert gate_rates(net, _object_task(64, 2)) is None  # no gate rows: nothing to train or report


def test_fit_gate_reaches_the_gate_terms_optimum_at_once_and_refuses_a_generator_without_a_gate():
    from t2l_edge.train.roles import fit_gate, gate_rates

    net = _gated_net()
    train, held = _with_gate_rows(_object_task(8, 1), 200, 1), _with_gate_rows(_object_task(8, 2), 100, 2)
    assert fit_gate(net, train) < 0.1
    rates = gate_rates(net, held)
    assert rates["open"] > 0.95 and rates["shut"] < 0.05
    plain = HyperNetwork(HyperConfig(**{**net.cfg.to_dict(), "word_which_object_gate": 0}), tiny_spec(), init_seed=0)
    with pytest.raises(ValueError, match="gate"):
        fit_gate(plain, train)


def test_role_data_opens_the_gate_on_descriptions_naming_their_rules_word_and_shuts_it_on_everything_else(monkeypatch):
    from t2l_edge.data import synthetic
    from t2l_edge.train import roles

    monkeypatch.setattr(roles, "GATE_PER_FAMILY", 2)
    monkeypatch.setattr(roles, "GATE_NONSENSE", 3)
    others = roles._other_descriptions("train", {synthetic.RULE_WORDS_COMPOSED_WORD.name})
    families = [f for f in synthetic.FAMILIES if f is not synthetic.RULE_WORDS_COMPOSED_WORD]
    assert len(others) == 2 * len(families) + 3

    v = synthetic.RULE_WORDS_COMPOSED_WORD.variants[0]
    texts = v.descriptions[:3]
    fam = ConflictFamily(synthetic.RULE_WORDS_COMPOSED_WORD.name, [
        TaskData(synthetic.task_id(synthetic.RULE_WORDS_COMPOSED_WORD, v), [], _embed(texts), texts)])
    pool = ["Classify the sentiment of the review.", "Answer the science question."]
    data = role_data([fam], _embed, "train", tasks=[TaskData("pool.x", [], _embed(pool), pool)])
    assert data.gate_open.tolist() == [True] * 3 + [False] * (2 + len(others))
    np.testing.assert_allclose(data.gate_rows[3], _embed(pool)[0], rtol=1e-6)


def test_gate_check_groups_descriptions_by_whether_the_gate_should_open_and_refuses_an_ungated_generator(tmp_path, capsys):
    from scripts.gate_check import groups, main
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.train.roles import GATE_NONSENSE

    got = groups(None, [])
    assert {k for k, (_, should) in got.items() if should} == {
        "word rules: held-out pairs", "word rules: held-out pairs and wordings", "users: names a word"}
    assert len(got["word rules: held-out pairs and wordings"][0]) == 40 * 2  # 40 validation variants, 2 held-out wordings each
    assert len(got["nonsense"][0]) == GATE_NONSENSE and got["held-out pool tasks"][0] == []
    assert all(len(texts) for k, (texts, _) in got.items() if k != "held-out pool tasks")
    plain = _gated_net()
    plain = HyperNetwork(HyperConfig(**{**plain.cfg.to_dict(), "word_which_object_gate": 0}), tiny_spec(), init_seed=0)
    save_hypernet(plain, tmp_path / "plain")
    with pytest.raises(SystemExit) as exc:
        main(["--init", str(tmp_path / "plain"), "--store", str(tmp_path)])
    assert exc.value.code == 2 and "no object row gate" in capsys.readouterr().err
