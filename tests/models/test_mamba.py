"""Mamba: S6 on a case worked by hand, the fused core and the parallel scan against the recurrence (fp64, to
1e-12, gradients included), chunk boundaries, the causal conv, the paper's initialisation, a streaming state
that does not grow, and option checks."""

from __future__ import annotations

import math

import pytest
import torch

import models
import models.mamba
import models.s6
import tasks
from models.mamba import MambaMixer, MambaOptions, inverse_softplus
from tests.helpers import WIDTH, build, random_inputs


def mixer(width: int = WIDTH, **options) -> MambaMixer:
    torch.manual_seed(0)
    return MambaMixer(width, MambaOptions(**options))


@pytest.mark.parametrize("path", models.mamba.PATHS)
def test_s6_on_a_case_worked_by_hand(path):
    # One channel, two states: A = (-1, -2), Delta = 1/2 at every step, B = (x, x), C = (x, x/2), D = 1.
    layer = mixer(1, expand=1, state_size=2, dt_rank=1, path=path)
    with torch.no_grad():
        layer.A_log.copy_(torch.tensor([[0.0, math.log(2.0)]]))
        layer.dt_proj.weight.zero_()
        layer.dt_proj.bias.fill_(inverse_softplus(torch.tensor(0.5)).item())
        layer.x_proj.weight.copy_(torch.tensor([[0.0], [1.0], [1.0], [1.0], [0.5]]))  # rows: dt, B_1, B_2, C_1, C_2
    x = torch.tensor([[[1.0], [2.0]]])  # (B, L, I): x_0 = 1, x_1 = 2
    # h_0 = Delta B_0 x_0 = (1/2, 1/2); y_0 = C_0 . h_0 + x_0 = 1/2 + 1/4 + 1
    # h_1 = exp(Delta A) h_0 + Delta B_1 x_1 = (e^-0.5 / 2 + 2, e^-1 / 2 + 2); y_1 = 2 h_1[0] + h_1[1] + 2
    expected = torch.tensor([[[1.75], [8 + math.exp(-0.5) + 0.5 * math.exp(-1)]]])
    with torch.no_grad():
        torch.testing.assert_close(layer.selective_scan(x), expected)


@pytest.mark.parametrize("path", [p for p in models.mamba.PATHS if p != "recurrence"])
def test_every_path_computes_the_recurrences_map_and_gradients_in_fp64(path, gen, monkeypatch):
    # Small chunks, so that the state and its gradient cross chunk boundaries (11 steps: 3 chunks, one short).
    monkeypatch.setattr(models.mamba, "CHUNK_STEPS", 4)
    monkeypatch.setattr(models.s6, "CHUNK_ELEMENTS", 4 * 2 * 2 * WIDTH * 16)
    fast, task = build("mamba", "copying", path=path)
    recurrence, _ = build("mamba", "copying", path="recurrence")
    fast, recurrence = fast.double(), recurrence.double()
    x = random_inputs(task.spec, 2, 11, gen(9))
    out, out_recurrence = fast(x), recurrence(x)
    torch.testing.assert_close(out, out_recurrence, atol=1e-12 * out_recurrence.abs().max().item(), rtol=0)
    weights = torch.randn(out.shape, generator=gen(10), dtype=torch.float64)
    (out * weights).sum().backward()
    (out_recurrence * weights).sum().backward()
    for (name, p), q in zip(fast.named_parameters(), recurrence.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-12 * q.grad.abs().max().item(), rtol=0, msg=name)


def test_the_fused_core_is_the_recurrence_on_its_own_inputs(gen):
    # models.s6 against h_t = exp(Delta_t A) h_{t-1} + Delta_t x_t B_t, y_t = C_t . h_t written out, fp64,
    # with chunks of 3 steps over 8 (the last one short).
    x, delta = torch.randn(2, 8, 5, generator=gen(20), dtype=torch.float64).unbind(0)
    delta = delta.exp()[None]  # (1, L, I): positive, as softplus makes it
    x = x[None]
    A = -torch.rand(5, 3, generator=gen(21), dtype=torch.float64)  # (I, N)
    b, c = torch.randn(2, 1, 8, 3, generator=gen(22), dtype=torch.float64).unbind(0)  # (1, L, N) each
    h, expected = torch.zeros(1, 5, 3, dtype=torch.float64), []
    for t in range(8):
        h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * x[:, t])[:, :, None] * b[:, t, None]
        expected.append((h * c[:, t, None]).sum(-1))
    y = models.s6.S6Function.apply(x, delta, A, b, c, 3)[0]
    torch.testing.assert_close(y, torch.stack(expected, dim=1), atol=1e-14, rtol=0)


