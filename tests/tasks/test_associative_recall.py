"""Multi-query associative recall in Zoology's form and the small form: pairs, then queries answered by their
values; the memoryless baseline of both."""

from __future__ import annotations

import math

import pytest

from tasks.associative_recall import MQARSmallTask, ZoologyMQARTask
from tests.helpers import uniform_over


def test_the_small_layout(gen):
    B, T, P, Q, K, V = 256, 5, 4, 3, 8, 6
    task = MQARSmallTask(n_pairs=P, n_queries=Q, n_keys=K, n_values=V)
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


@pytest.mark.parametrize("random_non_queries", [False, True])
def test_the_zoology_layout(random_non_queries, gen):
    # Zoology's multiquery_ar: keys from the lower half of the vocabulary and values from the upper, each without
    # replacement; every key queried once at an even offset after the pairs; its value due at the query's step.
    B, T, P, V = 512, 64, 8, 256
    task = ZoologyMQARTask(vocab_size=V, n_pairs=P, random_non_queries=random_non_queries)
    b = task.sample(B, T, generator=gen(12))
    assert b.x.shape == b.y.shape == b.mask.shape == (B, T)
    keys, values = b.x[:, 0 : 2 * P : 2], b.x[:, 1 : 2 * P : 2]
    assert ((keys >= 1) & (keys < V // 2)).all() and ((values >= V // 2) & (values < V)).all()
    assert all(len(set(k.tolist())) == P and len(set(v.tolist())) == P for k, v in zip(keys, values, strict=True))
    assert (b.mask.sum(1) == P).all() and not b.mask[:, : 2 * P].any()
    offsets = b.mask[:, 2 * P :].nonzero()[:, 1]
    assert (offsets % 2 == 0).all()  # queries at even offsets after the pairs
    for row in range(0, B, 17):
        lookup = dict(zip(keys[row].tolist(), values[row].tolist(), strict=True))
        asked = b.x[row][b.mask[row]].tolist()
        assert sorted(asked) == sorted(lookup) and b.y[row][b.mask[row]].tolist() == [lookup[k] for k in asked]
    others = b.x[:, 2 * P :][~b.mask[:, 2 * P :]]
    assert (others != 0).any() if random_non_queries else (others == 0).all()


def test_zoology_queries_come_early_more_often_than_late(gen):
    # The power law of the gaps (power_a = 0.01): most queries soon after the pairs, a few far.
    task = ZoologyMQARTask(vocab_size=512, n_pairs=4)
    b = task.sample(2048, 256, generator=gen(3))
    offsets = b.mask[:, 8:].nonzero()[:, 1].float()
    assert (offsets < 64).float().mean() > 0.5 > (offsets >= 192).float().mean() * 4


def test_zoology_needs_an_even_length_long_enough_for_its_queries(gen):
    task = ZoologyMQARTask(vocab_size=64, n_pairs=4)
    with pytest.raises(ValueError, match="even"):
        task.sample(2, 17, generator=gen(0))
    with pytest.raises(ValueError, match="seq_len >= 16"):
        task.sample(2, 14, generator=gen(0))


@pytest.mark.parametrize(("task", "T", "guessed", "vocab"), [
    (MQARSmallTask(), 8, list(range(17, 33)), 33),
    (ZoologyMQARTask(vocab_size=64), 64, list(range(32, 64)), 64),
], ids=["mqar-small", "zoology"])  # fmt: skip
def test_associative_recall_memoryless_predictor_scores_the_baseline(task, T, guessed, vocab, gen):
    # A uniform guess among the values: ln(values) loss and 1/values accuracy.
    batch = task.sample(4096, T, generator=gen(13))
    scores = task.metrics(uniform_over(guessed, 4096, task.total_length(T), vocab), batch)
    assert task.baseline(T) == pytest.approx({"loss": math.log(len(guessed)), "accuracy": 1 / len(guessed)})
    assert scores["loss"].item() == pytest.approx(math.log(len(guessed)), abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / len(guessed), abs=0.01)
