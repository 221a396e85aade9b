"""The diagonal SSM: its convolution kernel against the plain formula, the slow forms kept for `bench speed`,
and a step that reuses the discretisation yet follows a parameter update."""

from __future__ import annotations

import pytest
import torch

import models
import tasks
from models.ssm import S4DKernel, SSMOptions
from tests.helpers import WIDTH, build, random_inputs


@pytest.mark.parametrize("length", [1, 7, 64, 257])
def test_s4d_kernel_matches_the_plain_formula(length):
    torch.manual_seed(0)
    kernel = S4DKernel(6, SSMOptions())
    with torch.no_grad():
        fast = kernel(length)  # (D, L)
        dt_a, _, c_prime = (z.to(torch.complex128) for z in kernel.discretise())  # (D, N/2) each
        steps = torch.arange(length, dtype=torch.float64)  # l
        reference = 2 * (c_prime[..., None] * torch.exp(dt_a[..., None] * steps)).sum(1).real  # (D, L)
    assert fast.shape == (6, length)
    torch.testing.assert_close(fast.double(), reference, atol=1e-4 * reference.abs().max().item(), rtol=0)


@pytest.mark.parametrize("slow_form", [{"kernel": "vandermonde"}, {"path": "recurrence"}])
def test_ssm_slow_forms_compute_the_same_map(slow_form, gen):
    # The textbook kernel and the step-by-step recurrence are kept for `bench speed` to measure against.
    fast, task = build("ssm", "copying")
    slow, _ = build("ssm", "copying", **slow_form)
    x = random_inputs(task.spec, 2, 37, gen(9))
    reference = fast(x)
    torch.testing.assert_close(slow(x), reference, atol=1e-4 * reference.abs().max().item(), rtol=0)


def test_ssm_rejects_an_odd_state_size():
    with pytest.raises(ValueError, match="state_size"):
        models.build_model("ssm", tasks.get_task("adding").spec, width=WIDTH, state_size=3)


def test_ssm_step_reuses_the_discretisation(gen, monkeypatch):
    model, task = build("ssm", "copying")
    x = random_inputs(task.spec, 2, 5, gen(5))
    calls = []
    discretise = S4DKernel.discretise

    def counted(kernel):
        calls.append(kernel)
        return discretise(kernel)

    monkeypatch.setattr(S4DKernel, "discretise", counted)
    with torch.no_grad():
        state = model.init_state(2)
        assert len(calls) == len(model.backbone.blocks)  # once per layer, in init_state
        for x_t in x.unbind(1):
            _, state = model.step(x_t, state)
    assert len(calls) == len(model.backbone.blocks)  # and never in a step
    assert all(s.shape == (2, WIDTH, SSMOptions().state_size // 2) for s in state)  # the state is x alone


def test_ssm_step_follows_a_parameter_update(gen):
    model, task = build("ssm", "adding")
    model.eval()
    x = random_inputs(task.spec, 2, 1, gen(6))
    with torch.no_grad():
        state = model.init_state(2)
        for p in model.backbone.parameters():  # as an optimiser step would, after the cache was filled
            p.add_(0.1 * torch.randn(p.shape, generator=gen(7)))
        y_t, _ = model.step(x[:, 0], state)
        torch.testing.assert_close(y_t, model(x)[:, 0], atol=1e-5, rtol=0)
