"""Word-piece values from the base's own embeddings (hypernet/piece_values.py): the table, the
encoder that carries it, and a reader switching to it from a warm-up checkpoint."""

import numpy as np
import pytest
import torch

from t2l_edge.core.errors import T2LError
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.hypernet.piece_values import first_tokens, piece_texts, value_table
from tests.helpers.tiny_models import tiny_encoder, tiny_spec


def test_each_piece_is_spelled_as_the_base_reads_it(tmp_path):
    from tokenizers import Tokenizer, models

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "cat": 3, "##s": 4, "dog": 5}
    Tokenizer(models.WordPiece(vocab, unk_token="[UNK]")).save(str(tmp_path / "tokenizer.json"))
    texts = piece_texts(tmp_path / "tokenizer.json")
    assert texts == ["", "", "", " cat", "s", " dog"]  # a whole word with its space, "##s" without

    def base_tokenizer(batch, add_special_tokens):
        assert not add_special_tokens
        return {"input_ids": [[len(t), 99] if t else [] for t in batch]}

    assert first_tokens(texts, base_tokenizer) == [None, None, None, 4, 1, 4]


def test_the_value_table_keeps_inner_products_and_zeroes_special_pieces():
    emb = torch.randn(10, 6)
    ids = [None, 3, 7, 3, 1, None, 9]
    table = value_table(ids, emb, dim=8)  # wider than the base: exact, the last columns zero
    assert table.shape == (7, 8) and torch.all(table[[0, 5]] == 0) and torch.all(table[:, 6:] == 0)
    assert torch.equal(table[1], table[3])  # two pieces spelled with one base token
    used = emb[[3, 7, 3, 1, 9]]
    centred = used - used.mean(0)
    got = table[[1, 2, 3, 4, 6]]
    torch.testing.assert_close(got @ got.T, centred @ centred.T, atol=1e-4, rtol=1e-4)
    narrow = value_table(ids, emb, dim=2)  # the top principal directions
    s = torch.linalg.svdvals(centred)
    torch.testing.assert_close(narrow[[1, 2, 3, 4, 6]].square().sum(), s[:2].square().sum(), atol=1e-4, rtol=1e-4)


def test_an_encoder_with_base_values_returns_their_rows(tmp_path):
    from t2l_edge.export.encoder import encoder_label
    from t2l_edge.runtime.encoder_runtime import OnnxEncoder

    table = torch.randn(64, 32)
    enc = tiny_encoder(tmp_path / "enc", pieces=True, values=table)
    onnx = OnnxEncoder(enc["onnx"], enc["tokenizer"])
    packed = onnx.encode_packed(["answer yes or no"])
    ids = onnx.tokenizer.encode("answer yes or no").ids
    np.testing.assert_allclose(packed[0, 1:1 + len(ids), 32:], table[ids].numpy(), atol=1e-6)
    assert encoder_label(enc) == "tiny-bert fp32 pieces base-values"
    assert encoder_label(tiny_encoder(tmp_path / "plain", pieces=True)) == "tiny-bert fp32 pieces"


def test_ensure_encoder_refuses_a_folder_holding_other_piece_values(tmp_path):
    import json

    from t2l_edge.export.encoder import ensure_encoder

    (tmp_path / "report.json").write_text(json.dumps({"encoder": "x", "outputs": ["embedding", "token_states", "token_pieces"]}))
    with pytest.raises(T2LError, match="minilm piece values, not base"):
        ensure_encoder(out_dir=tmp_path, pieces=True, values="base")


def _cfg(values: str) -> HyperConfig:
    return HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0,
                       read_tokens=2, piece_values=values)


