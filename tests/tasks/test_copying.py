"""The copying memory task in its three layouts (Arjovsky, variable delay, TCN): the sequences, the memoryless
baselines, what accuracy reads."""

from __future__ import annotations

import math

import pytest
import torch

import tasks
from tasks.copying import BLANK, DELIMITER, CopyingTask, TCNCopyingTask, VariableCopyingTask

# ---- layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 5, 30])
def test_copying_layout(T, gen):
    B, S = 256, 10
    task = CopyingTask()
    b = task.sample(B, T, generator=gen(3))
    L = T + 2 * S
    assert task.total_length(T) == L
    assert b.x.shape == b.y.shape == b.mask.shape == (B, L)
    data = b.x[:, :S]
    assert ((data >= 1) & (data <= 8)).all()
    assert set(data.unique().tolist()) == set(range(1, 9))
    delimiters = (b.x == DELIMITER).nonzero()
    assert len(delimiters) == B and (delimiters[:, 1] == T + S - 1).all()
    assert (b.x[:, S : T + S - 1] == BLANK).all()  # T - 1 blanks
    assert (b.x[:, T + S :] == BLANK).all() and b.x[:, T + S :].shape[1] == S
    assert (b.y[:, : T + S] == BLANK).all()
    assert torch.equal(b.y[:, T + S :], data)
    assert b.mask.all()


def test_variable_copying_draws_the_delay_per_sequence(gen):
    B, T, S = 512, 12, 10
    task = VariableCopyingTask()
    b = task.sample(B, T, generator=gen(12))
    assert b.x.shape == (B, T + 2 * S)
    delimiter = (b.x == DELIMITER).int().argmax(1)
    assert ((b.x == DELIMITER).sum(1) == 1).all()
    assert set((delimiter - S + 1).tolist()) == set(range(1, T + 1))  # every delay 1..T occurs
    for row in range(0, B, 37):
        start = delimiter[row].item() + 1
        assert b.y[row, start : start + S].tolist() == b.x[row, :S].tolist()
        assert (b.y[row, :start] == BLANK).all() and (b.y[row, start + S :] == BLANK).all()
    assert task.variant_id == "copying/variable@1" and task.params() == {"variant": "variable", "n_symbols": 10}
    assert task.spec.answer_length is None  # the recall moves: an encoder-decoder cannot decode it


@pytest.mark.parametrize("T", [1, 5, 30])
def test_the_tcn_layout(T, gen):
    # Bai et al.'s generator: the symbols, T - 1 blanks, then S + 1 delimiters, the last S during the recall.
    B, S = 256, 10
    b = TCNCopyingTask().sample(B, T, generator=gen(3))
    assert b.x.shape == b.y.shape == (B, T + 2 * S)
    assert (b.x[:, S : T + S - 1] == BLANK).all() and (b.x[:, T + S - 1 :] == DELIMITER).all()
    assert (b.y[:, : T + S] == BLANK).all() and torch.equal(b.y[:, T + S :], b.x[:, :S])
    assert TCNCopyingTask().spec.answer_length == S


# ---- analytic baselines ----------------------------------------------------------------------


def memoryless_logits(batch_size: int, T: int, n_symbols: int = 10) -> torch.Tensor:
    """Blank with certainty until the recall, then uniform over the data symbols 1..8."""
    logits = torch.full((batch_size, T + 2 * n_symbols, 10), -1e4)  # finite: -inf would give 0 * inf = nan
    logits[:, : T + n_symbols, BLANK] = 0.0
    logits[:, T + n_symbols :, 1:9] = 0.0
    return logits


@pytest.mark.parametrize("T", [10, 100])
@pytest.mark.parametrize("task", [CopyingTask(), TCNCopyingTask()], ids=["arjovsky", "tcn"])
def test_copying_memoryless_predictor_scores_the_baseline(task, T, gen):
    B = 2048
    batch = task.sample(B, T, generator=gen(5))
    scores = task.metrics(memoryless_logits(B, T), batch)
    expected_loss = 10 * math.log(8) / (T + 20)
    assert task.baseline(T)["loss"] == pytest.approx(expected_loss)
    assert task.baseline(T)["accuracy"] == pytest.approx(1 / 8)
    assert scores["loss"].item() == pytest.approx(expected_loss, abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / 8, abs=0.02)


def test_copying_accuracy_reads_only_the_recall(gen):
    # A model that outputs blank everywhere is right on T + 10 of T + 20 positions, but recalls nothing.
    task, B, T = CopyingTask(), 64, 30
    batch = task.sample(B, T, generator=gen(6))
    logits = torch.zeros(B, T + 20, 10)
    logits[..., BLANK] = 10.0
    assert task.metrics(logits, batch)["accuracy"].item() == 0.0


def test_variable_copying_baseline_is_the_position_aware_predictor(gen):
    task, B, T = VariableCopyingTask(), 2048, 30
    batch = task.sample(B, T, generator=gen(15))
    recall = torch.zeros_like(batch.x, dtype=torch.bool).scatter_(1, (batch.y != BLANK).int().argmax(1, keepdim=True)
                                                                 + torch.arange(10), True)  # fmt: skip
    logits = torch.full((B, T + 20, 10), -1e4)
    logits[..., BLANK] = torch.where(recall, -1e4, 0.0)
    logits[..., 1:9] = torch.where(recall, 0.0, -1e4)[..., None]
    scores = task.metrics(logits, batch)
    assert scores["loss"].item() == pytest.approx(task.baseline(T)["loss"], abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / 8, abs=0.02)


# ---- parameters ------------------------------------------------------------------------------


def test_copying_needs_a_symbol():
    with pytest.raises(ValueError, match="n_symbols"):
        tasks.get_task("copying", n_symbols=0)
