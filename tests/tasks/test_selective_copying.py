"""Selective copying: scattered data tokens among noise, recalled in order; the memoryless baseline."""

from __future__ import annotations

import math

import pytest
import torch

from tasks.selective_copying import NOISE, SelectiveCopyingTask
from tests.helpers import uniform_over


@pytest.mark.parametrize("T", [4, 9, 40])
def test_selective_copying_layout(T, gen):
    B, S, V = 256, 4, 8
    task = SelectiveCopyingTask(n_symbols=S, vocab_size=V)
    b = task.sample(B, T, generator=gen(10))
    assert b.x.shape == b.y.shape == b.mask.shape == (B, T + 1 + S)
    region = b.x[:, :T]
    assert ((region >= 0) & (region <= V - 2)).all()  # noise and data symbols only
    assert ((region != NOISE).sum(1) == S).all()  # exactly S data tokens, at distinct positions
    assert (b.x[:, T] == V - 1).all() and (b.x[:, T + 1 :] == NOISE).all()
    in_order = torch.stack([row[row != NOISE] for row in region])  # (B, S): the tokens as they appear
    assert torch.equal(b.y[:, -S:], in_order)
    assert (b.y[:, :-S] == NOISE).all() and b.mask[:, -S:].all() and not b.mask[:, :-S].any()
    if T > S:  # scattered: the first token is not always at the same place
        assert len((region != NOISE).float().argmax(1).unique()) > 1


def test_selective_copying_memoryless_predictor_scores_the_baseline(gen):
    # A uniform guess among the answers' classes: ln(answers) loss and 1/answers accuracy.
    task, T, guessed, vocab = SelectiveCopyingTask(), 32, list(range(1, 15)), 16
    batch = task.sample(4096, T, generator=gen(13))
    scores = task.metrics(uniform_over(guessed, 4096, task.total_length(T), vocab), batch)
    assert task.baseline(T) == pytest.approx({"loss": math.log(len(guessed)), "accuracy": 1 / len(guessed)})
    assert scores["loss"].item() == pytest.approx(math.log(len(guessed)), abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / len(guessed), abs=0.01)
