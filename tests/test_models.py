"""Models: every family on every task maps (B, L, ...) -> (B, L, D_out) causally, trains, streams, and is sized."""

from __future__ import annotations

import pytest
import torch

import models
import tasks
from models.ssm import S4DKernel, SSMOptions
from models.transformer import INITIAL_CACHE_STEPS, attention
from tests.conftest import TINY_PARAMS, quick_task

WIDTH = 16


def build(model_name: str, task_name: str, seed: int = 0, **options) -> tuple[models.SequenceModel, tasks.Task]:
    task = quick_task(task_name)
    torch.manual_seed(seed)
    return models.build_model(model_name, task.spec, width=WIDTH, **options), task


def random_inputs(spec: tasks.TaskSpec, batch_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Inputs of the task's kind, not drawn from the task: any tokens of the vocabulary, or any reals."""
    if spec.input_kind == "tokens":
        return torch.randint(0, spec.input_size, (batch_size, length), generator=generator)  # (B, L)
    return torch.randn(batch_size, length, spec.input_size, generator=generator)  # (B, L, C)


def change_from(x: torch.Tensor, t: int, spec: tasks.TaskSpec, generator: torch.Generator) -> torch.Tensor:
    """A copy of ``x`` that differs at every position >= t."""
    changed = x.clone()
    if spec.input_kind == "tokens":
        shift = torch.randint(1, spec.input_size, changed[:, t:].shape, generator=generator)
        changed[:, t:] = (changed[:, t:] + shift) % spec.input_size  # never the same token
    else:
        changed[:, t:] += torch.randn(changed[:, t:].shape, generator=generator)
    return changed


def test_output_shape_and_finite(task_name, model_name, gen):
    model, task = build(model_name, task_name)
    x = random_inputs(task.spec, 3, 12, gen(0))
    out = model(x)
    assert out.shape == (3, 12, task.spec.output_size)
    assert torch.isfinite(out).all()


def test_gradients_reach_every_parameter(task_name, model_name, gen):
    model, task = build(model_name, task_name)
    batch = task.sample(4, max(task.min_length, 6), generator=gen(1))
    task.metrics(model(batch.x), batch)["loss"].backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.requires_grad}
    assert [name for name, g in grads.items() if g is None] == []
    assert [name for name, g in grads.items() if not torch.isfinite(g).all()] == []
    assert any(g.abs().sum() > 0 for g in grads.values())
    assert model.encoder.weight.grad.abs().sum() > 0


def test_causal(task_name, model_name, gen):
    model, task = build(model_name, task_name)
    model.eval()
    L, t = 20, 10
    x = random_inputs(task.spec, 3, L, gen(2))
    x_changed = change_from(x, t, task.spec, gen(3))
    with torch.no_grad():
        out, out_changed = model(x), model(x_changed)
    torch.testing.assert_close(out_changed[:, :t], out[:, :t], atol=1e-5, rtol=0)
    assert not torch.allclose(out_changed[:, t:], out[:, t:], atol=1e-5)  # the change was seen at all


def stream(model: models.SequenceModel, x: torch.Tensor) -> torch.Tensor:
    """Every step's output of ``model.step`` over ``x``, from a fresh state, stacked to (B, L, D_out)."""
    state, steps = model.init_state(x.shape[0]), []
    for x_t in x.unbind(1):  # unbind once: indexing x[:, t] per step is what DESIGN.md §3 warns about
        y_t, state = model.step(x_t, state)
        steps.append(y_t)
    return torch.stack(steps, dim=1)


# One step, a few, and enough for fp32 error to build up. A step costs ~0.2-0.8 ms per layer in
# dispatch alone, so the long stream runs one layer (the short ones cover the stack of two).
@pytest.mark.parametrize(("length", "layers"), [(1, 2), (7, 2), (1000, 1)])
def test_streaming_matches_full_forward(task_name, model_name, length, layers, gen):
    model, task = build(model_name, task_name, layers=layers)
    model.eval()
    if not model.streams:  # a family that must see the whole sequence says so, and refuses to step
        with pytest.raises(RuntimeError, match="stream"):
            model.init_state(2)
        return
    x = random_inputs(task.spec, 2, length, gen(4))
    with torch.no_grad():
        full = model(x)  # (B, L, D_out)
        streamed = stream(model, x)
    assert streamed.shape == full.shape
    torch.testing.assert_close(streamed, full, atol=1e-4 * full.abs().max().item(), rtol=0)


