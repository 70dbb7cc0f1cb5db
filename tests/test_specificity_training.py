"""The training side of description specificity: conflict families built in code, conflict
pairs in batches, family-balanced sampling, the description gap, and device/precision choice."""

import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from t2l_edge.data import synthetic
from t2l_edge.data.descriptions import MIN_TRAINING
from t2l_edge.data.schema import Example
from t2l_edge.core.errors import T2LError
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.conflict import ConflictFamily, conflict_rows
from t2l_edge.train.device import cpu_has_bf16, resolve_device, use_bf16
from t2l_edge.train.loop import description_gap, swap_partners, validate
from t2l_edge.train.batches import TaskData, family_weights, make_batch
from t2l_edge.train.loss import SwapHinge, sft_loss
from tests.helpers.tiny_models import tiny_spec
from tests.helpers.train_fixtures import char_formatter, tiny_causal_lm, toy_tasks


def _fake_source(tid: str, split: str) -> list[Example]:
    """Stand-in for TaskStore.examples: a few inputs per source task of every family."""
    if tid.startswith("mmlu."):
        return [Example(f"{tid} question {i}?", "x", ["x", "y"], 0, f"{tid}-{i}") for i in range(3)]
    if tid in ("olmo.rte", "olmo.mrpc"):
        return [Example(f"The cat number {i} sat on the mat.\nA cat sat down, again.", "l", ["l0", "l1"], i % 2, f"{tid}-{i}")
                for i in range(6)]
    return [Example(f"Which one is {i}?", "two", ["one", "two", "three"], 1, f"{tid}-{i}") for i in range(4)]


def test_every_variant_has_enough_unique_descriptions():
    for tid, descs in synthetic.all_descriptions().items():
        assert len(descs) >= MIN_TRAINING + 2, tid  # training wording plus two held out
        assert len({d.lower() for d in descs}) == len(descs), tid
        assert all(d == d.strip() and d for d in descs), tid


def test_families_are_aligned_on_shared_inputs():
    for fam in synthetic.FAMILIES:
        tasks = synthetic.build_family(fam, _fake_source, "train")
        prompts = [[ex.prompt for ex in exs] for exs in tasks.values()]
        assert prompts[0] and all(p == prompts[0] for p in prompts), fam.name
        # on every input at least two variants disagree, or the family teaches nothing
        for j in range(len(prompts[0])):
            assert len({exs[j].answer for exs in tasks.values()}) >= 2, (fam.name, j)


def test_answers_follow_the_variant():
    mc = synthetic.build_family(synthetic.MC_FORMAT, _fake_source, "train")
    first = {tid.rsplit(".", 1)[1]: exs[0].answer for tid, exs in mc.items()}
    assert first == {"letter": "B", "number": "2", "text": "two", "wrong_letter": "A"}
    assert "A. one\nB. two\nC. three" in mc["syn.mc_format.letter"][0].prompt
    ops = synthetic.build_family(synthetic.SENTENCE_OPS, _fake_source, "train")
    ex = {tid.rsplit(".", 1)[1]: exs[0] for tid, exs in ops.items() if exs[0].id.split("-", 1)[1].startswith("olmo.mrpc")}
    assert ex["first_word"].answer == "The" and ex["last_word"].answer == "mat"  # punctuation stripped
    assert ex["second_word"].answer == "cat" and ex["first_three"].answer == "The cat number"
    assert ex["copy"].answer == ex["copy"].prompt and ex["copy"].prompt.startswith("The cat number ")
    rte = synthetic.build_family(synthetic.RTE_LABELS, _fake_source, "train")
    pairs = {tid.rsplit(".", 1)[1]: (exs[0].answer, exs[0].id) for tid, exs in rte.items()}
    src = int(pairs["yes_no"][1].rsplit("-", 1)[1])  # answer_index 0 (entailment) for even inputs
    assert (pairs["yes_no"][0] == "yes") == (src % 2 == 0)
    assert pairs["no_yes"][0] != pairs["yes_no"][0]


def test_excluded_sources_never_feed_a_family():
    held = {"olmo.mrpc", "mmlu.anatomy"}
    for fam in synthetic.FAMILIES:
        for exs in synthetic.build_family(fam, _fake_source, "train", exclude=held).values():
            assert not any(("olmo.mrpc" in e.id) or ("mmlu.anatomy" in e.id) for e in exs)


def _family(answers_per_variant: list[list[str]]) -> ConflictFamily:
    emb = np.eye(len(answers_per_variant), 8, dtype=np.float32)
    return ConflictFamily("toy", [TaskData(f"v{k}", [Example(f"in{j}", a) for j, a in enumerate(ans)], emb[k:k + 1])
                                  for k, ans in enumerate(answers_per_variant)])


