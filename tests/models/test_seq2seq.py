"""The GRU encoder-decoder: its mapping onto the one interface, teacher forcing, greedy decoding, refusals.

The command line's refusal of it on a moving answer is in ``tests/config/test_comparison.py``; a tiny sweep
beside a single-stream model in ``tests/cli/test_run.py``."""

from __future__ import annotations

import pytest
import torch

import models
import tasks
from tests.helpers import TINY_PARAMS, generator, quick_task

FITTING_TASKS = ["adding", "copying", "selective_copying", "associative_recall"]


def build(task: tasks.Task, seed: int = 0, **options) -> models.SequenceModel:
    torch.manual_seed(seed)
    return models.build_model("seq2seq", task.spec, target_params=TINY_PARAMS, **options)


@pytest.mark.parametrize("task_name", FITTING_TASKS)
@pytest.mark.parametrize("target", [TINY_PARAMS, 20_000])
def test_parameters_match_the_target_on_every_task_it_fits(task_name, target):
    model = models.build_model("seq2seq", quick_task(task_name).spec, target_params=target)
    assert abs(models.count_parameters(model) - target) <= models.PARAM_TOLERANCE * target


@pytest.mark.parametrize("task_name", FITTING_TASKS)
def test_forward_teacher_forcing_and_greedy_give_the_interface_shape(task_name):
    task = quick_task(task_name)
    model = build(task)
    batch = task.sample(3, task.min_length + 4, generator=generator(1))
    expected = (*batch.x.shape[:2], task.spec.output_size)
    model.train()
    forced = model(batch.x, targets=batch.y)
    assert forced.shape == expected and torch.isfinite(forced).all()
    task.metrics(forced, batch)["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    assert model(batch.x).shape == expected


def test_fused_teacher_forcing_equals_the_step_by_step_decoder_fed_the_truth():
    task = quick_task("copying")
    model = build(task).train()
    batch = task.sample(4, 6, generator=generator(2))
    fused = model(batch.x, targets=batch.y)
    K = task.spec.answer_length
    h = model.encoder(batch.x)
    _, state = model.backbone.encoder_rnn(h[:, :-K])
    stepwise = model._decode_stepwise(h[:, -K:], state, batch.y[:, -K:])  # teacher_forcing 1.0: every coin true
    torch.testing.assert_close(fused[:, -K:], stepwise)


def test_an_answer_step_never_sees_its_own_or_later_targets():
    task = quick_task("copying")
    model = build(task).train()
    batch = task.sample(2, 6, generator=generator(3))
    L, K = batch.x.shape[1], task.spec.answer_length
    base = model(batch.x, targets=batch.y)
    for k in range(K):
        changed = batch.y.clone()
        changed[:, L - K + k :] = (changed[:, L - K + k :] + 1) % task.spec.output_size
        torch.testing.assert_close(model(batch.x, targets=changed)[:, : L - K + k + 1], base[:, : L - K + k + 1])


def test_greedy_decoding_feeds_back_its_own_predictions_and_ignores_targets():
    task = quick_task("associative_recall")
    model = build(task)
    batch = task.sample(3, 8, generator=generator(4))
    K = task.spec.answer_length
    model.eval()
    greedy = model(batch.x)
    torch.testing.assert_close(model(batch.x, targets=batch.y), greedy)  # no teacher at test
    own = batch.y.clone()
    own[:, -K:] = greedy[:, -K:].argmax(dim=-1)
    model.train()
    torch.testing.assert_close(model(batch.x, targets=own), greedy)  # forced with its own predictions: the same


def test_teacher_forcing_zero_trains_on_the_greedy_path():
    task = quick_task("copying")
    model = build(task, teacher_forcing=0.0)
    batch = task.sample(2, 5, generator=generator(5))
    model.train()
    trained_path = model(batch.x, targets=batch.y)
    model.eval()
    torch.testing.assert_close(trained_path, model(batch.x))


def test_scheduled_sampling_is_reproducible_from_the_init_seed():
    task = quick_task("copying")
    batch = task.sample(8, 5, generator=generator(6))
    first, second = build(task, seed=7, teacher_forcing=0.5), build(task, seed=7, teacher_forcing=0.5)
    torch.testing.assert_close(first(batch.x, targets=batch.y), second(batch.x, targets=batch.y))


@pytest.mark.parametrize(
    ("task_params", "options", "message"),
    [
        ({"variant": "variable"}, {}, "answer moves"),
        ({}, {"teacher_forcing": 1.5}, "teacher_forcing must be in"),
    ],
)
def test_refused_where_it_cannot_serve(task_params, options, message):
    with pytest.raises(ValueError, match=message):
        models.build_model("seq2seq", tasks.get_task("copying", **task_params).spec, width=8, **options)


def test_it_does_not_stream():
    model = build(quick_task("copying"))
    assert not model.streams
    with pytest.raises(RuntimeError, match="does not stream"):
        model.init_state(1)


def test_regression_targets_of_either_shape_feed_only_the_start_symbol():
    task = quick_task("adding")
    model = build(task).train()
    batch = task.sample(3, 6, generator=generator(8))
    flat = model(batch.x, targets=batch.y)  # (B, L) as the task makes them
    torch.testing.assert_close(model(batch.x, targets=batch.y[..., None]), flat)  # (B, L, 1) as speed makes them
    model.eval()
    torch.testing.assert_close(model(batch.x), flat)  # one answer step: nothing fed back, so no teacher either
