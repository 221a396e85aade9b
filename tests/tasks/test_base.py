"""What every variant of every registered task promises: randomness from the generator alone, its minimum length,
a spec that describes its batches, its solved thresholds and variant id, parameters that rebuild it."""

from __future__ import annotations

import pytest
import torch

import tasks


def some_length(task: tasks.Task) -> int:
    return max(task.min_length, 8)


# ---- randomness comes from the generator alone -----------------------------------------------


def test_same_seed_same_batch(any_task, gen):
    task = any_task
    torch.manual_seed(1)  # the global RNG must not matter
    first = task.sample(8, some_length(task), generator=gen(7))
    torch.manual_seed(2)
    second = task.sample(8, some_length(task), generator=gen(7))
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


def test_different_seed_different_batch(any_task, gen):
    task = any_task
    first = task.sample(8, some_length(task), generator=gen(7))
    second = task.sample(8, some_length(task), generator=gen(8))
    assert not torch.equal(first.x, second.x)


def test_sampling_leaves_global_rng_alone(any_task, gen):
    task = any_task
    before = torch.get_rng_state()
    task.sample(8, some_length(task), generator=gen(9))
    assert torch.equal(torch.get_rng_state(), before)


# ---- validation, thresholds, the spec --------------------------------------------------------


def test_length_below_minimum_is_rejected(any_task, gen):
    task = any_task
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
    "name, variant, variant_id",
    [("adding", None, "adding/halves@1"), ("adding", "tcn", "adding/tcn@1"),
     ("copying", None, "copying/arjovsky@1"), ("copying", "variable", "copying/variable@1"),
     ("copying", "tcn", "copying/tcn@1"), ("selective_copying", None, "selective_copying/mamba@2"),
     ("selective_copying", "delimited", "selective_copying/delimited@1"),
     ("associative_recall", None, "associative_recall/mqar-small@1"),
     ("associative_recall", "zoology", "associative_recall/zoology@1")],
)  # fmt: skip
def test_variant_ids(name, variant, variant_id):
    assert tasks.get_task(name, variant=variant).variant_id == variant_id


def test_params_name_the_variant_and_rebuild_the_task(any_task):
    params = any_task.params()
    assert params["variant"] == any_task.variant
    assert tasks.get_task(any_task.name, **params) == any_task


def test_spec_matches_batches(any_task, gen):
    task = any_task
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
    elif spec.scored == "tail":  # the last few steps, the same number in every sequence
        scored = batch.mask.sum(1)
        assert (scored == scored[0]).all() and batch.mask[:, -scored[0] :].all()
    else:  # "some": steps that move from sequence to sequence, some of them
        assert batch.mask.any(1).all() and not batch.mask.all()


class _DeviceGenerator:
    """Stands for a CUDA generator, which this machine may not be able to make."""

    device = torch.device("cuda")


def test_every_task_refuses_to_draw_on_a_device(any_task):
    # Data is drawn on the CPU for every device, so a run key means the same data everywhere.
    task = any_task
    with pytest.raises(ValueError, match="draws its data on the CPU"):
        task.sample(2, max(task.min_length, 8), generator=_DeviceGenerator())