def test_conflict_pairs_share_an_input_and_disagree():
    fam = _family([["a", "b", "c"], ["d", "b", "f"], ["g", "h", "i"]])
    rows = conflict_rows([fam], char_formatter, np.random.default_rng(0), 6)
    assert len(rows) == 12
    for k in range(0, 12, 2):
        (ids_a, na), emb_a, _ = rows[k]
        (ids_b, nb), emb_b, _ = rows[k + 1]
        assert ids_a[:na] == ids_b[:nb]  # same prompt
        assert ids_a[na:] != ids_b[nb:]  # different answer
        assert not np.array_equal(emb_a, emb_b)  # different task, different description
    again = conflict_rows([fam], char_formatter, np.random.default_rng(0), 6)
    assert [r[0] for r in again] == [r[0] for r in rows]  # a pure function of the rng


def test_the_rare_answer_is_in_every_pair():
    # topic-style family: on each input exactly one variant says yes
    fam = _family([["yes", "no", "no", "no"], ["no", "yes", "no", "no"], ["no", "no", "yes", "no"], ["no", "no", "no", "yes"]])
    rows = conflict_rows([fam], char_formatter, np.random.default_rng(1), 20)
    yes = [3 + (ord(c) % 120) for c in "yes"] + [2]
    for k in range(0, len(rows), 2):
        answers = [rows[k + i][0][0][rows[k + i][0][1]:] for i in (0, 1)]
        assert yes in answers


def test_make_batch_puts_pairs_first_and_fills_with_tasks():
    fam = _family([["aa", "bb"], ["cc", "dd"]])
    batch = make_batch(toy_tasks(4, emb_dim=8), char_formatter, 0, 0, 8, 0, families=[fam], n_pairs=2)
    assert batch.input_ids.shape[0] == 8
    assert torch.equal(batch.embeddings[0], torch.from_numpy(fam.variants[0].desc_emb[0])) or \
        torch.equal(batch.embeddings[0], torch.from_numpy(fam.variants[1].desc_emb[0]))


def test_family_weights_balance_families():
    tasks = [TaskData(t, [], np.zeros((1, 2))) for t in ("m1", "m2", "m3", "solo")]
    family_of = {"m1": "mmlu", "m2": "mmlu", "m3": "mmlu"}
    assert np.allclose(family_weights(tasks, family_of, 0.0), 0.25)
    w = family_weights(tasks, family_of, 1.0)
    assert np.isclose(w[:3].sum(), 0.5) and np.isclose(w[3], 0.5)
    w = family_weights(tasks, family_of, 0.5)
    assert 0.5 < w[:3].sum() < 0.75


def _kinded_tasks() -> list[TaskData]:
    """Three multiple-choice tasks (two of one family) and three free-answer ones."""
    def task(k, tid, family, mc):
        opts = ["aa", "bb"] if mc else []
        exs = [Example(f"{tid} q{i}", "aa", options=opts, answer_index=0 if mc else -1) for i in range(10)]
        return TaskData(tid, exs, np.full((2, 8), k, np.float32), family=family)  # the embedding names the task
    spec = [("mc1", "mmlu", True), ("mc2", "mmlu", True), ("mc3", "arc", True),
            ("gen1", "bb", False), ("gen2", "ni", False), ("gen3", "ni2", False)]
    return [task(k, *row) for k, row in enumerate(spec)]


def test_hard_pairs_match_the_answer_kind_across_families():
    tasks = _kinded_tasks()
    for step in range(30):
        plain = make_batch(tasks, char_formatter, step, 0, 6, 0)
        hard = make_batch(tasks, char_formatter, step, 0, 6, 0, hard_pairs=True)
        assert torch.equal(plain.embeddings[0::2], hard.embeddings[0::2])  # the first of each pair is the same task
        picked = [tasks[int(row[0])] for row in hard.embeddings]
        for a, b in zip(picked[0::2], picked[1::2]):
            assert bool(a.examples[0].options) == bool(b.examples[0].options) and a.family != b.family


def test_swap_partners_never_keep_a_row_own_description():
    for n in (2, 3, 7, 8):
        for paired in (False, True):
            order = swap_partners(n, paired)
            assert all(order[i] != i and 0 <= order[i] < n for i in range(n))
            if not paired:
                assert sorted(order) == list(range(n))  # every description lent exactly once
    assert swap_partners(6, True) == [1, 0, 3, 2, 5, 4]
    assert description_gap(1.0, 1.5) == 0.5


