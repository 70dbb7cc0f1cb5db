"""Generators that read word pieces (HyperConfig.read_tokens): packing, the reader, export, init_from."""

import numpy as np
import pytest
import torch

from t2l_edge.core.description_seq import MAX_PIECES, pack
from t2l_edge.core.errors import T2LError
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from tests.helpers.tiny_models import tiny_bundle, tiny_encoder, tiny_hypernet, tiny_spec, torch_pipeline

TEXTS = ["answer yes or no .", "answer no or yes .", "translate the text into french", "pick the correct option ?"]


@pytest.fixture(scope="module")
def pieces_encoder(tmp_path_factory):
    return tiny_encoder(tmp_path_factory.mktemp("pieces-encoder") / "enc", pieces=True)


def _cfg(read_tokens: int) -> HyperConfig:
    return HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0, read_tokens=read_tokens)


def _packed(n: int, pieces: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, pieces), np.int64)
    for row in range(n):
        mask[row, : 2 + row] = 1
    return pack(rng.standard_normal((n, 32)), rng.standard_normal((n, pieces, 32)), rng.standard_normal((n, pieces, 32)), mask)


def test_pack_keeps_the_pooled_row_and_zeroes_padding_and_overflow():
    seq = _packed(3, MAX_PIECES + 5)
    assert seq.shape == (3, 1 + MAX_PIECES, 64)
    assert np.all(seq[0, 0, 32:] == 0) and np.all(seq[0, 3:] == 0)  # row 0 has 2 pieces
    assert np.any(seq[2, 4, :32] != 0) and np.all(seq[2, 5:] == 0)


def test_a_new_reader_starts_at_zero_so_the_pooled_generator_is_unchanged(tmp_path):
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.train.run import _load_weights

    earlier = HyperNetwork(_cfg(0), tiny_spec(), init_seed=1).eval()
    with torch.no_grad():
        for head in earlier.heads.values():
            head.weight.normal_(0.0, 0.05)
    save_hypernet(earlier, tmp_path / "best", provenance={"step": 7})
    grown = HyperNetwork(_cfg(2), tiny_spec(), init_seed=2).eval()
    _load_weights(grown, str(tmp_path / "best"), log=lambda s: None)
    seq = torch.from_numpy(_packed(3, 9))
    with torch.no_grad():
        want, got = earlier(seq[:, 0, :32]), grown(seq)
        also = earlier(seq)  # a pooled-only generator reads the pooled row of a packed input
    for m in want:
        assert torch.equal(want[m][1], got[m][1]) and torch.equal(want[m][1], also[m][1])
    with pytest.raises(T2LError, match="init_from"):  # any other difference is still refused
        _load_weights(HyperNetwork(HyperConfig(**{**_cfg(2).to_dict(), "rank": 2}), tiny_spec()), str(tmp_path / "best"),
                      log=lambda s: None)


def test_the_reader_sees_which_word_is_where():
    """Same pooled vector, the same pieces in another order: a reader tells them apart."""
    net = tiny_hypernet("M", read_tokens=2)
    seq = _packed(1, 6)
    swapped = seq.copy()
    swapped[0, 1:3] = seq[0, 1:3][::-1].copy()  # swap two pieces' states and embeddings together...
    swapped[0, 1:3, 32:] = seq[0, 1:3, 32:]  # ...then put the embeddings back: roles changed
    with torch.no_grad():
        a, b = net(torch.from_numpy(seq)), net(torch.from_numpy(swapped))
    assert (a["q_proj"][1] - b["q_proj"][1]).abs().max() > 1e-4
    with pytest.raises(ValueError, match="packed"):
        net(torch.from_numpy(seq[:, 0, :32]))