def test_the_fused_core_passes_gradcheck(gen):
    inputs = [torch.randn(2, 7, 3, generator=gen(23), dtype=torch.float64) for _ in range(2)]  # x, Delta
    inputs[1] = inputs[1].exp()
    inputs.append(-torch.rand(3, 2, generator=gen(24), dtype=torch.float64))  # A
    inputs += [torch.randn(2, 7, 2, generator=gen(25), dtype=torch.float64) for _ in range(2)]  # B, C
    inputs = [t.requires_grad_() for t in inputs]
    assert torch.autograd.gradcheck(lambda *t: models.s6.S6Function.apply(*t, 3)[0], inputs)


@pytest.mark.parametrize(("elements", "steps"), [(models.s6.CHUNK_ELEMENTS, models.s6.CHUNK_ELEMENTS // 8), (15, 1)])
def test_the_fused_core_chunks_by_elements(elements, steps, gen, monkeypatch):
    # B I N = 1 x 4 x 2 = 8 elements a step: chunks of CHUNK_ELEMENTS // 8 steps, and never fewer than one.
    monkeypatch.setattr(models.s6, "CHUNK_ELEMENTS", elements)
    x, b = torch.randn(1, 3, 4, generator=gen(26)), torch.randn(1, 3, 2, generator=gen(27))
    captured = []
    original = models.s6.S6Function.apply
    monkeypatch.setattr(models.s6.S6Function, "apply", lambda *args: captured.append(args[-1]) or original(*args))
    models.s6.s6(x, x.exp(), -torch.ones(4, 2), b, b)
    assert captured == [steps]


@pytest.mark.parametrize("path", models.mamba.PATHS)
def test_chunks_carry_the_state_across_their_boundaries(path, gen, monkeypatch):
    model, task = build("mamba", "copying", path=path)
    x = random_inputs(task.spec, 2, 23, gen(12))
    with torch.no_grad():
        whole = model(x)  # one chunk
        monkeypatch.setattr(models.mamba, "CHUNK_STEPS", 5)
        monkeypatch.setattr(models.s6, "CHUNK_ELEMENTS", 5 * 2 * model.core_layer().A_log.numel())
        chunked = model(x)  # five, the last of three steps
    torch.testing.assert_close(chunked, whole, atol=1e-5 * whole.abs().max().item(), rtol=0)


def test_the_conv_is_causal_and_sees_conv_size_steps():
    layer = mixer(conv_size=4)
    x = torch.zeros(1, 10, layer.D.shape[0])
    x[:, 5] = 1.0  # an impulse at step 5
    with torch.no_grad():
        response = layer.convolve(x) - layer.conv.bias  # (B, L, I)
    assert response[:, :5].abs().max() == 0  # nothing before the impulse
    assert response[:, 9:].abs().max() == 0  # nothing K steps after it
    # Steps 5..8 see the impulse through the kernel's taps K-1..0 (cross-correlation, padded on the left).
    torch.testing.assert_close(response[0, 5:9], layer.conv.weight[:, 0].flip(-1).T)


def test_the_papers_initialisation():
    layer = mixer(state_size=5, dt_min=0.01, dt_max=0.05)
    inner = layer.D.shape[0]
    A = -torch.exp(layer.A_log)
    torch.testing.assert_close(A, -torch.arange(1.0, 6.0).repeat(inner, 1))  # S4D-real: A_n = -(n + 1)
    dt = torch.nn.functional.softplus(layer.dt_proj.bias)
    assert dt.shape == (inner,)
    assert (dt >= 0.01 * (1 - 1e-5)).all() and (dt <= 0.05 * (1 + 1e-5)).all()
    assert dt.max() / dt.min() > 1.5  # spread over the range, not one value
    torch.testing.assert_close(layer.D, torch.ones(inner))
    assert layer.dt_proj.weight.abs().max() <= layer.rank**-0.5


def test_the_block_norm_has_the_references_eps():
    model, _ = build("mamba", "copying")
    assert {block.norm.eps for block in model.backbone.blocks} == {1e-5}


def test_only_a_d_and_the_dt_bias_escape_weight_decay():
    model, _ = build("mamba", "copying", layers=1)
    exempt = {name for name, p in model.named_parameters() if getattr(p, "_no_weight_decay", False)}
    assert exempt == {f"backbone.blocks.0.mixer.{name}" for name in ("A_log", "D", "dt_proj.bias")}


def test_shapes_follow_the_options():
    layer = mixer(40, expand=3, state_size=8, conv_size=2)
    assert layer.in_proj.weight.shape == (2 * 120, 40)
    assert layer.conv.weight.shape == (120, 1, 2)
    assert layer.x_proj.weight.shape == (math.ceil(40 / 16) + 2 * 8, 120)  # dt_rank 0: ceil(D / 16)
    assert mixer(40, dt_rank=5).dt_proj.weight.shape == (80, 5)


def test_the_streaming_state_does_not_grow(gen):
    model, task = build("mamba", "copying")
    model.eval()
    options = MambaOptions()
    inner = options.expand * WIDTH
    per_block = 2 * inner * (options.conv_size - 1 + options.state_size) * 4  # (B, I, K - 1) + (B, I, N), fp32
    x = random_inputs(task.spec, 2, 50, gen(13))
    sizes = []
    with torch.no_grad():
        state = model.init_state(2)
        sizes.append(models.state_bytes(state))
        for x_t in x.unbind(1):
            _, state = model.step(x_t, state)
            sizes.append(models.state_bytes(state))
    assert set(sizes) == {options.layers * per_block}


def test_the_core_layer_maps_width_to_width():
    model, _ = build("mamba", "copying")
    layer = model.core_layer()
    assert isinstance(layer, MambaMixer)
    assert layer(torch.randn(2, 9, WIDTH)).shape == (2, 9, WIDTH)
    assert models.core_layer_name("mamba", tasks.get_task("copying").spec, {}) == "MambaMixer"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layers": 0}, "mamba option layers must be >= 1"),
        ({"state_size": 0}, "mamba option state_size must be >= 1"),
        ({"expand": 0}, "mamba option expand must be >= 1"),
        ({"conv_size": 0}, "mamba option conv_size must be >= 1"),
        ({"dt_rank": -1}, "mamba option dt_rank must be >= 1, or 0"),
        ({"dt_min": 0.0}, "dt_min and dt_max"),
        ({"dt_min": 0.2, "dt_max": 0.1}, "dt_min and dt_max"),
        ({"path": "fft"}, "mamba option path must be one of " + ", ".join(models.mamba.PATHS)),
    ],
)
def test_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        models.build_model("mamba", tasks.get_task("adding").spec, width=WIDTH, **options)


def test_runs_made_on_the_parallel_scan_rebuild_on_the_fused_core():
    # Records before the fused core say path="scan": their models (checkpoints, gradients --from) still build.
    assert models.full_options("mamba", {"path": "scan"})["path"] == "fused"
    assert models.build_model("mamba", tasks.get_task("adding").spec, width=WIDTH, path="scan").core_layer().path == (
        "fused"
    )


def test_traits_and_registry_entry():
    assert models.model_traits("mamba", {}) == ["fixed_state", "gated", "linear_recurrence", "selective", "ssm"]
    assert "mamba" not in models.DEFAULT_MODELS


@pytest.mark.parametrize("path", models.mamba.PATHS)
def test_gradients_match_finite_differences(path, gen, monkeypatch):
    monkeypatch.setattr(models.mamba, "CHUNK_STEPS", 4)  # three chunks
    monkeypatch.setattr(models.s6, "CHUNK_ELEMENTS", 4 * 2 * 8 * 3)  # three chunks: B I N = 2 x 8 x 3
    layer = mixer(4, state_size=3, path=path).double()
    x = torch.randn(2, 11, 4, generator=gen(14), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))