def _cfg(**kw):
    base = dict(eval_examples=16, batch_tasks=4, seed=0, bf16=False)
    return SimpleNamespace(**{**base, **kw})


def test_description_gap_is_zero_when_the_generator_ignores_descriptions_and_grows_when_it_reads_them():
    model, wrapped = tiny_causal_lm()
    net = HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0), tiny_spec())
    tasks = toy_tasks(4, emb_dim=32)  # task k answers 'xx' or 'yy' to every prompt: only the description says which
    # untrained: bias hyper-init makes every adapter zero, whatever the description
    nonsense = np.random.default_rng(0).normal(size=(3, 32)).astype(np.float32)  # embeddings of no task
    blind = validate(net, model, wrapped, tasks, char_formatter, _cfg(), pad_id=0, random_emb=nonsense)
    assert blind["val_gap"] == pytest.approx(0.0, abs=1e-6)
    assert blind["val_random_gap"] == pytest.approx(0.0, abs=1e-6)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    for step in range(60):
        loss, _ = sft_loss(net, model, wrapped, make_batch(tasks, char_formatter, step, 0, 4, 0))
        opt.zero_grad()
        loss.backward()
        opt.step()
    reading = validate(net, model, wrapped, tasks, char_formatter, _cfg(), pad_id=0, random_emb=nonsense)
    assert reading["val_gap"] > 0.5 and reading["val_random_gap"] > 0.1, reading


def test_swap_hinge_is_the_margin_for_a_blind_generator_and_pays_for_reading():
    model, wrapped = tiny_causal_lm()
    net = HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0), tiny_spec())
    # conflict pairs, as in training: one input, two variants, two answers
    rng = np.random.default_rng(0)
    fam = ConflictFamily("toy", [TaskData(f"v{k}", [Example(f"q{j}", ans * 2) for j in range(12)],
                                          rng.standard_normal((3, 32)).astype(np.float32)) for k, ans in enumerate("xy")])

    def batch(step):
        return make_batch([], char_formatter, step, 0, 4, 0, families=[fam], n_pairs=2)

    plain, info0 = sft_loss(net, model, wrapped, batch(0))
    hinged, info = sft_loss(net, model, wrapped, batch(0), swap=SwapHinge(weight=2.0, margin=0.5))
    # zero adapters read nothing: the swapped rows fit exactly as well, so the hinge is the margin
    assert info["swap_gap"] == pytest.approx(0.0, abs=1e-6) and info["hinge"] == pytest.approx(0.5)
    assert info["ce"] == pytest.approx(info0["ce"], rel=1e-5) and info["tokens"] == info0["tokens"]
    assert float(hinged) == pytest.approx(float(plain) + 2.0 * 0.5, rel=1e-5)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    for step in range(60):
        loss, info = sft_loss(net, model, wrapped, batch(step), swap=SwapHinge(1.0, 0.5))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert info["swap_gap"] > 0.5 and info["hinge"] < 0.1, info


def test_device_and_precision_are_chosen_from_the_machine():
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(T2LError):
            resolve_device("cuda")
    with pytest.raises(T2LError):
        resolve_device("tpu")
    cpu = torch.device("cpu")
    assert use_bf16("auto", cpu, flags={"avx2", "fma"}) is False  # AVX2 only: bf16 would be emulated
    assert use_bf16("auto", cpu, flags={"avx2", "amx_bf16"}) is True
    assert use_bf16(True, cpu, flags=set()) is True and use_bf16("false", cpu) is False
    assert cpu_has_bf16({"avx512_bf16"}) and not cpu_has_bf16(set())
    with pytest.raises(T2LError):
        use_bf16("maybe", cpu)