def test_runtime_matches_pytorch_for_a_piece_reading_bundle(tmp_path, pieces_encoder):
    from t2l_edge.runtime import Generator

    folder, net, enc = tiny_bundle(tmp_path / "bundle", "M", encoder=pieces_encoder, read_tokens=2)
    gen = Generator.load(folder)
    assert gen.reads_pieces and gen.manifest.raw["encoder"]["outputs"] == ["embedding", "token_states", "token_pieces"]
    adapters = gen.make_batch(TEXTS)
    ref = torch_pipeline(enc, net, [a.description for a in adapters])
    worst = max(np.abs(ad.B[m] - ref[m][1][i]).max() for i, ad in enumerate(adapters) for m in ad.targets)
    assert worst < 1e-4
    assert gen.embed(TEXTS[:1]).shape == (1, 32)  # nearest-task search still compares pooled vectors
    # the two texts share their words; only the order differs
    assert np.abs(adapters[0].B["q_proj"] - adapters[1].B["q_proj"]).max() > 1e-5


def test_guidance_and_nearest_tasks_work_for_a_piece_reading_bundle(tmp_path, pieces_encoder, monkeypatch):
    """The description-free reference reads the empty text's pieces; the task bank compares pooled vectors."""
    from t2l_edge.runtime import Generator

    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))
    folder, _, _ = tiny_bundle(tmp_path / "bundle", "M", encoder=pieces_encoder, read_tokens=2)
    gen = Generator.load(folder, threads=1)
    plain, guided = gen.make("answer yes or no"), gen.make("answer yes or no", guidance=2.0)
    ref = gen.reference()
    for m in plain.targets:
        want = ref.delta(m, 1) + 2.0 * (plain.delta(m, 1) - ref.delta(m, 1))
        np.testing.assert_allclose(guided.delta(m, 1), want, rtol=1e-4, atol=1e-6)
    near = gen.task_bank().nearest(gen.embed(["answer yes or no"]), k=3)[0]
    assert len(near) == 3 and all(-1.0 <= n["cosine"] <= 1.0 for n in near)


def test_export_refuses_an_encoder_that_does_not_match_the_reader(tmp_path, pieces_encoder, tiny_encoder_export):
    with pytest.raises(T2LError, match="reads word pieces"):
        tiny_bundle(tmp_path / "a", "M", encoder=tiny_encoder_export, read_tokens=2)
    with pytest.raises(T2LError, match="pooled embeddings only"):
        tiny_bundle(tmp_path / "b", "M", encoder=pieces_encoder)


def test_read_tokens_is_set_from_the_command_line_and_the_reader_gets_its_own_rate():
    from t2l_edge.train.config import SFTConfig, resolve
    from t2l_edge.train.loop import _param_groups

    cfg = resolve(SFTConfig, None, ["hypernet.read_tokens=4", "reader_lr=1e-3"])
    assert cfg.hypernet["read_tokens"] == 4 and HyperConfig.from_dict(cfg.hypernet).read_tokens == 4
    net = HyperNetwork(_cfg(2), tiny_spec())
    rest, reader = _param_groups(cfg, net)
    assert reader["lr"] == 1e-3 and {id(p) for p in reader["params"]} == {id(p) for p in net.reader.mlp.parameters()}
    assert len(rest["params"]) + len(reader["params"]) == len(list(net.parameters()))
    assert len(_param_groups(resolve(SFTConfig, None, []), net)) == 1


def test_freeze_leaves_parameters_out_of_every_group_and_refuses_a_prefix_that_matches_nothing():
    from t2l_edge.train.config import SFTConfig, resolve
    from t2l_edge.train.loop import _param_groups

    net = HyperNetwork(_cfg(2), tiny_spec())
    cfg = resolve(SFTConfig, None, ["reader_lr=1e-3", "freeze=reader.mlp.,task_proj."])
    kept = {id(p) for group in _param_groups(cfg, net) for p in group["params"]}
    frozen = {id(p) for p in [*net.reader.mlp.parameters(), *net.task_proj.parameters()]}
    assert not kept & frozen and len(kept) + len(frozen) == len(list(net.parameters()))
    with pytest.raises(T2LError, match="no generator parameter starts with word_path.to_b."):
        _param_groups(resolve(SFTConfig, None, ["freeze=word_path.to_b."]), net)