def test_a_warmed_up_reader_may_switch_values_but_a_trained_one_may_not(tmp_path):
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.train.run import _load_weights

    warm = HyperNetwork(_cfg("minilm"), tiny_spec(), init_seed=1)
    save_hypernet(warm, tmp_path / "warm", provenance={"step": 3})
    switched = HyperNetwork(_cfg("base"), tiny_spec(), init_seed=2)
    _load_weights(switched, str(tmp_path / "warm"), log=lambda s: None)  # its reader adds nothing yet
    assert all(torch.equal(a, b) for a, b in zip(warm.state_dict().values(), switched.state_dict().values()))
    with torch.no_grad():
        warm.reader.mlp[-1].weight.normal_()
    save_hypernet(warm, tmp_path / "trained", provenance={"step": 9})
    with pytest.raises(T2LError, match="init_from"):
        _load_weights(HyperNetwork(_cfg("base"), tiny_spec()), str(tmp_path / "trained"), log=lambda s: None)
    with pytest.raises(ValueError, match="piece_values"):
        _cfg("glove")


def test_a_base_values_bundle_with_a_word_path_matches_pytorch_and_refuses_the_other_encoder(tmp_path):
    from t2l_edge.runtime import Generator
    from tests.helpers.tiny_models import tiny_bundle, torch_pipeline

    enc = tiny_encoder(tmp_path / "enc", pieces=True, values=torch.randn(64, 32))
    # the second rank's B map learned, or tied to the naming map; keys on the piece or its neighbours
    for which, context in ((1, 0), (2, 0), (2, 2)):
        folder, net, _ = tiny_bundle(tmp_path / f"bundle{which}-{context}", "M", encoder=enc, read_tokens=2,
                                     piece_values="base", word_layers=1, word_which=which, read_context=context)
        gen = Generator.load(folder)
        assert gen.manifest.raw["encoder"]["piece_values"] == "base"
        adapters = gen.make_batch(["answer yes or no", "classify the review"])
        ref = torch_pipeline(enc, net, [a.description for a in adapters])
        assert max(np.abs(ad.B[m] - ref[m][1][i]).max() for i, ad in enumerate(adapters) for m in ad.targets) < 1e-4
    _a_rule_following_a_row_matches_pytorch(tmp_path, enc)
    with pytest.raises(T2LError, match="reads base piece values but the encoder returns minilm"):
        tiny_bundle(tmp_path / "other", "M", encoder=tiny_encoder(tmp_path / "plain", pieces=True), read_tokens=2,
                    piece_values="base")
    from dataclasses import replace

    enc["report"]["values_base_sha256"] = "a" * 64  # a table made from another base file
    with pytest.raises(T2LError, match="another base's embeddings"):
        tiny_bundle(tmp_path / "third", "M", encoder=enc, read_tokens=2, piece_values="base",
                    spec=replace(tiny_spec(), sha256="b" * 64))


def _bundle_matches_pytorch(folder, enc, net, descriptions: list[str]) -> dict:
    """Export `net` to an ONNX bundle at `folder`, check its A matrices against PyTorch's for
    `descriptions`, and return PyTorch's {module: (A, B)}."""
    from t2l_edge.export.bundle_writer import write_bundle
    from t2l_edge.runtime import Generator
    from tests.helpers.tiny_models import torch_pipeline

    write_bundle(net, folder, provenance={"note": "test"}, encoder=enc, log=lambda s: None)
    adapters = Generator.load(folder).make_batch(descriptions)
    ref = torch_pipeline(enc, net, [a.description for a in adapters])
    for i, ad in enumerate(adapters):
        for m in ad.targets:
            np.testing.assert_allclose(ad.A[m], ref[m][0][i], rtol=1e-4, atol=1e-4)
    return ref


def _a_rule_following_a_row_matches_pytorch(tmp_path, enc):
    """word_which_rule: the second rank's A row adds a map of the pooled description (random in
    tiny_hypernet, so the row differs between descriptions), and the ONNX bundle keeps it."""
    from tests.helpers.tiny_models import tiny_hypernet

    net = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=1, word_which=2, word_which_rule=1)
    ref = _bundle_matches_pytorch(tmp_path / "rule", enc, net, ["answer yes or no", "classify the review"])
    rows = ref["v_proj"][0][:, -1, 1]  # rank 1's A row in the top layer, per description
    assert np.abs(rows[0] - rows[1]).max() > 1e-3