def test_config_checks_the_new_keys(tmp_path):
    from t2l_edge.train.config import SFTConfig, resolve

    assert resolve(SFTConfig, None, ["bf16=auto"]).bf16 == "auto"
    assert resolve(SFTConfig, None, ["synthetic_pairs=2", "sample_by=sqrt_family"]).synthetic_pairs == 2
    with pytest.raises(T2LError):
        resolve(SFTConfig, None, ["synthetic_pairs=5"])  # 10 rows do not fit 8
    with pytest.raises(T2LError):
        resolve(SFTConfig, None, ["sample_by=subject"])
    assert resolve(SFTConfig, None, ["swap_weight=0.5", "swap_margin=1"]).swap_margin == 1.0
    with pytest.raises(T2LError):
        resolve(SFTConfig, None, ["swap_margin=0"])
    assert resolve(SFTConfig, None, ["distill_weight=0.5"]).distill_weight == 0.5
    with pytest.raises(T2LError):
        resolve(SFTConfig, None, ["distill_weight=-1"])
    assert resolve(SFTConfig, None, ["init_from=runs/x/best"]).init_from == "runs/x/best"
    assert resolve(SFTConfig, None, ["families=label_words,topic"]).families == ["label_words", "topic"]
    with pytest.raises(T2LError, match="not known"):
        resolve(SFTConfig, None, ["families=label_words,colours"])
    one = "syn.rule_words_few.digit_contrast_smooth"
    assert resolve(SFTConfig, None, [f"family_variants={one}"]).family_variants == [one]
    with pytest.raises(T2LError, match="match no trained variant"):
        resolve(SFTConfig, None, [f"family_variants={one},syn.rule_words_few.digit_x_y"])
    assert resolve(SFTConfig, None, ["family_variants=syn.rule_words_roles.digit_*"]).family_variants
    with pytest.raises(T2LError, match="match no trained variant"):
        resolve(SFTConfig, None, ["family_variants=syn.rule_words_roles.colour_*"])


def test_a_run_loads_only_the_families_its_config_names():
    from t2l_edge.train.conflict import load_families

    store = SimpleNamespace(examples=_fake_source)
    embed = lambda descs: np.zeros((len(descs), 4), dtype=np.float32)  # noqa: E731
    picked = load_families(store, embed, "train", names=["topic", "mrpc_words"])
    assert [f.name for f in picked] == ["topic", "mrpc_words"]  # FAMILIES order, not the config's
    assert len(load_families(store, embed, "val")) == len(synthetic.FAMILIES)


def test_a_run_can_train_on_named_variants_only_and_validate_on_the_held_out_ones():
    from t2l_edge.train.conflict import load_families

    store = SimpleNamespace(examples=_fake_source)
    embed = lambda descs: np.zeros((len(descs), 4), dtype=np.float32)  # noqa: E731
    only = frozenset({"syn.rule_words_few.digit_contrast_smooth", "syn.rule_words_few.digit_follow_associated"})
    (train,) = load_families(store, embed, "train", names=["rule_words_few"], only=only)
    assert {v.task_id for v in train.variants} == only and train.twins == []  # no twin left to pair
    (val,) = load_families(store, embed, "val", names=["rule_words_few"], only=only)
    assert len(val.variants) == len(synthetic.RULE_WORDS_FEW.val_variants)
    (digits,) = load_families(store, embed, "train", names=["rule_words_few"], only=["syn.rule_words_few.digit_*"])
    assert len(digits.variants) == 8 and all(v.task_id.split(".")[2].startswith("digit_") for v in digits.variants)


def test_word_families_answer_with_the_words_their_description_names():
    for fam, positive in ((synthetic.LABEL_WORDS, 0), (synthetic.MRPC_WORDS, 1)):
        tasks = synthetic.build_family(fam, _fake_source, "train")
        for y, n in synthetic.LABEL_WORD_PAIRS:
            variant = next(v for v in fam.variants if v.name == f"{y}_{n}".lower())
            assert all(y in d and n in d for d in variant.descriptions), (fam.name, y)
            for ex in tasks[synthetic.task_id(fam, variant)]:
                src = int(ex.id.rsplit("-", 1)[1])  # _fake_source: answer_index = input % 2
                assert ex.answer == (y if src % 2 == positive else n), (fam.name, ex.id)


def test_init_from_loads_an_earlier_hypernetwork_and_refuses_another_shape(tmp_path):
    from t2l_edge.hypernet.checkpoint import save_hypernet
    from t2l_edge.train.run import _load_weights

    cfg = HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0)
    earlier = HyperNetwork(cfg, tiny_spec(), init_seed=1)
    save_hypernet(earlier, tmp_path / "best", provenance={"step": 7})
    fresh = HyperNetwork(cfg, tiny_spec(), init_seed=2)
    _load_weights(fresh, str(tmp_path / "best"), log=lambda s: None)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), earlier.state_dict().values()))
    other = HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=2, dropout=0.0), tiny_spec())
    with pytest.raises(T2LError, match="init_from"):
        _load_weights(other, str(tmp_path / "best"), log=lambda s: None)


