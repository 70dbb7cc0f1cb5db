"""Option ranking (train/choices.py): a multiple-choice row's wrong options ride along as rows of
their own, the loss is a CE over the options' per-character log-likelihoods, and training on it
makes the gold option win where plain next-token CE alone would not have to."""

import numpy as np
import pytest
import torch

from t2l_edge.data.schema import Example
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.batches import TaskData, make_batch
from t2l_edge.train.choices import option_chars
from t2l_edge.train.loss import RankTerm, SwapHinge, sft_loss
from tests.helpers.tiny_models import tiny_spec
from tests.helpers.train_fixtures import tiny_causal_lm
from tests.test_prompt_distill import desc_formatter


def _mc_tasks() -> list[TaskData]:
    """Task k: the gold option is the one made of letter 'abcd'[k]; the other options are the other
    letters. Half the tasks also have a generation task beside them, with no options."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(4):
        letters = "abcd"
        examples = []
        for i in range(20):
            opts = [c * (2 + i % 3) for c in letters]
            examples.append(Example(f"q{i}", opts[k], options=opts, answer_index=k, id=f"t{k}-{i}"))
        out.append(TaskData(f"t{k}", examples, rng.standard_normal((3, 32)).astype(np.float32)))
    out.append(TaskData("gen", [Example(f"g{i}", "zz", id=f"g-{i}") for i in range(20)],
                        rng.standard_normal((3, 32)).astype(np.float32)))
    return out


def _net():
    return HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0), tiny_spec())


def test_wrong_options_draw_nothing_from_the_rng_and_point_at_their_row():
    tasks = _mc_tasks()
    plain = make_batch(tasks, desc_formatter, 3, 0, 5, 0)
    ranked = make_batch(tasks, desc_formatter, 3, 0, 5, 0, choices=3)
    assert plain.choices is None and torch.equal(plain.input_ids, ranked.input_ids)
    c = ranked.choices
    assert len(c.row_of) == 2 * int((c.gold_chars > 0).sum())  # k - 1 = 2 wrong options per multiple-choice row
    for d, row in enumerate(c.row_of.tolist()):
        assert torch.equal(c.rows.embeddings[d], ranked.embeddings[row])  # the main row's description
        n_prompt = int((ranked.labels[row] == -100).sum() - (ranked.input_ids[row] == 0).sum())
        assert torch.equal(c.rows.input_ids[d, :n_prompt], ranked.input_ids[row, :n_prompt])  # the same prompt
    assert option_chars("aa") == 3
    half = ranked.rows(slice(2, 5))
    assert half.choices is None or int(half.choices.row_of.max()) < 3


def test_the_term_adds_to_the_loss_and_zero_weight_only_measures():
    model, wrapped = tiny_causal_lm()
    net = _net()
    batch = make_batch(_mc_tasks(), desc_formatter, 0, 0, 5, 0, choices=4)
    base, info0 = sft_loss(net, model, wrapped, batch)
    measured, info_m = sft_loss(net, model, wrapped, batch, rank=RankTerm(0.0, 5.0))
    loss, info = sft_loss(net, model, wrapped, batch, rank=RankTerm(2.0, 5.0))
    assert "rank_ce" not in info0 and float(measured.detach()) == pytest.approx(float(base), rel=1e-6)
    assert info["rank_rows"] == int((batch.choices.gold_chars > 0).sum()) and 0.0 <= info["rank_acc"] <= 1.0
    assert float(loss) == pytest.approx(float(base) + 2.0 * info["rank_ce"], rel=1e-5)
    hinged, info_h = sft_loss(net, model, wrapped, batch, swap=SwapHinge(1.0, 0.5), rank=RankTerm(2.0, 5.0))
    assert info_h["rank_ce"] == pytest.approx(info["rank_ce"], rel=1e-4)  # the own rows' adapters only


def test_training_on_the_term_makes_the_gold_option_win():
    torch.manual_seed(0)
    model, wrapped = tiny_causal_lm()
    net = _net()
    tasks = _mc_tasks()
    probe = [make_batch(tasks, desc_formatter, 1000 + s, 0, 5, 0, choices=4) for s in range(6)]

    def accuracy():
        with torch.no_grad():
            infos = [sft_loss(net, model, wrapped, b, rank=RankTerm(0.0, 5.0))[1] for b in probe]
        return sum(i["rank_acc"] * i["rank_rows"] for i in infos) / sum(i["rank_rows"] for i in infos)

    before = accuracy()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    for step in range(80):
        loss, _ = sft_loss(net, model, wrapped, make_batch(tasks, desc_formatter, step, 0, 5, 0, choices=4), l2=0.0,
                           rank=RankTerm(1.0, 1.0))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert accuracy() >= 0.9 and accuracy() > before, (before, accuracy())


def test_ranking_hinge_under_swapped_descriptions_adds_its_term():
    model, wrapped = tiny_causal_lm()
    net = _net()
    batch = make_batch(_mc_tasks(), desc_formatter, 0, 0, 5, 0, choices=4)
    swap = SwapHinge(1.0, 0.5)
    plain, info_p = sft_loss(net, model, wrapped, batch, swap=swap, rank=RankTerm(1.0, 1.0))
    hinged, info_h = sft_loss(net, model, wrapped, batch, swap=swap, rank=RankTerm(1.0, 1.0, swap_weight=2.0, swap_margin=10.0))
    assert "rank_swap_gap" not in info_p and 0.0 <= info_h["rank_acc_swapped"] <= 1.0
    # a margin far above any gap keeps every row's hinge active: the term is 2 * (10 - mean gap)
    assert float(hinged) == pytest.approx(float(plain) + 2.0 * (10.0 - info_h["rank_swap_gap"]), rel=1e-4)
    _, info_off = sft_loss(net, model, wrapped, batch, rank=RankTerm(1.0, 1.0, swap_weight=2.0))
    assert "rank_swap_gap" not in info_off  # without the swap hinge's 2T rows there is nothing to compare


def test_rank_swap_weight_needs_the_swap_hinge_and_ranking():
    from t2l_edge.core.errors import T2LError
    from t2l_edge.train.config import SFTConfig, resolve
    with pytest.raises(T2LError, match="rank_swap_weight"):
        resolve(SFTConfig, None, ["rank_swap_weight=1.0", "rank_weight=1.0", "rank_options=4"])  # no swap hinge
    cfg = resolve(SFTConfig, None, ["rank_swap_weight=1.0", "rank_weight=1.0", "rank_options=4", "swap_weight=0.5"])
    assert cfg.rank_swap_weight == 1.0
