"""Induction heads: the special token twice, the answer is what followed its first appearance, scored at the last
step; the memoryless baseline; a model that copies the follower solves it at any length."""

from __future__ import annotations

import math

import pytest
import torch

import tasks
from tasks.base import Batch


@pytest.mark.parametrize("length", [3, 16, 257])
def test_the_answer_follows_the_special_tokens_first_appearance(length):
    task = tasks.get_task("induction_heads")
    b = task.sample(64, length, generator=torch.Generator().manual_seed(1))
    assert b.x.shape == (64, length) and b.x.max() == task.special
    assert ((b.x == task.special).sum(dim=1) == 2).all() and (b.x[:, -1] == task.special).all()
    first = (b.x == task.special).int().argmax(dim=1)
    assert (first <= length - 3).all()
    assert torch.equal(b.y[:, -1], b.x[torch.arange(64), first + 1])
    assert b.mask.sum() == 64 and b.mask[:, -1].all()


def perfect(batch: Batch, vocab: int) -> torch.Tensor:
    logits = torch.full((*batch.x.shape, vocab), -1e4)
    logits[:, -1].scatter_(1, batch.y[:, -1:], 0.0)
    return logits


def test_baseline_and_a_perfect_copy():
    task = tasks.get_task("induction_heads")
    assert task.baseline(256) == {"loss": pytest.approx(math.log(15)), "accuracy": pytest.approx(1 / 15)}
    b = task.sample(32, 64, generator=torch.Generator().manual_seed(0))
    metrics = task.metrics(perfect(b, 16), b)
    assert metrics["accuracy"] == 1.0 and metrics["loss"] < 1e-3 and task.solved({"accuracy": 1.0})
    uniform = task.metrics(torch.zeros(32, 64, 16), b)["loss"]
    assert uniform == pytest.approx(math.log(16))  # a uniform guess over all 16 is worse than the baseline's 15


def test_bad_parameters_and_lengths_are_refused():
    with pytest.raises(ValueError, match="vocab_size must be >= 3"):
        tasks.get_task("induction_heads", vocab_size=2)
    with pytest.raises(ValueError, match="seq_len >= 3"):
        tasks.get_task("induction_heads").sample(1, 2, generator=torch.Generator())
    assert tasks.get_task("induction_heads").variant_id == "induction_heads/mamba@1"