def test_description_gap_scores_guided_adapters_as_the_product_makes_them(tiny_llama_bundle, tmp_path, monkeypatch):
    from scripts.description_gap import BundleLoRAs
    from t2l_edge.core.adapter import lora_scale
    from t2l_edge.core.text import normalize_description
    from t2l_edge.runtime import Generator

    monkeypatch.setenv("T2L_EDGE_CACHE", str(tmp_path / "cache"))  # the task bank's cache, not the user's

    texts = ["answer yes or no", "count the words"]
    gen = Generator.load(tiny_llama_bundle, threads=1)
    want = gen.make_batch(texts, guidance=2.0)
    net = BundleLoRAs(tiny_llama_bundle, guidance=2.0)
    scale = lora_scale(net.cfg.alpha, net.cfg.rank, net.cfg.use_rslora)
    emb = gen.embed([normalize_description(t)[0] for t in texts])  # what make_batch embeds
    for m, (A, B) in net(torch.from_numpy(emb)).items():
        assert A.shape[2] == net.cfg.rank == want[0].rank  # rank 2r, as the product writes it
        for i, adapter in enumerate(want):
            np.testing.assert_allclose(scale * B[i, 1].numpy() @ A[i, 1].numpy(), adapter.delta(m, 1), rtol=1e-4, atol=1e-6)


def test_snapping_lands_on_the_nearest_centroid_as_the_temperature_falls():
    from scripts.description_gap import snapped

    bank = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    emb = np.array([[0.9, 0.3, 0.0]], dtype=np.float32)
    cold = snapped(emb, bank, length=2.0, tau=1e-3)
    np.testing.assert_allclose(cold, [[2.0, 0.0, 0.0]], atol=1e-5)  # the nearest centroid, at the mean length
    warm = snapped(emb, bank, length=2.0, tau=100.0)
    np.testing.assert_allclose(warm, 2.0 * bank.mean(0, keepdims=True) / np.linalg.norm(bank.mean(0)), atol=1e-2)


def _words_of(text: str) -> set[str]:
    return set(text.lower().replace(",", " ").replace(".", " ").split())


def _steering_words() -> set[str]:
    """Every label, answer and description word of the steering check's tasks."""
    from t2l_edge.evaluation import steer

    words = set()
    for task in steer.tasks():
        words |= set(map(str.lower, task.labels)) | _words_of(task.description)
        for _, gold in task.items:
            words |= _words_of(gold)
    return words


def test_wide_label_words_validate_on_words_no_training_pair_uses():
    from t2l_edge.data import label_vocab

    train = {w.lower() for p in label_vocab.train_pairs() for w in p}
    val = {w.lower() for p in label_vocab.val_pairs() for w in p}
    assert len(val) == label_vocab.VAL_WORDS and not train & val
    assert len(label_vocab.train_pairs()) >= 200 and len(set(label_vocab.WORDS)) == len(label_vocab.WORDS)
    older = {w.lower() for p in synthetic.LABEL_WORD_PAIRS for w in p}
    assert not (train | val) & (older | _steering_words())


def test_vocabulary_label_words_share_the_wide_held_out_pairs_and_avoid_their_words():
    from t2l_edge.data import label_vocab

    words = label_vocab.vocab_words()
    assert len(words) >= 1000 and len(set(words)) == len(words)
    train = {w for p in label_vocab.vocab_train_pairs() for w in p}
    assert train == set(words) and len(label_vocab.vocab_train_pairs()) >= len(words) - 2
    fam = synthetic.LABEL_WORDS_VOCAB
    assert [v.name for v in fam.split_variants("val")] == [v.name for v in synthetic.LABEL_WORDS_WIDE.val_variants]
    held_out = {w.lower() for p in label_vocab.val_pairs() for w in p}
    older = {w.lower() for p in synthetic.LABEL_WORD_PAIRS for w in p} | {w.lower() for w in label_vocab.WORDS}
    assert not train & (held_out | older | _steering_words())


def test_say_word_answers_its_word_and_validates_on_the_held_out_words():
    from t2l_edge.data import label_vocab

    fam = synthetic.SAY_WORD
    trained = {v.answer(None, 0) for v in fam.variants}
    held_out = {v.answer(None, 0) for v in fam.split_variants("val")}
    assert trained == set(label_vocab.vocab_words()) and held_out == set(label_vocab.val_words())
    assert not {w.lower() for w in trained} & ({w.lower() for w in held_out} | _steering_words())
    assert all(v.answer(None, 0) in d for v in fam.variants[:50] for d in v.descriptions)


