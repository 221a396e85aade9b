"""minGRU and minLSTM: the paper's recurrences written out step by step, the three full-sequence paths
against each other (values and gradients), g and its log, a state that does not grow, and option checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import models
import tasks
from models.mingru import MinRNN, g, log_g
from tests.helpers import WIDTH, build, random_inputs

FAMILIES = ["mingru", "minlstm"]


def papers_recurrence(layer: MinRNN, x: torch.Tensor) -> torch.Tensor:
    """The cell as the paper writes its sequential mode, from the layer's weights: (B, L, D) -> (B, L, H)."""
    h, outputs = torch.zeros(x.shape[0], layer.hidden, dtype=x.dtype), []
    for x_t in x.unbind(1):
        k = F.linear(x_t, layer.proj.weight, layer.proj.bias)
        if layer.cell == "gru":
            k_z, k_h = k.split(layer.hidden, dim=-1)
            z = torch.sigmoid(k_z)
            h = (1 - z) * h + z * g(k_h)
        else:
            k_f, k_i, k_h = k.split(layer.hidden, dim=-1)
            f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
            h = f / (f + i) * h + i / (f + i) * g(k_h)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("path", ["scan", "log_scan", "recurrence"])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_path_is_the_papers_recurrence(family, path, gen):
    model, _ = build(family, "copying", path=path)
    layer = model.backbone.blocks[0].rnn.double()
    x = torch.randn(2, 29, WIDTH, generator=gen(1), dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), papers_recurrence(layer, x))


@pytest.mark.parametrize("path", ["log_scan", "recurrence"])
@pytest.mark.parametrize("family", FAMILIES)
def test_the_paths_compute_the_same_map_and_gradients(family, path, gen):
    scan, task = build(family, "copying")
    other, _ = build(family, "copying", path=path)
    x = random_inputs(task.spec, 2, 41, gen(2))
    out_scan, out_other = scan(x), other(x)
    torch.testing.assert_close(out_other, out_scan, atol=1e-5 * out_scan.abs().max().item(), rtol=0)
    weights = torch.randn(out_scan.shape, generator=gen(3))
    (out_scan * weights).sum().backward()
    (out_other * weights).sum().backward()
    for (name, p), q in zip(scan.named_parameters(), other.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-4 * p.grad.abs().max().item(), rtol=0, msg=name)


@pytest.mark.parametrize("family", FAMILIES)
def test_log_coefficients_are_the_logs_of_the_coefficients(family, gen):
    model, _ = build(family, "copying")
    layer = model.backbone.blocks[0].rnn
    x = 3 * torch.randn(4, 9, WIDTH, generator=gen(4))  # gates well into saturation too
    with torch.no_grad():
        a, b = layer.coefficients(x)
        log_a, log_b = layer.log_coefficients(x)
    assert (a > 0).all() and (a < 1).all() and (b > 0).all()
    torch.testing.assert_close(log_a, a.log())
    torch.testing.assert_close(log_b, b.log())


def test_g_is_positive_continuous_and_its_log_is_log_g():
    x = torch.linspace(-30, 30, 601, dtype=torch.float64)
    assert (g(x) > 0).all()
    torch.testing.assert_close(g(torch.tensor([-1e-9, 0.0], dtype=torch.float64)), torch.tensor([0.5, 0.5]).double())
    torch.testing.assert_close(log_g(x), g(x).log())
    torch.testing.assert_close(g(torch.tensor([2.0])), torch.tensor([2.5]))  # linear growth above 0


@pytest.mark.parametrize("family", FAMILIES)
def test_the_streaming_state_is_h_alone_and_does_not_grow(family, gen):
    model, task = build(family, "copying", expand=2)
    model.eval()
    x = random_inputs(task.spec, 3, 40, gen(5))
    sizes = []
    with torch.no_grad():
        state = model.init_state(3)
        sizes.append(models.state_bytes(state))
        for x_t in x.unbind(1):
            _, state = model.step(x_t, state)
            sizes.append(models.state_bytes(state))
    assert set(sizes) == {2 * 3 * 2 * WIDTH * 4}  # 2 layers of (B, H) fp32, H = 2 D


@pytest.mark.parametrize(("family", "gates"), [("mingru", 2), ("minlstm", 3)])
def test_expand_widens_the_hidden_state(family, gates):
    model, _ = build(family, "copying", expand=3, layers=1)
    block = model.backbone.blocks[0]
    assert block.rnn.proj.weight.shape == (gates * 3 * WIDTH, WIDTH)
    assert block.out_proj.weight.shape == (WIDTH, 3 * WIDTH)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_core_layer_is_the_minimal_rnn(family):
    spec = tasks.get_task("copying").spec
    model, _ = build(family, "copying")
    layer = model.core_layer()
    assert isinstance(layer, MinRNN)
    assert layer(torch.randn(2, 9, WIDTH)).shape == (2, 9, WIDTH)
    assert models.core_layer_name(family, spec, {}) == "MinRNN"
    with pytest.raises(ValueError, match="option expand"):
        models.core_layer_name(family, spec, {"expand": 2})


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layers": 0}, "option layers must be between 1 and 64, got 0"),
        ({"expand": 0}, "option expand must be between 1 and 16, got 0"),
        ({"path": "fft"}, "option path must be one of scan, log_scan, recurrence"),
    ],
)
def test_options_are_checked(family, options, message):
    with pytest.raises(ValueError, match=f"{family} {message}"):
        models.build_model(family, tasks.get_task("adding").spec, width=WIDTH, **options)


@pytest.mark.parametrize("family", FAMILIES)
def test_traits_and_registry_entry(family):
    assert models.model_traits(family, {}) == ["fixed_state", "gated", "linear_recurrence", "recurrent"]
    assert family not in models.DEFAULT_MODELS