def _role_world(words: range, rows: int, seed: int):
    """Texts of 6 pieces: filler, the Y word and the N word (drawn from `words` of 60) at random
    places. A piece's state marks its role (+ for Y, - for N); its embedding is the word's code;
    the target of a word is a linear image of its code."""
    world = np.random.default_rng(99)
    code = world.normal(size=(60, 32)).astype(np.float32)
    target = code @ world.normal(size=(32, 24)).astype(np.float32)
    target /= np.linalg.norm(target, axis=1, keepdims=True)
    role = world.normal(size=32).astype(np.float32)
    rng = np.random.default_rng(seed)
    yes, no = rng.choice(words, size=rows), rng.choice(words, size=rows)
    pieces = rng.normal(size=(rows, 6, 32)).astype(np.float32)
    states = rng.normal(size=(rows, 6, 32)).astype(np.float32)
    for r in range(rows):
        i, j = rng.choice(6, size=2, replace=False)
        pieces[r, i], pieces[r, j] = code[yes[r]], code[no[r]]
        states[r, i] += 3 * role
        states[r, j] -= 3 * role
    seq = pack(pieces.mean(1), states, pieces, np.ones((rows, 6), np.int64))
    return (seq, yes, no), target


def test_reader_warmup_learns_where_the_answer_word_is_and_leaves_the_adapters_alone():
    from scripts.pretrain_reader import binding, train_reader

    torch.manual_seed(0)
    net = HyperNetwork(_cfg(2), tiny_spec()).eval()
    fit, target = _role_world(range(45), 2000, seed=1)
    test, _ = _role_world(range(45, 60), 300, seed=2)  # words the warm-up never saw
    probe = torch.from_numpy(test[0][:3])
    with torch.no_grad():
        before = net(probe)["q_proj"][1].clone()
    head = train_reader(net, fit, target, epochs=15, log=lambda s: None)
    scores = binding(net, head, test, target)
    assert scores["yes"]["binding"] > 0.9 and scores["no"]["binding"] > 0.9
    with torch.no_grad():
        assert torch.equal(before, net(probe)["q_proj"][1])  # the reader's output MLP still ends in zeros


def test_zero_params_ablates_a_part_of_a_checkpoint_and_leaves_the_rest(tmp_path, capsys):
    from scripts.zero_params import main
    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet

    net = HyperNetwork(_cfg(2), tiny_spec(), init_seed=1)
    with torch.no_grad():
        net.reader.mlp[3].weight.normal_()
    save_hypernet(net, tmp_path / "best", provenance={"step": 4})
    assert main([str(tmp_path / "best"), "--zero", "reader.mlp.3", "-o", str(tmp_path / "cut")]) == 0
    cut, meta = load_hypernet(tmp_path / "cut")
    assert not cut.reader.mlp[3].weight.any() and meta["provenance"]["params"] == ["reader.mlp.3.weight", "reader.mlp.3.bias"]
    assert torch.equal(cut.reader.query, net.reader.query) and meta["provenance"]["step"] == 4
    assert main([str(tmp_path / "best"), "--params", "reader.mlp.3.weight", "--times", "3", "-o", str(tmp_path / "x3")]) == 0
    tripled = load_hypernet(tmp_path / "x3")[0].reader.mlp[3]
    assert torch.allclose(tripled.weight, 3 * net.reader.mlp[3].weight) and torch.equal(tripled.bias, net.reader.mlp[3].bias)
    for argv, says in (([str(tmp_path / "best"), "--zero", "reader.mlp.3", "-o", str(tmp_path / "cut")], "exists"),
                       ([str(tmp_path / "best"), "--zero", "nothing.here", "-o", str(tmp_path / "x")], "no parameter")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and says in capsys.readouterr().err