def test_say_word_split_trains_on_the_probe_fit_words_and_validates_on_words_it_holds_out():
    from t2l_edge.data import label_vocab

    held_out, fit, _ = label_vocab.probe_split()
    fam = synthetic.SAY_WORD_SPLIT
    trained = {v.answer(None, 0) for v in fam.variants}
    val = {v.answer(None, 0) for v in fam.split_variants("val")}
    assert trained == set(fit) and len(val) == label_vocab.VAL_WORDS and val <= set(held_out)
    assert len(held_out) == label_vocab.PROBE_HELDOUT_WORDS and not set(fit) & set(held_out)
    binding = synthetic.LABEL_WORDS_SPLIT  # the binding half, on the same words
    assert {w for v in binding.variants for w in v.name.split("_")} == set(fit)
    assert {w for v in binding.split_variants("val") for w in v.name.split("_")} == val


def test_a_family_with_validation_variants_builds_them_for_val_only():
    fam = synthetic.LABEL_WORDS_WIDE
    train = synthetic.build_family(fam, _fake_source, "train")
    val = synthetic.build_family(fam, _fake_source, "val")
    assert len(train) == len(fam.variants) and len(val) == len(fam.val_variants)
    assert not set(train) & set(val)
    y, n = synthetic.label_vocab.val_pairs()[0]
    first = val[synthetic.task_id(fam, fam.val_variants[0])]
    src = int(first[0].id.rsplit("-", 1)[1])  # the fake RTE source: answer_index 0 (entailed) for even inputs
    assert first[0].answer == (y if src % 2 == 0 else n)
    assert y in fam.val_variants[0].descriptions[0] and n in fam.val_variants[0].descriptions[0]


def test_rule_words_answer_by_a_surface_rule_of_the_sentence_with_the_words_the_description_names():
    from t2l_edge.data import label_vocab

    fam = synthetic.RULE_WORDS_SPLIT
    tasks = synthetic.build_family(fam, _fake_source, "train")
    (y, n), rule_of = label_vocab.probe_train_pairs()[0], {}
    for rule in synthetic.SURFACE_RULES:
        exs = tasks[f"syn.rule_words_split.{rule}_{y}_{n}"]
        rule_of[rule] = [ex.answer for ex in exs]
        # the prompt is the one sentence: MRPC's first (a digit, no comma), RTE's last (a comma, no digit)
        for ex in exs:
            has = any(c.isdigit() for c in ex.prompt) if rule == "digit" else "," in ex.prompt
            assert ex.answer == (y if has else n) and "\n" not in ex.prompt
            assert y in fam.variants[0].descriptions[0] and n in fam.variants[0].descriptions[0]
    assert set(rule_of["digit"]) == {y, n} and rule_of["digit"] != rule_of["comma"]
    val_words = {w for v in fam.split_variants("val") for w in v.name.split("_")[1:]}
    train_words = {w for v in fam.variants for w in v.name.split("_")[1:]}
    assert val_words == set(label_vocab.probe_val_words()) and not val_words & train_words
    assert len(fam.variants) == synthetic.RULE_TRAIN_PAIRS * len(synthetic.SURFACE_RULES)


def test_a_twinned_family_pairs_the_same_words_with_their_roles_exchanged():
    from t2l_edge.train import conflict

    fam = synthetic.RULE_WORDS_ROLES
    tasks = synthetic.build_family(fam, _fake_source, "train")
    variants = [TaskData(synthetic.task_id(fam, v), tasks[synthetic.task_id(fam, v)], np.eye(1, 8, dtype=np.float32), ["d"])
                for v in fam.variants]
    groups = conflict._twin_groups(fam, fam.variants)
    assert len(groups) == len(fam.variants) // 4 and all(len(g) == 4 for g in groups)  # 2 roles x 2 rules
    cf = ConflictFamily(fam.name, variants, groups)
    rng, twins, pairs = np.random.default_rng(0), 0, 0
    for _ in range(200):
        pair = conflict._pick_pair(cf, int(rng.integers(cf.n_inputs)), rng)
        if pair is None:
            continue
        a, b = pair
        pairs += 1
        assert a.examples[0].prompt == b.examples[0].prompt
        same_words = sorted(a.task_id.split("_")[-2:]) == sorted(b.task_id.split("_")[-2:])
        twins += same_words
    assert pairs > 150 and 0.3 < twins / pairs < 0.7  # TWIN_SHARE of them, the rest at random
    assert conflict._twin_groups(synthetic.RULE_WORDS_SPLIT, synthetic.RULE_WORDS_SPLIT.variants) == []