def _grown_and_moved(tmp_path, earlier_kw: dict, grow: dict, params: tuple[str, ...]):
    """(the earlier generator's adapters, the grown one's after its new parameters are set at
    random): a generator grown on a checkpoint must first make exactly the earlier adapters."""
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.train.run import _load_weights
    from tests.helpers.tiny_models import tiny_hypernet

    earlier = tiny_hypernet("M", **earlier_kw)
    save_hypernet(earlier, tmp_path / "earlier", provenance={"step": 5})
    grown = HyperNetwork(HyperConfig(**{**earlier.cfg.to_dict(), **grow}), tiny_spec()).eval()
    _load_weights(grown, str(tmp_path / "earlier"), log=lambda s: None)
    seq = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 9, 64)).astype(np.float32))
    with torch.no_grad():
        want, got = earlier(seq), grown(seq)
        assert all(torch.equal(want[m][i], got[m][i]) for m in want for i in (0, 1))
        for name in params:
            grown.word_path.get_parameter(name).normal_()
        return want, grown(seq)


def test_a_word_path_grown_on_a_reader_starts_from_its_adapters_and_then_moves_only_the_top_layers(tmp_path):
    want, moved = _grown_and_moved(tmp_path, dict(read_tokens=2, piece_values="base"), {"word_layers": 1},
                                   ("to_b.weight", "a"))
    a0, b0 = want["v_proj"]
    a1, b1 = moved["v_proj"]
    assert torch.equal(a0[:, :-1], a1[:, :-1]) and torch.equal(b0[:, :-1], b1[:, :-1])  # lower layers untouched
    assert torch.equal(b0[:, -1, :, 1:], b1[:, -1, :, 1:]) and not torch.equal(b0[:, -1, :, 0], b1[:, -1, :, 0])
    assert torch.equal(want["q_proj"][1], moved["q_proj"][1])
    with pytest.raises(ValueError, match="word_layers needs"):
        HyperConfig(variant="M", word_layers=2)


def test_word_check_scores_the_first_word_of_an_answer():
    from scripts.word_check import first_word

    assert first_word("Wealth.") == "wealth" and first_word(' "steps", because') == "steps" and first_word("...") == ""


def test_the_which_rank_grown_on_a_word_path_starts_from_its_adapters_and_then_moves_only_rank_1(tmp_path):
    want, moved = _grown_and_moved(tmp_path, dict(read_tokens=2, piece_values="base", word_layers=2),
                                   {"word_which": 1}, ("which_b.weight", "which_a"))
    (a0, b0), (a1, b1) = want["v_proj"], moved["v_proj"]
    assert torch.equal(a0[:, :-2], a1[:, :-2]) and torch.equal(b0[:, :-2], b1[:, :-2])  # lower layers untouched
    keep = [0] + list(range(2, a0.shape[2]))  # every rank but 1
    assert torch.equal(a0[:, -2:, keep], a1[:, -2:, keep]) and torch.equal(b0[:, -2:, :, keep], b1[:, -2:, :, keep])
    assert not torch.equal(b0[:, -1, :, 1], b1[:, -1, :, 1]) and not torch.equal(a0[:, -1, 1], a1[:, -1, 1])
    with pytest.raises(ValueError, match="word_which"):
        HyperConfig(variant="M", read_tokens=2, word_which=1)
    from t2l_edge.hypernet.word_path import WordPath

    assert 0.4 < float(WordPath(8, 2, 64, 32, which=True, which_a=0.5).which_a.std()) < 0.6  # a LoRA-like start


def test_a_rule_map_grown_on_a_which_rank_starts_from_its_adapters_and_then_moves_only_rank_1s_a_row(tmp_path):
    want, moved = _grown_and_moved(tmp_path, dict(read_tokens=2, piece_values="base", word_layers=2, word_which=1),
                                   {"word_which_rule": 1}, ("which_rule.weight",))
    (a0, b0), (a1, b1) = want["v_proj"], moved["v_proj"]
    assert torch.equal(b0, b1) and torch.equal(a0[:, :-2], a1[:, :-2])
    keep = [0] + list(range(2, a0.shape[2]))
    assert torch.equal(a0[:, -2:, keep], a1[:, -2:, keep]) and not torch.equal(a0[:, -1, 1], a1[:, -1, 1])
    with pytest.raises(ValueError, match="word_which_rule"):
        HyperConfig(variant="M", read_tokens=2, word_layers=2, word_which_rule=1)


