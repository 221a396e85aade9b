"""The adding problem in both published forms: layouts, and the constant predictor's baseline."""

from __future__ import annotations

import pytest
import torch

from tasks.adding import AddingTask, TCNAddingTask


@pytest.mark.parametrize("task", [AddingTask(), TCNAddingTask()], ids=["halves", "tcn"])
def test_adding_layout(task, gen):
    B, T = 512, 20
    b = task.sample(B, T, generator=gen(1))
    assert b.x.shape == (B, T, 2) and b.y.shape == b.mask.shape == (B, T)
    values, markers = b.x[..., 0], b.x[..., 1]
    assert ((markers == 0) | (markers == 1)).all()
    assert (markers.sum(1) == 2).all()  # two distinct marked positions
    assert ((values >= 0) & (values < 1)).all()
    torch.testing.assert_close(b.y[:, -1], (values * markers).sum(1))
    assert (b.y[:, :-1] == 0).all()
    assert b.mask[:, -1].all() and not b.mask[:, :-1].any()


def test_the_halves_form_marks_one_step_in_each_half(gen):
    T = 20
    markers = AddingTask().sample(512, T, generator=gen(1)).x[..., 1]
    assert (markers[:, : T // 2].sum(1) == 1).all() and (markers[:, T // 2 :].sum(1) == 1).all()
    assert (markers.sum(0) > 0).all()  # uniform: every position of each half is marked at least once


def test_the_tcn_form_marks_anywhere(gen):
    # Bai et al.'s generator: two distinct positions drawn uniformly from the whole sequence.
    T = 20
    markers = TCNAddingTask().sample(4096, T, generator=gen(2)).x[..., 1]
    first_half = markers[:, : T // 2].sum(1)
    share_both_early = (first_half == 2).float().mean().item()
    assert share_both_early == pytest.approx((10 * 9) / (20 * 19), abs=0.03)  # both in the first half: 90/380
    assert (markers.sum(0) > 0).all()


@pytest.mark.parametrize("task", [AddingTask(), TCNAddingTask()], ids=["halves", "tcn"])
def test_adding_constant_predictor_scores_the_baseline(task, gen):
    B, T = 100_000, 10
    batch = task.sample(B, T, generator=gen(4))
    scores = task.metrics(torch.ones(B, T, 1), batch)
    baseline = task.baseline(T)
    assert baseline["loss"] == pytest.approx(1 / 6)
    assert baseline["accuracy"] == pytest.approx(2 * 0.04 - 0.04**2)  # P(|U1 + U2 - 1| < 0.04)
    assert scores["loss"].item() == pytest.approx(1 / 6, abs=0.005)
    assert scores["accuracy"].item() == pytest.approx(baseline["accuracy"], abs=0.01)


def test_the_strict_tier_asks_for_95_percent_within_the_tolerance():
    task = AddingTask()
    assert task.solved_strictly({"loss": 0.001, "accuracy": 0.95})
    assert not task.solved_strictly({"loss": 0.001, "accuracy": 0.94})
    assert task.facts()["strict_rule"].startswith("accuracy >= 0.95") and task.facts()["secondary_metric"] == "accuracy"
