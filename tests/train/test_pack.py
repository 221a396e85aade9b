"""Packed training (``run --pack``): each member of a pack follows its unpacked run to float rounding, keeps its
own learning rate and data, and a member that diverges stops alone."""

from __future__ import annotations

import pytest
import torch

import models
import tasks
from bench.train.budget import Budget
from bench.train.evaluate import evaluate, make_eval_set
from bench.train.loop import train
from bench.train.pack import train_packed
from tests.helpers import generator

STEPS = 100
BUDGET = Budget(
    steps=STEPS, batch_size=8, target_params=3000, warmup_frac=0.1, weight_decay=0.01,
    clip_norm=1.0, eval_every=25, val_size=16, test_size=16,
)  # fmt: skip
LENGTH = 12


def members(name: str, task: tasks.Task, seeds: list[int]) -> list[torch.nn.Module]:
    built = []
    for seed in seeds:
        torch.manual_seed(seed)
        built.append(models.build_model(name, task.spec, width=8))
    return built


def unpacked(model: torch.nn.Module, task: tasks.Task, lr: float, seed: int, val_set: list):
    result = train(model, task, BUDGET, lr=lr, seq_len=LENGTH, data=generator(100 + seed), val_set=val_set,
                   device="cpu", progress=False)  # fmt: skip
    return result, evaluate(model, task, val_set)


def relative_gap(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


PACKABLE = [name for name in models.MODELS if models.packable(name)]


@pytest.mark.slow
@pytest.mark.parametrize("name", PACKABLE)
def test_after_100_steps_every_member_equals_its_unpacked_run(name):
    """Seeds and learning rates differ across members; every validation metric and loss curve agree to 1e-4."""
    task = tasks.get_task("adding")
    seeds, lrs = [0, 1, 2], [3e-3, 1e-3, 3e-3]
    val_set = make_eval_set(task, BUDGET.val_size, LENGTH, generator(7))
    packed_models = members(name, task, seeds)
    alone_models = members(name, task, seeds)  # built again: a deep copy would lose the parameters' optimiser tags
    packed = train_packed(packed_models, task, BUDGET, lrs=lrs, seq_len=LENGTH,
                          data=[generator(100 + s) for s in seeds], val_sets=[val_set] * 3, device="cpu",
                          progress=False)  # fmt: skip
    for g, (model, lr, seed) in enumerate(zip(alone_models, lrs, seeds, strict=True)):
        alone, alone_metrics = unpacked(model, task, lr, seed, val_set)
        packed_metrics = evaluate(packed_models[g], task, val_set)
        assert packed[g].diverged_step is None and alone.diverged_step is None
        assert len(packed[g].step_seconds) == len(alone.step_seconds) == STEPS
        for key, value in alone_metrics.items():
            assert relative_gap(packed_metrics[key], value) < 1e-4, (g, key, packed_metrics[key], value)
        assert [s for s, _ in packed[g].curve] == [s for s, _ in alone.curve]
        for (_, packed_loss), (_, alone_loss) in zip(packed[g].curve, alone.curve, strict=True):
            assert relative_gap(packed_loss, alone_loss) < 1e-4
        assert packed[g].clipped_steps == alone.clipped_steps


def test_members_with_different_learning_rates_end_apart():
    """The learning rate is per member: the same seed at two rates does not give the same weights."""
    task = tasks.get_task("adding")
    val_set = make_eval_set(task, 8, LENGTH, generator(7))
    pair = members("ssm", task, [0, 0])
    short = Budget(**{**BUDGET.__dict__, "steps": 5, "eval_every": 5})
    train_packed(pair, task, short, lrs=[1e-2, 1e-4], seq_len=LENGTH, data=[generator(1), generator(1)],
                 val_sets=[val_set] * 2, device="cpu", progress=False)  # fmt: skip
    first, second = (torch.cat([p.flatten() for p in m.parameters()]) for m in pair)
    assert not torch.allclose(first, second)


def test_a_diverged_member_stops_alone_and_the_others_go_on():
    task = tasks.get_task("adding")
    val_set = make_eval_set(task, 8, LENGTH, generator(7))
    pack = members("transformer", task, [0, 1, 2])
    (reference,) = members("transformer", task, [0])
    with torch.no_grad():
        next(pack[1].parameters()).fill_(float("nan"))  # member 1's loss is NaN from the first step
    short = Budget(**{**BUDGET.__dict__, "steps": 10, "eval_every": 5})
    results = train_packed(pack, task, short, lrs=[1e-3] * 3, seq_len=LENGTH,
                           data=[generator(100 + s) for s in range(3)], val_sets=[val_set] * 3, device="cpu",
                           progress=False)  # fmt: skip
    assert results[1].diverged_step == 1 and len(results[1].step_seconds) == 1 and results[1].curve == []
    assert results[0].diverged_step is None and results[2].diverged_step is None
    assert [s for s, _ in results[0].curve] == [5, 10]
    alone = train(reference, task, short, lr=1e-3, seq_len=LENGTH, data=generator(100), val_set=val_set,
                  device="cpu", progress=False)  # fmt: skip
    assert relative_gap(results[0].curve[-1][1], alone.curve[-1][1]) < 1e-4  # unharmed by its neighbour's NaN