def test_the_worded_family_names_the_no_digit_word_first_in_half_its_trained_wordings():
    from t2l_edge.data.descriptions import HELDOUT_PER_TASK
    from t2l_edge.train import conflict

    fam, roles = synthetic.RULE_WORDS_WORDED, synthetic.RULE_WORDS_ROLES
    assert [v.name for v in fam.val_variants] == [v.name for v in roles.val_variants if v.name.startswith("digit_")]
    v = fam.variants[0]
    old = next(r for r in roles.variants if r.name == v.name)
    assert len(v.descriptions) == 32 and v.descriptions[-HELDOUT_PER_TASK:] == old.descriptions[-HELDOUT_PER_TASK:]
    y, n = v.roles
    trained = [d.lower() for d in v.descriptions[:-HELDOUT_PER_TASK]]
    assert all(y in d and n in d for d in trained)
    assert sum(d.index(n) < d.index(y) for d in trained) == len(trained) // 2
    assert all(len(g) == 2 for g in conflict._twin_groups(fam, fam.variants))  # one rule, both roles


@pytest.mark.parametrize("name", ["rule_words_composed", "rule_words_composed_wide"])
def test_composed_wordings_hold_out_their_parts_and_keep_each_word_where_the_frame_puts_it(name):
    import re

    from t2l_edge.data import composed_wordings as cw
    from t2l_edge.data.descriptions import HELDOUT_PER_TASK

    fam = next(f for f in synthetic.FAMILIES if f.name == name)
    assert [v.name for v in fam.variants] == [v.name for v in synthetic.RULE_WORDS_WORDED.variants]
    v = fam.variants[3]
    wordings = cw.wide_digit_wordings if name.endswith("wide") else cw.composed_digit_wordings
    assert v.descriptions == wordings(*v.roles)  # fixed by the words, run to run
    assert v.descriptions[-HELDOUT_PER_TASK:] == cw.composed_digit_wordings(*v.roles)[-HELDOUT_PER_TASK:]
    trained, held = v.descriptions[:-HELDOUT_PER_TASK], v.descriptions[-HELDOUT_PER_TASK:]
    assert len(set(trained)) == cw.TRAINED_PER_VARIANT and len(held) == HELDOUT_PER_TASK
    for d in v.descriptions:
        for w in v.roles:
            assert len(re.findall(rf"(?<![a-z]){w}(?![a-z])", d.lower())) >= 1
    def unnamed(u, d):  # a named word may itself be "print" or "means"
        return re.sub(rf"(?<![a-z])({'|'.join(u.roles)})(?![a-z])", "_", d.lower())

    shown = " ".join(unnamed(u, d) for u in fam.variants for d in u.descriptions[:-HELDOUT_PER_TASK])
    for part in (*cw.HELDOUT["digit"].has, *cw.HELDOUT["digit"].lacks, *cw.HELDOUT["digit"].verbs, "means", "the rest get"):
        assert f" {part} " not in f" {shown} ", part  # no held-out part appears in a trained wording
    assert len({d for u in fam.variants for d in u.descriptions[:-HELDOUT_PER_TASK]}) > 10_000


def test_composed_rules_share_one_grammar_keep_the_digit_wordings_and_hold_out_each_rules_parts():
    from t2l_edge.data import composed_wordings as cw
    from t2l_edge.data.descriptions import HELDOUT_PER_TASK
    from t2l_edge.train import conflict

    fam, digit = synthetic.RULE_WORDS_COMPOSED_RULES, synthetic.RULE_WORDS_COMPOSED
    by_name = {v.name: v for v in fam.variants}
    assert len(fam.variants) == 2 * len(digit.variants) and len(fam.val_variants) == 2 * len(digit.val_variants)
    assert all(by_name[v.name].descriptions == v.descriptions for v in digit.variants)  # unchanged
    comma = [v for v in fam.variants if v.name.startswith("comma_")]
    shown = " ".join(d.lower() for v in comma for d in v.descriptions[:-HELDOUT_PER_TASK])
    assert "digit" not in shown and "comma" in shown
    for part in (*cw.HELDOUT["comma"].has, *cw.HELDOUT["comma"].lacks):
        assert part not in shown, part
    # the twins of a pair are its other role and its other rule: all four variants of its words
    assert all(len(g) == 4 for g in conflict._twin_groups(fam, fam.variants))
    assert cw.TRAINED["comma"].verbs == cw.TRAINED["digit"].verbs and cw.TRAINED["comma"].closings == cw.TRAINED["digit"].closings


