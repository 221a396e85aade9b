"""Tasks: the docstring examples, the sequence layouts, the analytic baselines, generator-only randomness."""

from __future__ import annotations

import math

import pytest
import torch

import tasks
from tasks.adding import AddingTask
from tasks.associative_recall import AssociativeRecallTask
from tasks.copying import BLANK, DELIMITER, CopyingTask
from tasks.selective_copying import NOISE, SelectiveCopyingTask

# ---- worked examples in the docstrings -------------------------------------------------------


def test_adding_docstring_example(gen):
    b = AddingTask().sample(1, 4, generator=gen(0))
    expected_x = torch.tensor([[0.4963, 0.0], [0.7682, 1.0], [0.0885, 0.0], [0.1320, 1.0]])
    torch.testing.assert_close(b.x[0], expected_x, atol=1e-4, rtol=0)
    assert b.y[0, -1].item() == pytest.approx(0.9003, abs=1e-4)
    assert b.mask[0].tolist() == [False, False, False, True]


def test_copying_docstring_example(gen):
    b = CopyingTask(n_symbols=3).sample(1, 2, generator=gen(0))
    assert b.x[0].tolist() == [5, 8, 6, 0, 9, 0, 0, 0]
    assert b.y[0].tolist() == [0, 0, 0, 0, 0, 5, 8, 6]


def test_selective_copying_docstring_example(gen):
    b = SelectiveCopyingTask(n_symbols=2, vocab_size=5).sample(1, 5, generator=gen(0))
    assert b.x[0].tolist() == [3, 1, 0, 0, 0, 4, 0, 0]
    assert b.y[0, -2:].tolist() == [3, 1]
    assert b.mask[0].tolist() == [False] * 6 + [True] * 2


def test_associative_recall_docstring_example(gen):
    b = AssociativeRecallTask(n_pairs=2, n_queries=2, n_keys=4, n_values=4).sample(1, 1, generator=gen(2))
    assert b.x[0].tolist() == [2, 7, 4, 8, 0, 4, 2]
    assert b.y[0, -2:].tolist() == [8, 7]


# ---- layouts ---------------------------------------------------------------------------------


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


def test_variable_copying_draws_the_delay_per_sequence(gen):
    B, T, S = 512, 12, 10
    task = CopyingTask(delay="variable")
    b = task.sample(B, T, generator=gen(12))
    assert b.x.shape == (B, T + 2 * S)
    delimiter = (b.x == DELIMITER).int().argmax(1)
    assert ((b.x == DELIMITER).sum(1) == 1).all()
    assert set((delimiter - S + 1).tolist()) == set(range(1, T + 1))  # every delay 1..T occurs
    for row in range(0, B, 37):
        start = delimiter[row].item() + 1
        assert b.y[row, start : start + S].tolist() == b.x[row, :S].tolist()
        assert (b.y[row, :start] == BLANK).all() and (b.y[row, start + S :] == BLANK).all()
    assert task.variant_id == "copying/variable@1" and task.params()["delay"] == "variable"
    assert "delay" not in CopyingTask().params()  # the fixed layout's run keys are unchanged


# ---- analytic baselines ----------------------------------------------------------------------


def test_adding_constant_predictor_scores_the_baseline(gen):
    task, B, T = AddingTask(), 100_000, 10
    batch = task.sample(B, T, generator=gen(4))
    scores = task.metrics(torch.ones(B, T, 1), batch)
    baseline = task.baseline(T)
    assert baseline["loss"] == pytest.approx(1 / 6)
    assert baseline["accuracy"] == pytest.approx(2 * 0.04 - 0.04**2)  # P(|U1 + U2 - 1| < 0.04)
    assert scores["loss"].item() == pytest.approx(1 / 6, abs=0.005)
    assert scores["accuracy"].item() == pytest.approx(baseline["accuracy"], abs=0.01)


def memoryless_logits(batch_size: int, T: int, n_symbols: int = 10) -> torch.Tensor:
    """Blank with certainty until the recall, then uniform over the data symbols 1..8."""
    logits = torch.full((batch_size, T + 2 * n_symbols, 10), -1e4)  # finite: -inf would give 0 * inf = nan
    logits[:, : T + n_symbols, BLANK] = 0.0
    logits[:, T + n_symbols :, 1:9] = 0.0
    return logits


@pytest.mark.parametrize("T", [10, 100])
def test_copying_memoryless_predictor_scores_the_baseline(T, gen):
    task, B = CopyingTask(), 2048
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


def uniform_over(classes: list[int], batch_size: int, length: int, vocab: int) -> torch.Tensor:
    """A memoryless predictor's logits: uniform over ``classes`` at every step."""
    logits = torch.full((batch_size, length, vocab), -1e4)
    logits[..., classes] = 0.0
    return logits