def test_the_which_rank_can_start_as_the_naming_map_that_says_the_holding_word_and_not_the_other(tmp_path):
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.train.run import _load_weights
    from tests.helpers.tiny_models import tiny_hypernet

    earlier = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=2)
    with torch.no_grad():
        earlier.word_path.to_b.weight.normal_()  # a trained naming map
    save_hypernet(earlier, tmp_path / "earlier", provenance={"step": 5})
    grown = HyperNetwork(HyperConfig(**{**earlier.cfg.to_dict(), "word_which": 1, "word_which_b": 0.5}), tiny_spec())
    _load_weights(grown, str(tmp_path / "earlier"), log=lambda s: None)
    path, dim = grown.word_path, grown.cfg.emb_dim  # read: query 0 (the holding word), then query 1 (the other)
    holding, other = torch.randn(1, dim), torch.randn(1, dim)
    zeros = torch.zeros(1, dim)
    with torch.no_grad():
        said = path.which_b(torch.cat([holding, other], 1))
        want = 0.5 * (path.to_b(torch.cat([holding, zeros], 1)) - path.to_b(torch.cat([zeros, other], 1)))
    assert torch.allclose(said, want, atol=1e-5)


def test_a_tied_which_rank_says_the_holding_word_minus_the_other_and_flips_with_the_roles(tmp_path):
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.hypernet.word_path import WHICH_TIED, WordPath
    from t2l_edge.train.run import _load_weights
    from tests.helpers.tiny_models import tiny_hypernet

    dim, fin, fout = 6, 10, 8
    path = WordPath(2 * dim, 2, fin, fout, which=WHICH_TIED, which_a=0.1, query_dim=dim)
    with torch.no_grad():
        path.to_b.weight.normal_()  # a trained naming map
        path.which_scale.copy_(torch.tensor([1.0, 2.0]))
    holding, other = torch.randn(1, dim), torch.randn(1, dim)
    a, b = torch.zeros(1, 3, 2, fin), torch.zeros(1, 3, fout, 2)
    with torch.no_grad():
        said = path(a, b, torch.cat([holding, other], 1))[1][0, -2:, :, 1]  # [layers, out]
        swapped = path(a, b, torch.cat([other, holding], 1))[1][0, -2:, :, 1]
        want = path.to_b(torch.cat([holding - other] * 2, 1)).view(2, fout)
    assert torch.allclose(said, want * torch.tensor([[1.0], [2.0]]), atol=1e-5)
    assert torch.allclose(swapped, -said, atol=1e-5)  # role-swapped twins get opposite columns

    earlier = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=2)
    save_hypernet(earlier, tmp_path / "earlier", provenance={"step": 5})
    grown = HyperNetwork(HyperConfig(**{**earlier.cfg.to_dict(), "word_which": WHICH_TIED, "word_which_a": 0.05}),
                         tiny_spec())
    _load_weights(grown, str(tmp_path / "earlier"), log=lambda s: None)
    assert not grown.word_path.which_scale.any() and grown.word_path.which_a.any()
    with pytest.raises(ValueError, match="no gradient"):
        HyperConfig(variant="M", read_tokens=2, word_layers=2, word_which=2)
    scaled = HyperNetwork(HyperConfig(**{**earlier.cfg.to_dict(), "word_which": WHICH_TIED, "word_which_b": 0.3}),
                          tiny_spec())
    _load_weights(scaled, str(tmp_path / "earlier"), log=lambda s: None)
    assert torch.equal(scaled.word_path.which_scale, torch.full((2,), 0.3))  # word_which_b: the scales' start


def test_an_object_row_grown_on_a_rule_map_starts_from_its_adapters_and_adds_the_read_word_to_rank_1s_a_row(tmp_path):
    want, moved = _grown_and_moved(tmp_path, dict(read_tokens=2, piece_values="base", word_layers=2, word_which=2,
                                                  word_which_rule=1), {"word_which_object": 1}, ("object_gain",))
    (a0, b0), (a1, b1) = want["v_proj"], moved["v_proj"]
    assert torch.equal(a0, a1) and torch.equal(b0, b1)  # the basis is still zero: nothing read reaches the row
    with pytest.raises(ValueError, match="word_which_object"):
        HyperConfig(variant="M", read_tokens=2, word_layers=2, word_which_object=1)
    with pytest.raises(ValueError, match="piece_values=base"):
        HyperConfig(variant="M", read_tokens=2, word_layers=2, word_which=1, word_which_object=1)