# ---- parameter budgets -----------------------------------------------------------------------


@pytest.mark.parametrize("target", [TINY_PARAMS, 20_000])
def test_width_solver_meets_the_target(task_name, model_name, target):
    spec = quick_task(task_name).spec
    model = models.build_model(model_name, spec, target_params=target)
    assert abs(models.count_parameters(model) - target) <= models.PARAM_TOLERANCE * target


def test_target_build_uses_a_whole_width_multiple(task_name, model_name):
    spec = quick_task(task_name).spec
    family = models.MODELS[model_name]
    width = models.solve_width(model_name, spec, 20_000)
    assert width % family.width_multiple(family.options()) == 0  # e.g. heads divide the Transformer's width
    assert models.build_model(model_name, spec, target_params=20_000).width == width


def test_unreachable_target_raises(model_name):
    spec = tasks.get_task("adding").spec
    with pytest.raises(ValueError, match="no width gives 10 parameters"):
        models.build_model(model_name, spec, target_params=10)


def test_unknown_model_suggests_a_name():
    with pytest.raises(ValueError, match="did you mean 'lstm'"):
        models.build_model("lstn", tasks.get_task("adding").spec, width=WIDTH)


def test_unknown_option_raises(model_name):
    with pytest.raises(ValueError, match="foo"):
        models.build_model(model_name, tasks.get_task("adding").spec, width=WIDTH, foo=1)


@pytest.mark.parametrize("sizes", [{"width": WIDTH, "target_params": 4000}, {}])
def test_exactly_one_of_width_and_target(model_name, sizes):
    with pytest.raises(ValueError, match="exactly one"):
        models.build_model(model_name, tasks.get_task("adding").spec, **sizes)


def test_options_change_the_model(model_name):
    # Every family has a depth option; a deeper model has more parameters at the same width.
    spec = tasks.get_task("adding").spec
    assert "layers" in models.model_options(model_name)
    shallow = models.build_model(model_name, spec, width=WIDTH, layers=1)
    deep = models.build_model(model_name, spec, width=WIDTH, layers=2)
    assert models.count_parameters(deep) > models.count_parameters(shallow)


# ---- the SSM convolution kernel --------------------------------------------------------------


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


def test_kv_cache_grows_by_doubling(gen):
    model, task = build("transformer", "copying", layers=1)
    x = random_inputs(task.spec, 2, 100, gen(8))
    with torch.no_grad():
        state, reallocations = model.init_state(2), 0
        for x_t in x.unbind(1):
            buffer = state[0].keys
            _, state = model.step(x_t, state)
            reallocations += state[0].keys is not buffer
    assert [cache.length for cache in state] == [100] * len(state)
    capacity, doublings = INITIAL_CACHE_STEPS, 0
    while capacity < 100:
        capacity, doublings = 2 * capacity, doublings + 1
    assert state[0].keys.shape[2] == capacity
    assert reallocations == doublings  # appends write in place; the buffer is replaced only when full


@pytest.mark.parametrize("causal", [True, False])
def test_padded_attention_heads_give_the_same_output(causal, gen):
    # On CUDA heads are zero-padded to a multiple of 8 so the fused kernels accept them; the result must not change.
    q, k, v = (torch.randn(2, 2, 9, 14, generator=gen(10 + i)) for i in range(3))
    torch.testing.assert_close(attention(q, k, v, causal, align=8), attention(q, k, v, causal, align=1))


def test_every_model_runs_under_bf16_autocast(model_name, gen):
    model, task = build(model_name, "copying")
    x = random_inputs(task.spec, 2, 16, gen(11))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        if model_name == "lstm":
            pytest.skip("oneDNN has no bf16 LSTM on CPU (a torch limitation: `bench speed` records it as an error row)")
        out = model(x)
    assert torch.isfinite(out).all()
