"""The one interface every family meets on every task: (B, L, ...) -> (B, L, D_out), finite, trainable, causal,
and streaming step by step as its full forward computes (or refusing to stream, saying so)."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import build, change_from, random_inputs, stream


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


def test_every_model_runs_under_bf16_autocast(model_name, gen):
    model, task = build(model_name, "copying")
    x = random_inputs(task.spec, 2, 16, gen(11))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        if model_name == "lstm":
            pytest.skip("oneDNN has no bf16 LSTM on CPU (a torch limitation: `bench speed` records it as an error row)")
        out = model(x)
    assert torch.isfinite(out).all()