def test_the_object_row_is_the_gain_times_the_read_pieces_basis_image_in_the_top_layers_only():
    from tests.helpers.tiny_models import tiny_hypernet

    net = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=2, word_which=2, word_which_object=1)
    seq = torch.from_numpy(np.random.default_rng(1).normal(size=(3, 9, 64)).astype(np.float32))
    wp = net.word_path
    with torch.no_grad():
        a1 = net(seq)["v_proj"][0]
        gain = wp.object_gain.clone()
        wp.object_gain.zero_()
        a0 = net(seq)["v_proj"][0]
        wp.object_gain.copy_(gain)
        from t2l_edge.hypernet.reader import split_packed

        _, states, pieces, mask = split_packed(seq)
        obj = net.reader.pool(states, pieces, mask, wp.object_query)  # [3, dim]
        want = torch.einsum("kfd,td->tkf", wp.object_basis, obj) * gain[None, :, None]  # [3, layers, in]
    torch.testing.assert_close(a1[:, -2:, 1] - a0[:, -2:, 1], want, rtol=1e-4, atol=1e-5)
    keep = [0] + list(range(2, a0.shape[2]))
    assert torch.equal(a1[:, :, keep], a0[:, :, keep]) and torch.equal(a1[:, :-2], a0[:, :-2])
    with pytest.raises(ValueError, match="value basis"):
        wp.start_object_from_base(torch.zeros(3, 3))


def test_an_object_row_survives_export_to_onnx(tmp_path):
    from tests.helpers.tiny_models import tiny_encoder, tiny_hypernet

    enc = tiny_encoder(tmp_path / "enc", pieces=True, values=torch.randn(64, 32))
    net = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=1, word_which=2, word_which_object=1)
    _bundle_matches_pytorch(tmp_path / "object", enc, net, ["say yes if apple", "say yes if river"])


def test_the_value_basis_maps_a_piece_value_back_to_its_centred_embedding():
    from t2l_edge.hypernet.piece_values import value_basis, value_table

    emb = torch.from_numpy(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    ids = [0, 1, None, 2, 3, 4]
    table, basis = value_table(ids, emb, dim=4), value_basis(ids, emb, dim=4)  # as wide as the base: exact
    used = emb[[0, 1, 2, 3, 4]]
    torch.testing.assert_close(table[[0, 1, 3, 4, 5]] @ basis.T, used - used.mean(0), rtol=1e-4, atol=1e-5)


def test_a_fitted_detector_fires_on_its_words_tokens_where_the_raw_embedding_does_not():
    """Tokens' layer inputs are a mixed-up copy of their embeddings plus one loud shared direction
    (as a real residual stream has): the embedding itself scores the word's tokens poorly there,
    the fitted detector (train/object_basis.py) well, for words it never singled out."""
    from scripts.object_row_probe import auc
    from t2l_edge.train.object_basis import detectors

    rng = np.random.default_rng(0)
    emb = torch.from_numpy(rng.normal(size=(50, 16)).astype(np.float32))
    mix = torch.from_numpy(rng.normal(size=(16, 16)).astype(np.float32))
    loud = torch.from_numpy(rng.normal(size=16).astype(np.float32))
    ids = torch.from_numpy(rng.integers(0, 50, size=3_000))
    x = emb[ids] @ mix.T + 3.0 * torch.from_numpy(rng.normal(size=(3_000, 1)).astype(np.float32)) * loud
    d = detectors(emb, ids, x)
    centred = emb - emb[ids].mean(0)
    raw = [auc((x @ centred[w]).numpy(), (ids == w).numpy()) for w in range(10)]
    fit = [auc((x @ (d @ centred[w])).numpy(), (ids == w).numpy()) for w in range(10)]
    assert np.mean(fit) > 0.97 and np.mean(fit) > np.mean(raw) + 0.1


def test_the_object_basis_is_fitted_per_layer_on_a_model_and_scaled_to_unit_spread():
    from transformers import BatchEncoding, LlamaConfig, LlamaForCausalLM

    from t2l_edge.train.object_basis import fit_object_basis, v_proj_inputs

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)).eval()

    def tok(text, return_tensors="pt", add_special_tokens=True):
        return BatchEncoding({"input_ids": torch.tensor([[3 + ord(c) % 120 for c in text]])})

    texts = [f"sentence number {i} says {'abc' * (i % 4)}" for i in range(30)]
    value_basis = torch.linalg.qr(torch.randn(64, 8))[0]  # orthonormal columns, as an SVD's
    sample = torch.randn(16, 8)
    basis = fit_object_basis(model, tok, texts, [0, 1], value_basis, sample)
    assert basis.shape == (2, 64, 8) and torch.isfinite(basis).all()
    _, inputs = v_proj_inputs(model, tok, texts, [1])
    scores = (inputs[1] - inputs[1].mean(0)) @ (sample @ basis[1].T).T
    assert abs(float(scores.std()) - 1.0) < 1e-3