@pytest.mark.parametrize(
    "task, T, guessed, vocab",
    [(SelectiveCopyingTask(), 32, list(range(1, 15)), 16), (AssociativeRecallTask(), 8, list(range(17, 33)), 33)],
)
def test_recall_tasks_memoryless_predictor_scores_the_baseline(task, T, guessed, vocab, gen):
    # A uniform guess among the answers' classes: ln(answers) loss and 1/answers accuracy.
    batch = task.sample(4096, T, generator=gen(13))
    scores = task.metrics(uniform_over(guessed, 4096, task.total_length(T), vocab), batch)
    assert task.baseline(T) == pytest.approx({"loss": math.log(len(guessed)), "accuracy": 1 / len(guessed)})
    assert scores["loss"].item() == pytest.approx(math.log(len(guessed)), abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / len(guessed), abs=0.01)


def test_variable_copying_baseline_is_the_position_aware_predictor(gen):
    task, B, T = CopyingTask(delay="variable"), 2048, 30
    batch = task.sample(B, T, generator=gen(15))
    recall = torch.zeros_like(batch.x, dtype=torch.bool).scatter_(1, (batch.y != BLANK).int().argmax(1, keepdim=True)
                                                                 + torch.arange(10), True)  # fmt: skip
    logits = torch.full((B, T + 20, 10), -1e4)
    logits[..., BLANK] = torch.where(recall, -1e4, 0.0)
    logits[..., 1:9] = torch.where(recall, 0.0, -1e4)[..., None]
    scores = task.metrics(logits, batch)
    assert scores["loss"].item() == pytest.approx(task.baseline(T)["loss"], abs=1e-4)
    assert scores["accuracy"].item() == pytest.approx(1 / 8, abs=0.02)


# ---- randomness comes from the generator alone -----------------------------------------------


def some_length(task: tasks.Task) -> int:
    return max(task.min_length, 8)


def test_same_seed_same_batch(task_name, gen):
    task = tasks.get_task(task_name)
    torch.manual_seed(1)  # the global RNG must not matter
    first = task.sample(8, some_length(task), generator=gen(7))
    torch.manual_seed(2)
    second = task.sample(8, some_length(task), generator=gen(7))
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


def test_different_seed_different_batch(task_name, gen):
    task = tasks.get_task(task_name)
    first = task.sample(8, some_length(task), generator=gen(7))
    second = task.sample(8, some_length(task), generator=gen(8))
    assert not torch.equal(first.x, second.x)


def test_sampling_leaves_global_rng_alone(task_name, gen):
    task = tasks.get_task(task_name)
    before = torch.get_rng_state()
    task.sample(8, some_length(task), generator=gen(9))
    assert torch.equal(torch.get_rng_state(), before)


# ---- registry, validation, thresholds --------------------------------------------------------


def test_unknown_task_suggests_a_name():
    with pytest.raises(ValueError, match="did you mean 'adding'"):
        tasks.get_task("addng")


@pytest.mark.parametrize("name, params", [("adding", {"foo": 1}), ("copying", {"n_symbol": 3})])
def test_unknown_task_parameter(name, params):
    with pytest.raises(ValueError, match=next(iter(params))):
        tasks.get_task(name, **params)


def test_copying_needs_a_symbol():
    with pytest.raises(ValueError, match="n_symbols"):
        tasks.get_task("copying", n_symbols=0)


def test_length_below_minimum_is_rejected(task_name, gen):
    task = tasks.get_task(task_name)
    task.sample(2, task.min_length, generator=gen(0))  # the minimum itself is allowed
    with pytest.raises(ValueError, match="seq_len"):
        task.sample(2, task.min_length - 1, generator=gen(0))


@pytest.mark.parametrize(
    "name, metrics, solved",
    [
        ("adding", {"loss": 0.009, "accuracy": 0.5}, True),
        ("adding", {"loss": 0.011, "accuracy": 0.5}, False),
        ("copying", {"loss": 1.0, "accuracy": 0.99}, True),
        ("copying", {"loss": 0.0, "accuracy": 0.98}, False),
        ("selective_copying", {"loss": 1.0, "accuracy": 0.99}, True),
        ("associative_recall", {"loss": 0.0, "accuracy": 0.98}, False),
    ],
)
def test_solved_thresholds(name, metrics, solved):
    assert tasks.get_task(name).solved(metrics) is solved


@pytest.mark.parametrize(
    "name, variant_id",
    [("adding", "adding/halves@1"), ("copying", "copying/arjovsky@1"),
     ("selective_copying", "selective_copying/mamba@1"), ("associative_recall", "associative_recall/mqar@1")],
)  # fmt: skip
def test_variant_ids(name, variant_id):
    assert tasks.get_task(name).variant_id == variant_id


def test_spec_matches_batches(task_name, gen):
    task = tasks.get_task(task_name)
    spec, T = task.spec, some_length(task)
    batch = task.sample(4, T, generator=gen(0))
    L = task.total_length(T)
    if spec.input_kind == "tokens":
        assert batch.x.shape == (4, L) and batch.x.dtype == torch.long
        assert batch.x.min() >= 0 and batch.x.max() < spec.input_size
    else:
        assert batch.x.shape == (4, L, spec.input_size) and batch.x.is_floating_point()
    if spec.scored == "all":
        assert batch.mask.all()
    elif spec.scored == "last":
        assert batch.mask[:, -1].all() and batch.mask.sum() == 4
    else:  # "tail": the last few steps, the same number in every sequence
        scored = batch.mask.sum(1)
        assert (scored == scored[0]).all() and batch.mask[:, -scored[0] :].all()
