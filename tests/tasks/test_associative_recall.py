"""Multi-query associative recall: key-value pairs, then queries answered by their values; the memoryless baseline."""

from __future__ import annotations

import math

import pytest

from tasks.associative_recall import AssociativeRecallTask
from tests.helpers import uniform_over


def test_associative_recall_layout(gen):
    B, T, P, Q, K, V = 256, 5, 4, 3, 8, 6
    task = AssociativeRecallTask(n_pairs=P, n_queries=Q, n_keys=K, n_values=V)
    b = task.sample(B, T, generator=gen(11))
    assert b.x.shape == (B, 2 * P + T + Q)
    keys, values, queries = b.x[:, 0 : 2 * P : 2], b.x[:, 1 : 2 * P : 2], b.x[:, -Q:]
    assert ((keys >= 1) & (keys <= K)).all() and ((values > K) & (values <= K + V)).all()
    assert all(len(set(row.tolist())) == P for row in keys)  # distinct keys in a sequence
    assert (b.x[:, 2 * P : 2 * P + T] == 0).all()
    for row in range(B):
        lookup = dict(zip(keys[row].tolist(), values[row].tolist(), strict=True))
        assert len(set(queries[row].tolist())) == Q
        assert [lookup[k] for k in queries[row].tolist()] == b.y[row, -Q:].tolist()
    assert b.mask[:, -Q:].all() and not b.mask[:, :-Q].any()


def test_associative_recall_memoryless_predictor_scores_the_baseline(gen):
    # A uniform guess among the answers' classes: ln(answers) loss and 1/answers accuracy.
    task, T, guessed, vocab = AssociativeRecallTask(), 8, list(range(17, 33)), 33
    batch = task.sample(4096, T, generator=gen(13))
    scores = task.metrics(uniform_over(guessed, 4096, task.total_length(T), vocab), batch)
    assert task.baseline(T) == pytest.approx({"loss": math.log(len(guessed)), "accuracy": 1 / len(guessed)})
    assert scores["loss"].item() == pytest.approx(math.log(len(guessed)), abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / len(guessed), abs=0.01)