def test_set_object_gain_writes_a_copy_with_every_layers_gain_and_refuses_what_it_cannot_do(tmp_path, capsys):
    from scripts.set_object_gain import main
    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet
    from tests.helpers.tiny_models import tiny_hypernet

    save_hypernet(tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=2, word_which=2), tmp_path / "plain")
    net = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=2, word_which=2, word_which_object=1)
    save_hypernet(net, tmp_path / "object")
    for init, out, why in (("plain", "a", "no object row"), ("object", "plain", "exists")):
        with pytest.raises(SystemExit) as exc:
            main(["--init", str(tmp_path / init), "--gain", "4", "--out", str(tmp_path / out)])
        assert exc.value.code == 2 and why in capsys.readouterr().err
    assert main(["--init", str(tmp_path / "object"), "--gain", "4", "--out", str(tmp_path / "four")]) == 0
    four, meta = load_hypernet(tmp_path / "four")
    assert four.word_path.object_gain.tolist() == [4.0, 4.0] and meta["provenance"]["object_gain_set"]["gain"] == 4.0
    torch.testing.assert_close(four.word_path.object_basis, net.word_path.object_basis)
    with torch.no_grad():
        net.word_path.object_basis.zero_()  # as scripts/pretrain_roles.py --object writes it
    save_hypernet(net, tmp_path / "unfitted")
    with pytest.raises(SystemExit) as exc:
        main(["--init", str(tmp_path / "unfitted"), "--gain", "4", "--out", str(tmp_path / "b")])
    assert exc.value.code == 2 and "--store" in capsys.readouterr().err


def test_a_gated_object_row_is_the_ungated_row_times_the_gate_on_the_pooled_description_and_exports(tmp_path):
    from t2l_edge.hypernet.reader import split_packed
    from tests.helpers.tiny_models import tiny_encoder, tiny_hypernet

    net = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=2, word_which=2, word_which_object=1,
                        word_which_object_gate=1)
    seq = torch.from_numpy(np.random.default_rng(1).normal(size=(3, 9, 64)).astype(np.float32))
    wp = net.word_path
    with torch.no_grad():
        wp.object_gain.fill_(2.0)
        wp.object_basis.normal_()
        wp.object_gate.weight.normal_()
        gated = net(seq)["v_proj"][0]
        _, states, pieces, mask = split_packed(seq)
        peak = net.reader.logits(states, mask, wp.object_query).amax(-1)  # [3, 1]: mask is all real pieces here
        gate = torch.sigmoid(wp.object_gate(torch.cat([split_packed(seq)[0], peak], -1)))  # [3, 1]
        wp.object_gain.zero_()
        bare = net(seq)["v_proj"][0]
        wp.object_gain.fill_(2.0)
        wp.object_gate.bias.fill_(30.0)  # shut no more: the ungated row
        ungated = net(seq)["v_proj"][0]
    torch.testing.assert_close(gated[:, -2:, 1] - bare[:, -2:, 1], gate[:, :, None] * (ungated - bare)[:, -2:, 1],
                               rtol=1e-4, atol=1e-5)
    assert not torch.allclose(gated, ungated)
    with pytest.raises(ValueError, match="word_which_object_gate"):
        HyperConfig(variant="M", read_tokens=2, piece_values="base", word_layers=2, word_which=2, word_which_object_gate=1)
    one_layer = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=1, word_which=2, word_which_object=1,
                              word_which_object_gate=1)  # as the ungated parity test: two layers' values outgrow its tolerance
    enc = tiny_encoder(tmp_path / "enc", pieces=True, values=torch.randn(64, 32))
    _bundle_matches_pytorch(tmp_path / "gated", enc, one_layer, ["say yes if apple", "say yes if river"])


