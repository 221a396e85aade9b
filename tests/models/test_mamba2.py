"""Mamba-2 (SSD): the chunked form against its own step-by-step recurrence (fp64, to 1e-12, gradients
included, lengths that are and are not whole chunks), gradcheck of the chunked map, a scalar A per head, the
reference's initialisation, a streaming state that does not grow, and option checks."""

from __future__ import annotations

import pytest
import torch

import models
import tasks
from models.mamba2 import Mamba2Mixer, Mamba2Options, ssd
from tests.helpers import WIDTH, build, random_inputs


def mixer(width: int = WIDTH, **options) -> Mamba2Mixer:
    torch.manual_seed(0)
    return Mamba2Mixer(width, Mamba2Options(**options))


# Width 13: 26 inner channels, heads of 8, 8, 8 and 2 (the last one padded with zeros).
@pytest.mark.parametrize(("length", "chunk", "width"), [(1, 4, WIDTH), (12, 4, WIDTH), (23, 4, 13), (23, 64, WIDTH)])
def test_the_chunked_form_is_the_recurrence_in_fp64(length, chunk, width, gen):
    chunked = mixer(width, chunk_size=chunk).double()
    recurrence = mixer(width, path="recurrence").double()
    recurrence.load_state_dict(chunked.state_dict())
    x = torch.randn(2, length, width, generator=gen(1), dtype=torch.float64)
    out, expected = chunked(x), recurrence(x)
    torch.testing.assert_close(out, expected, atol=1e-12 * expected.abs().max().item(), rtol=0)
    weights = torch.randn(out.shape, generator=gen(2), dtype=torch.float64)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    for (name, p), q in zip(chunked.named_parameters(), recurrence.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-12 * q.grad.abs().max().item(), rtol=0, msg=name)


def test_ssd_on_a_case_worked_by_hand():
    # One head of one channel, one state: a = log(1/2) at every step, B = C = 1, x = (1, 2, 4):
    # h = (1, 1/2 + 2, 5/4 + 4) and y = h, whether the chunks are of one step or of three.
    x = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64).reshape(1, 3, 1, 1)
    a = torch.full((1, 3, 1), 0.5, dtype=torch.float64).log()
    ones = torch.ones(1, 3, 1, dtype=torch.float64)
    for chunk in (1, 2, 3):
        torch.testing.assert_close(ssd(x, a, ones, ones, chunk).flatten(), torch.tensor([1.0, 2.5, 5.25]).double())


def test_the_chunked_map_passes_gradcheck(gen):
    x = torch.randn(1, 7, 2, 3, generator=gen(3), dtype=torch.float64, requires_grad=True)  # (B, L, H, P)
    a = (-torch.rand(1, 7, 2, generator=gen(4), dtype=torch.float64)).requires_grad_()  # (B, L, H)
    b, c = (torch.randn(1, 7, 2, generator=gen(s), dtype=torch.float64, requires_grad=True) for s in (5, 6))
    assert torch.autograd.gradcheck(lambda *t: ssd(*t, chunk=3), (x, a, b, c))


def test_the_last_head_may_be_narrower():
    layer = mixer(13, head_dim=8)  # 26 inner channels: 4 heads, the last of 2 channels
    assert layer.heads == 4 and layer.A_log.shape == (4,)
    assert layer(torch.randn(2, 5, 13)).shape == (2, 5, 13)


def test_a_is_one_scalar_per_head_and_initialised_as_the_reference():
    layer = mixer(32, head_dim=8, expand=2, state_size=5)
    assert layer.heads == 8 and layer.A_log.shape == layer.D.shape == layer.dt_bias.shape == (8,)
    assert ((-layer.A >= 1) & (-layer.A <= 16)).all()
    dt = torch.nn.functional.softplus(layer.dt_bias)
    assert (dt >= 0.001 * (1 - 1e-5)).all() and (dt <= 0.1 * (1 + 1e-5)).all()
    assert layer.in_proj.weight.shape == (2 * 64 + 2 * 5 + 8, 32)  # z, x, B, C, dt
    assert layer.conv.weight.shape == (64 + 2 * 5, 1, 4)  # over x, B and C


def test_the_streaming_state_does_not_grow(gen):
    model, task = build("mamba2", "copying")
    model.eval()
    x = random_inputs(task.spec, 2, 20, gen(7))
    sizes = []
    with torch.no_grad():
        state = model.init_state(2)
        for x_t in x.unbind(1):
            _, state = model.step(x_t, state)
            sizes.append(models.state_bytes(state))
    options, inner = Mamba2Options(), 2 * WIDTH
    per_block = 2 * ((inner + 2 * options.state_size) * (options.conv_size - 1) + inner * options.state_size) * 4
    assert set(sizes) == {options.layers * per_block}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"head_dim": 0}, "mamba2 option head_dim must be >= 1"),
        ({"chunk_size": 0}, "mamba2 option chunk_size must be >= 1"),
        ({"dt_min": 0.2, "dt_max": 0.1}, "dt_min and dt_max"),
        ({"path": "scan"}, "mamba2 option path must be one of chunked, recurrence"),
    ],
)
def test_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        models.build_model("mamba2", tasks.get_task("adding").spec, width=WIDTH, **options)


def test_traits_and_registry_entry():
    assert models.model_traits("mamba2", {}) == ["fixed_state", "gated", "linear_recurrence", "selective", "ssm"]
    assert "mamba2" not in models.DEFAULT_MODELS
    assert models.core_layer_name("mamba2", tasks.get_task("copying").spec, {}) == "Mamba2Mixer"
