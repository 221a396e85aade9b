"""Selective copying, as the S4/Mamba generator builds it and in the delimited layout: scattered data tokens
among noise, recalled in order; the memoryless baseline of both."""

from __future__ import annotations

import math

import pytest
import torch

from tasks.selective_copying import NOISE, DelimitedSelectiveCopyingTask, SelectiveCopyingTask
from tests.helpers import uniform_over


@pytest.mark.parametrize("T", [1, 9, 40])
def test_the_s4_layout(T, gen):
    # The S4 repository's copying data with variable=True: S tokens among T + S steps, then S markers.
    B, S, V = 256, 4, 8
    b = SelectiveCopyingTask(n_symbols=S, vocab_size=V).sample(B, T, generator=gen(10))
    assert b.x.shape == b.y.shape == b.mask.shape == (B, T + 2 * S)
    region = b.x[:, : T + S]
    assert ((region >= 0) & (region <= V - 2)).all()  # noise and data symbols only
    assert ((region != NOISE).sum(1) == S).all()  # exactly S data tokens, at distinct positions
    assert (b.x[:, T + S :] == V - 1).all()  # the markers, one per recall step
    in_order = torch.stack([row[row != NOISE] for row in region])  # (B, S): the tokens as they appear
    assert torch.equal(b.y[:, -S:], in_order)
    assert (b.y[:, :-S] == NOISE).all() and b.mask[:, -S:].all() and not b.mask[:, :-S].any()
    assert len((region != NOISE).float().argmax(1).unique()) > 1  # scattered


@pytest.mark.parametrize("T", [4, 9, 40])
def test_the_delimited_layout(T, gen):
    B, S, V = 256, 4, 8
    b = DelimitedSelectiveCopyingTask(n_symbols=S, vocab_size=V).sample(B, T, generator=gen(10))
    assert b.x.shape == b.y.shape == b.mask.shape == (B, T + 1 + S)
    region = b.x[:, :T]
    assert ((region != NOISE).sum(1) == S).all()
    assert (b.x[:, T] == V - 1).all() and (b.x[:, T + 1 :] == NOISE).all()
    in_order = torch.stack([row[row != NOISE] for row in region])
    assert torch.equal(b.y[:, -S:], in_order)
    if T > S:
        assert len((region != NOISE).float().argmax(1).unique()) > 1


@pytest.mark.parametrize("task", [SelectiveCopyingTask(), DelimitedSelectiveCopyingTask()], ids=["mamba", "delimited"])
def test_selective_copying_memoryless_predictor_scores_the_baseline(task, gen):
    # A uniform guess among the data symbols: ln(14) loss and 1/14 accuracy.
    T, guessed, vocab = 32, list(range(1, 15)), 16
    batch = task.sample(4096, T, generator=gen(13))
    scores = task.metrics(uniform_over(guessed, 4096, task.total_length(T), vocab), batch)
    assert task.baseline(T) == pytest.approx({"loss": math.log(len(guessed)), "accuracy": 1 / len(guessed)})
    assert scores["loss"].item() == pytest.approx(math.log(len(guessed)), abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / len(guessed), abs=0.01)
