"""Prompt distillation (train/loss.prompt_distill_kl): the teacher is the same adapter with the
row's description also in the prompt; the student, the adapter alone, is pulled towards it."""

import numpy as np
import pytest
import torch

from t2l_edge.data.schema import Example
from t2l_edge.hypernet.config import HyperConfig
from t2l_edge.hypernet.model import HyperNetwork
from t2l_edge.train.batches import TaskData, make_batch
from t2l_edge.train.loss import SwapHinge, sft_loss
from t2l_edge.train.prompts import ChatFormatter, MixedFormatter, PlainFormatter
from tests.helpers.tiny_models import tiny_spec
from tests.helpers.train_fixtures import tiny_causal_lm


def _ids(text: str) -> list[int]:
    return [3 + (ord(c) % 120) for c in text]


def desc_formatter(ex: Example, description: str | None = None):
    """char_formatter that, like the real formatters, can put a description before the prompt."""
    p = _ids((description + "\n\n" if description else "") + ex.prompt)
    a = _ids(ex.answer) + [2]
    return p + a, len(p)


class CharTokenizer:
    """The two calls the real formatters make of a tokenizer."""
    eos_token = "$"

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": _ids(text)}

    def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=False):
        return "".join(f"<{m['role']}>{m['content']}</>" for m in messages) + "<assistant>"


def _tasks(with_text: bool = True) -> list[TaskData]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(4):
        texts = [f"task {k} wording {j}: answer {'xy'[k % 2] * 2}" for j in range(3)]
        out.append(TaskData(f"t{k}", [Example(f"q{i}", "xy"[k % 2] * 2, id=f"t{k}-{i}") for i in range(20)],
                            rng.standard_normal((3, 32)).astype(np.float32), texts if with_text else []))
    return out


def _net():
    return HyperNetwork(HyperConfig(variant="M", emb_dim=32, latent=16, hidden=32, head_in=24, rank=4, dropout=0.0), tiny_spec())


@pytest.mark.parametrize("cls", [PlainFormatter, ChatFormatter, MixedFormatter])
def test_the_description_lengthens_the_prompt_and_keeps_the_answer_tokens(cls):
    fmt = cls(CharTokenizer(), max_len=40)
    ex = Example("Is it cold?", "yes", id="e1")
    ids, n = fmt(ex)
    t_ids, t_n = fmt(ex, "Answer yes or no.")
    assert t_ids[t_n:] == ids[n:] and t_n > n
    assert t_ids[:t_n] != ids[:n]
    assert fmt(Example("q" * 60, "yes", id="e2")) is None  # too long without the description
    assert fmt(Example("q" * 30, "yes", id="e3"), "d" * 40) is not None  # the description does not count


def test_the_teacher_batch_draws_nothing_from_the_rng_and_scores_the_same_tokens():
    tasks = _tasks()
    plain = make_batch(tasks, desc_formatter, 5, 0, 4, 0)
    taught = make_batch(tasks, desc_formatter, 5, 0, 4, 0, teacher=True)
    assert plain.teacher is None and torch.equal(plain.input_ids, taught.input_ids)
    t = taught.teacher
    assert t.input_ids.shape[1] > taught.input_ids.shape[1]
    for row in range(4):  # the same answer tokens, in the same order
        assert taught.labels[row][taught.labels[row] != -100].tolist() == t.labels[row][t.labels[row] != -100].tolist()
    assert taught.rows(slice(0, 2)).teacher.input_ids.shape[0] == 2


def test_kl_is_zero_when_the_teacher_sees_no_description_and_the_term_adds_to_the_loss():
    model, wrapped = tiny_causal_lm()
    net = _net()
    blind = make_batch(_tasks(with_text=False), desc_formatter, 0, 0, 4, 0, teacher=True)
    loss, info = sft_loss(net, model, wrapped, blind, distill_weight=1.0)
    assert info["distill_kl"] == pytest.approx(0.0, abs=1e-6)
    batch = make_batch(_tasks(), desc_formatter, 0, 0, 4, 0, teacher=True)
    base, info0 = sft_loss(net, model, wrapped, batch)
    loss, info = sft_loss(net, model, wrapped, batch, distill_weight=2.0)
    assert info["distill_kl"] > 0.01 and "distill_kl" not in info0
    assert float(loss) == pytest.approx(float(base) + 2.0 * info["distill_kl"], rel=1e-5)
    with_hinge, info_h = sft_loss(net, model, wrapped, batch, swap=SwapHinge(1.0, 0.5), distill_weight=2.0)
    assert info_h["distill_kl"] == pytest.approx(info["distill_kl"], rel=1e-5)  # the own rows only
    with pytest.raises(ValueError):
        sft_loss(net, model, wrapped, make_batch(_tasks(), desc_formatter, 0, 0, 4, 0), distill_weight=1.0)


def test_training_on_the_term_moves_the_description_into_the_adapter():
    model, wrapped = tiny_causal_lm()
    net = _net()
    tasks = _tasks()
    probe = [make_batch(tasks, desc_formatter, 1000 + s, 0, 4, 0, teacher=True) for s in range(4)]

    def mean_kl():
        with torch.no_grad():
            return float(np.mean([sft_loss(net, model, wrapped, b, distill_weight=1.0)[1]["distill_kl"] for b in probe]))

    before = mean_kl()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    for step in range(60):
        loss, _ = sft_loss(net, model, wrapped, make_batch(tasks, desc_formatter, step, 0, 4, 0, teacher=True),
                           l2=0.0, distill_weight=5.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert mean_kl() < 0.5 * before, (before, mean_kl())