def test_an_object_row_in_a_rank_of_its_own_leaves_rank_1_alone_and_set_object_gain_moves_it_there(tmp_path):
    from scripts.set_object_gain import main
    from t2l_edge.hypernet.checkpoint import load_hypernet, save_hypernet
    from t2l_edge.hypernet.reader import split_packed
    from tests.helpers.tiny_models import tiny_hypernet

    net = tiny_hypernet("M", read_tokens=2, piece_values="base", word_layers=2, word_which=2, word_which_object=1)
    save_hypernet(net, tmp_path / "rank1")
    assert main(["--init", str(tmp_path / "rank1"), "--gain", "2", "--own-rank", "1.5", "--out", str(tmp_path / "own")]) == 0
    own, _ = load_hypernet(tmp_path / "own")
    assert own.cfg.word_which_object == 2 and own.word_path.object_scale.tolist() == [1.5, 1.5]
    seq = torch.from_numpy(np.random.default_rng(1).normal(size=(3, 9, 64)).astype(np.float32))
    wp = own.word_path
    with torch.no_grad():
        a, b = own(seq)["v_proj"]
        wp.object_gain.zero_()
        a0, b0 = own(seq)["v_proj"]
        wp.object_scale.zero_()
        b00 = own(seq)["v_proj"][1]
        _, states, pieces, mask = split_packed(seq)
        obj = own.reader.pool(states, pieces, mask, wp.object_query)
        row = torch.einsum("kfd,td->tkf", wp.object_basis, obj) * 2.0
        col = wp._holding_minus_other(own.reader.pool(states, pieces, mask)).view(3, 2, -1) * 1.5
    torch.testing.assert_close(a[:, -2:, 2] - a0[:, -2:, 2], row, rtol=1e-4, atol=1e-5)  # rank 2's A row: the object row
    assert torch.equal(a[:, :, :2], a0[:, :, :2]) and torch.equal(b, b0)  # ranks 0 and 1 untouched, B not gated by the gain
    torch.testing.assert_close(b[:, -2:, :, 2] - b00[:, -2:, :, 2], col, rtol=1e-4, atol=1e-5)  # rank 2's B: the tied column
    assert torch.equal(b[:, :, :, :2], b00[:, :, :, :2]) and torch.equal(b[:, :-2], b00[:, :-2])
    with pytest.raises(ValueError, match="rank >= 3"):
        HyperConfig(variant="M", rank=2, read_tokens=2, piece_values="base", word_layers=2, word_which=2,
                    word_which_a=0.1, word_which_object=2)


def test_without_mean_response_makes_every_row_score_the_mean_input_zero_and_keeps_the_rest():
    from t2l_edge.train.object_basis import without_mean_response

    gen = torch.Generator().manual_seed(0)
    basis, mean = torch.randn(16, 4, generator=gen), torch.randn(16, generator=gen)
    centred = without_mean_response(basis, mean)
    values = torch.randn(5, 4, generator=gen)
    torch.testing.assert_close(mean @ (values @ centred.T).T, torch.zeros(5), atol=1e-5, rtol=0)
    other = torch.randn(16, generator=gen)
    other -= (other @ mean) / (mean @ mean) * mean  # an input orthogonal to the mean scores as before
    torch.testing.assert_close(other @ centred, other @ basis, atol=1e-5, rtol=1e-5)
