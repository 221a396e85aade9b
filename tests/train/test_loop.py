"""The training loop: the warm-up + cosine schedule, weight decay on matrices only, every step run while the
loss is finite, and a stop at the first NaN."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch

import models
import tasks
from bench.train.evaluate import make_eval_set
from bench.train.loop import clip_threshold, lr_factor, make_optimizer, train, warmup_cosine
from tests.helpers import TINY_BUDGET

# ---- learning-rate schedule ------------------------------------------------------------------


def test_warmup_cosine_shape():
    steps, warmup = 100, 10
    factors = [warmup_cosine(step, steps, 0.1) for step in range(steps)]
    assert factors[:warmup] == pytest.approx([(s + 1) / warmup for s in range(warmup)])  # linear ramp
    assert factors[warmup - 1] == pytest.approx(1.0) and factors[warmup] == pytest.approx(1.0)
    after = factors[warmup:]
    assert all(a > b for a, b in itertools.pairwise(after))  # strictly decreasing
    assert factors[-1] < 1e-3
    assert warmup_cosine(steps, steps, 0.1) == pytest.approx(0.0, abs=1e-12)


def test_warmup_cosine_without_warmup_starts_at_one():
    assert warmup_cosine(0, 50, 0.0) == pytest.approx(1.0)


def test_the_default_schedule_is_warmup_cosine():
    assert [lr_factor(s, TINY_BUDGET) for s in range(12)] == [warmup_cosine(s, 10, 0.1) for s in range(12)]


def test_constant_and_step_schedules_follow_their_warmup():
    constant = dataclasses.replace(TINY_BUDGET, schedule="constant", warmup_frac=0.0)
    assert [lr_factor(s, constant) for s in range(10)] == [1.0] * 10  # Mamba's synthetic tasks: no warm-up
    step = dataclasses.replace(TINY_BUDGET, schedule="step", warmup_frac=0.2, step_every=3, step_gamma=0.5)
    assert [lr_factor(s, step) for s in range(8)] == pytest.approx([0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5])


def test_no_clipping_only_measures_the_norm():
    assert clip_threshold(dataclasses.replace(TINY_BUDGET, clip_norm=None)) == float("inf")
    assert clip_threshold(TINY_BUDGET) == 1.0


@pytest.mark.parametrize("kind, cls, settings", [
    ("adamw", torch.optim.AdamW, {"betas": (0.9, 0.98), "eps": 1e-6}),
    ("adam", torch.optim.Adam, {"betas": (0.9, 0.999), "eps": 1e-8}),
    ("rmsprop", torch.optim.RMSprop, {"alpha": 0.9, "momentum": 0.0, "eps": 1e-8}),  # Tallec & Ollivier's
    ("sgd", torch.optim.SGD, {"momentum": 0.9}),
])  # fmt: skip
def test_the_budget_chooses_the_optimiser_and_its_parameters(kind, cls, settings):
    torch.manual_seed(0)
    model = models.build_model("lstm", tasks.get_task("adding").spec, width=8)
    budget = dataclasses.replace(TINY_BUDGET, optimizer=kind, **settings)
    optimizer = make_optimizer(model, 1e-3, 0.0, budget)
    assert type(optimizer) is cls
    assert all(optimizer.param_groups[0][k] == v for k, v in settings.items())


# ---- optimiser groups ------------------------------------------------------------------------


def test_weight_decay_reaches_matrices_only():
    torch.manual_seed(0)
    model = models.build_model("ssm", tasks.get_task("adding").spec, width=8, s4d_recipe=False)
    decay, rest = make_optimizer(model, lr=1e-3, weight_decay=0.1).param_groups
    assert decay["weight_decay"] == 0.1 and rest["weight_decay"] == 0.0
    decayed, kept = {id(p) for p in decay["params"]}, {id(p) for p in rest["params"]}
    assert decayed.isdisjoint(kept) and decayed | kept == {id(p) for p in model.parameters()}
    for name, p in model.named_parameters():
        tagged = getattr(p, "_no_weight_decay", False)
        assert (id(p) in decayed) == (p.ndim >= 2 and not tagged), name
    ssm = model.backbone.blocks[0].ssm
    assert id(ssm.kernel.log_neg_a_real) in kept  # a tagged matrix
    assert id(ssm.skip) in kept and id(model.head[0].weight) in kept  # vectors, norms
    assert id(model.backbone.blocks[0].mix.weight) in decayed and id(model.encoder.weight) in decayed


@pytest.mark.parametrize("lr", [1e-2, 3e-4])
def test_the_s4d_recipe_trains_a_and_dt_at_a_capped_learning_rate_without_decay(lr):
    torch.manual_seed(0)
    model = models.build_model("ssm", tasks.get_task("adding").spec, width=8)  # the recipe is on by default
    decay, rest, slow = make_optimizer(model, lr=lr, weight_decay=0.1).param_groups
    kernels = [block.ssm.kernel for block in model.backbone.blocks]
    expected = {id(p) for k in kernels for p in (k.log_dt, k.log_neg_a_real, k.a_imag)}
    assert {id(p) for p in slow["params"]} == expected
    assert slow["lr"] == min(lr, 1e-3) and slow["weight_decay"] == 0.0 and decay["lr"] == rest["lr"] == lr
    assert all(id(k.c) not in expected for k in kernels)  # C trains with everything else


# ---- the loop ------------------------------------------------------------------------------------


def train_tiny(gen):
    task = tasks.get_task("adding")
    torch.manual_seed(0)
    model = models.build_model("gru", task.spec, width=8)
    val_set = make_eval_set(task, TINY_BUDGET.val_size, 8, gen(1))
    return train(model, task, TINY_BUDGET, lr=1e-3, seq_len=8, data=gen(2), val_set=val_set, device="cpu",
                 progress=False)  # fmt: skip


def test_train_runs_every_step_when_the_loss_is_finite(gen):
    result = train_tiny(gen)
    assert result.diverged_step is None
    assert len(result.step_seconds) == TINY_BUDGET.steps
    assert [step for step, _ in result.curve] == [5, 10]


def test_train_stops_at_a_nan_loss(nan_loss_from_step_3, gen):
    result = train_tiny(gen)
    assert result.diverged_step == 3
    assert len(result.step_seconds) == 3
    assert result.curve == []


@pytest.mark.slow  # torch.compile's first call: about 30 s on 2 cores
def test_a_compiled_run_trains_as_the_eager_one(gen):
    # The same steps from the same weights and data: the validation curves agree to the tolerance the streaming
    # tests use (fused kernels may sum in another order), and a different run would not (the check can fail).
    task = tasks.get_task("adding")
    curves = []
    for compiled, lr in ((False, 1e-3), (True, 1e-3), (False, 3e-3)):
        torch.manual_seed(0)
        model = models.build_model("mingru", task.spec, width=8, layers=1)
        val_set = make_eval_set(task, TINY_BUDGET.val_size, 8, gen(1))
        result = train(model, task, TINY_BUDGET, lr=lr, seq_len=8, data=gen(2), val_set=val_set, device="cpu",
                       progress=False, compiled=compiled)  # fmt: skip
        curves.append(torch.tensor([loss for _, loss in result.curve]))
    eager, compiled, other = curves
    torch.testing.assert_close(compiled, eager, atol=1e-4 * eager.abs().max().item(), rtol=0)
    assert not torch.allclose(other, eager, atol=1e-4 * eager.abs().max().item(), rtol=0)
