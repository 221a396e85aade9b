"""The adding problem: its layout and the constant predictor's baseline."""

from __future__ import annotations

import pytest
import torch

from tasks.adding import AddingTask


def test_adding_layout(gen):
    B, T = 512, 20
    b = AddingTask().sample(B, T, generator=gen(1))
    assert b.x.shape == (B, T, 2) and b.y.shape == b.mask.shape == (B, T)
    values, markers = b.x[..., 0], b.x[..., 1]
    assert ((markers == 0) | (markers == 1)).all()
    assert (markers.sum(1) == 2).all()
    assert (markers[:, : T // 2].sum(1) == 1).all()
    assert (markers[:, T // 2 :].sum(1) == 1).all()
    assert ((values >= 0) & (values < 1)).all()
    torch.testing.assert_close(b.y[:, -1], (values * markers).sum(1))
    assert (b.y[:, :-1] == 0).all()
    assert b.mask[:, -1].all() and not b.mask[:, :-1].any()


def test_adding_markers_cover_both_halves(gen):
    # Uniform positions: over 512 sequences every position of each half is marked at least once.
    T = 20
    markers = AddingTask().sample(512, T, generator=gen(2)).x[..., 1]
    assert (markers.sum(0) > 0).all()


def test_adding_constant_predictor_scores_the_baseline(gen):
    task, B, T = AddingTask(), 100_000, 10
    batch = task.sample(B, T, generator=gen(4))
    scores = task.metrics(torch.ones(B, T, 1), batch)
    baseline = task.baseline(T)
    assert baseline["loss"] == pytest.approx(1 / 6)
    assert baseline["accuracy"] == pytest.approx(2 * 0.04 - 0.04**2)  # P(|U1 + U2 - 1| < 0.04)
    assert scores["loss"].item() == pytest.approx(1 / 6, abs=0.005)
    assert scores["accuracy"].item() == pytest.approx(baseline["accuracy"], abs=0.01)