def test_the_five_rule_family_trains_four_rules_on_every_pair_twice_and_holds_the_fifth_out_whole():
    from collections import Counter

    from t2l_edge.data import label_vocab
    from t2l_edge.data.descriptions import HELDOUT_PER_TASK
    from t2l_edge.train import conflict

    fam = synthetic.RULE_WORDS_COMPOSED_MORE
    rules = Counter(v.name.split("_")[0] for v in fam.variants)
    assert rules == {r: 300 for r in synthetic.MORE_TRAINED_RULES} and len(fam.variants) == 1_200
    assert Counter(v.name.split("_")[0] for v in fam.val_variants) == {
        r: len(label_vocab.probe_val_pairs()) for r in (*synthetic.MORE_TRAINED_RULES, synthetic.HELDOUT_RULE)}
    shown = " ".join(d.lower() for v in fam.variants for d in v.descriptions)
    assert "hyphen" not in shown and "apostrophe" in shown and "acronym" in shown
    assert all(len(g) == 4 for g in conflict._twin_groups(fam, fam.variants))  # two roles x two rules
    assert all("hyphen" in d.lower() or "dash" in d.lower() for v in fam.val_variants if v.name.startswith("hyphen_")
               for d in v.descriptions[:-HELDOUT_PER_TASK])
    digit = {v.name: v.descriptions for v in synthetic.RULE_WORDS_COMPOSED_RULES.variants}
    assert all(digit[v.name] == v.descriptions for v in fam.variants if v.name in digit)  # one grammar, one wording
    held = fam.val_variants[-1]
    assert [held.answer(Example(t, "", id="0"), 0) for t in ("a well-known case", "a known case")] == list(held.roles)


@pytest.mark.parametrize("rule, yes, no", [("apostrophe", "It's late.", "It is late."), ("hyphen", "A well-known man.", "A known man."),
                                           ("capitals", "The US said so.", "The Us said so. I agree.")])
def test_each_new_surface_rule_holds_on_its_mark_alone(rule, yes, no):
    assert synthetic.RULE_TESTS[rule](yes) and not synthetic.RULE_TESTS[rule](no)


def test_a_code_built_task_has_its_own_examples_for_a_task_specific_lora():
    fam = synthetic.RULE_WORDS_SPLIT
    for v in (fam.variants[0], fam.split_variants("val")[1]):  # a training and a held-out variant
        tid = synthetic.task_id(fam, v)
        exs = synthetic.variant_examples(tid, _fake_source, "train")
        family_row = synthetic.build_family(fam, _fake_source, "train")
        if tid in family_row:
            assert [(e.prompt, e.answer) for e in exs] == [(e.prompt, e.answer) for e in family_row[tid]]
        assert exs and all(e.answer in v.name.split("_") for e in exs)
    with pytest.raises(KeyError):
        synthetic.variant_examples("syn.rule_words_split.digit_no_such", _fake_source, "train")
    from t2l_edge.train.tasks import task_examples

    with pytest.raises(T2LError, match="not a code-built task"):
        task_examples(SimpleNamespace(examples=_fake_source), "syn.nope.x")


def test_the_word_family_names_trained_words_only_and_validates_on_held_out_ones():
    from collections import Counter

    fam = synthetic.RULE_WORDS_COMPOSED_WORD
    assert len(fam.variants) == 1_200 and not set(synthetic.TRAINED_WORDS) & set(synthetic.HELDOUT_WORDS)
    per_word = Counter(v.object for v in fam.variants)
    assert set(per_word) == set(synthetic.TRAINED_WORDS) and min(per_word.values()) >= 24
    shown = " ".join(d.lower() for v in fam.variants for d in v.descriptions)
    assert not any(re.search(rf"\b{w}\b", shown) for w in synthetic.HELDOUT_WORDS)
    assert all(v.object in d for v in fam.variants + fam.val_variants for d in v.descriptions)
    held = [v for v in fam.val_variants if v.object in synthetic.HELDOUT_WORDS]
    assert len(held) == len(fam.val_variants) // 2 and {v.object for v in held} == set(synthetic.HELDOUT_WORDS)
    apple = next(v for v in fam.variants if v.object == "apple")
    assert [apple.answer(Example(t, "", id="0"), 0) for t in ("river apple chair", "river pineapple chair")] == list(apple.roles)


def test_a_word_list_input_is_fixed_by_its_source_and_carries_each_word_about_a_fifth_of_the_time():
    lists = [synthetic._word_list(Example("", "", id=str(i))) for i in range(2_000)]
    assert lists[7] == synthetic._word_list(Example("other text", "", id="7"))
    share = np.mean([[w in s.split() for w in synthetic.WORD_RULE_VOCAB] for s in lists], axis=0)
    assert all(len(s.split()) == synthetic.WORDS_PER_INPUT for s in lists) and 0.15 < share.min() < share.max() < 0.27
