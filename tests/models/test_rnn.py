"""RNN variants: bidirectional (last-step tasks only), deep residual stacks, LSTM forget-bias and chrono init.

The command line's refusals of these options are in ``tests/config/test_comparison.py``; a tiny run of one in
``tests/cli/test_run.py``."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import models
import tasks
from tests.helpers import change_from, quick_task, random_inputs, stream

WIDTH = 8
RNN_FAMILIES = ["rnn", "lstm", "gru"]
LAST_STEP_TASKS = [name for name in tasks.TASKS if quick_task(name).spec.scored == "last"]
SEES_THE_ANSWER = ["copying", "selective_copying", "associative_recall"]  # scored at every step or the last few

VARIANTS = {
    "bidirectional": {"bidirectional": True},
    "residual3": {"layers": 3, "residual": True},
    "residual3-bidirectional": {"layers": 3, "residual": True, "bidirectional": True},
    "forget_bias": {"forget_bias": 1.0},
    "chrono": {"chrono": 50},
}
LSTM_ONLY = {"forget_bias", "chrono"}
CAUSAL_VARIANTS = [v for v in VARIANTS if not VARIANTS[v].get("bidirectional")]


def applicable(variant: str) -> list[str]:
    return ["lstm"] if variant in LSTM_ONLY else RNN_FAMILIES


def allowed_tasks(variant: str) -> list[str]:
    return LAST_STEP_TASKS if VARIANTS[variant].get("bidirectional") else list(tasks.TASKS)


def build(model: str, task: str, seed: int = 0, **options) -> models.SequenceModel:
    torch.manual_seed(seed)
    return models.build_model(model, quick_task(task).spec, width=WIDTH, **options)


def lstm_biases(model: models.SequenceModel) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(b_ih, b_hh) of every layer and direction of every LSTM module in the backbone."""
    pairs = []
    for lstm in (m for m in model.backbone.modules() if isinstance(m, nn.LSTM)):
        named = dict(lstm.named_parameters())
        pairs += [(named[name], named[name.replace("bias_ih", "bias_hh")]) for name in named if "bias_ih" in name]
    return pairs


def gates(bias: torch.Tensor) -> dict[str, torch.Tensor]:
    """torch's LSTM gate order: input, forget, cell, output."""
    return dict(zip("ifgo", bias.detach().chunk(4), strict=True))


# ---- parameter budgets -------------------------------------------------------------------------

CASES = [(v, m, t) for v in VARIANTS for m in applicable(v) for t in allowed_tasks(v)]


# At 7000 (TINY_PARAMS) a 3-layer LSTM's count steps by ~12% per unit of width, so no width lands within
# PARAM_TOLERANCE (5%) on some tasks (solve_width says so); 13000 is a round target every variant (and task,
# induction_heads' 16-token vocabulary included) meets.
@pytest.mark.parametrize("target", [13_000, 20_000])
@pytest.mark.parametrize(("variant", "model", "task"), CASES, ids=["-".join(c) for c in CASES])
def test_variant_meets_the_parameter_target(variant, model, task, target):
    built = models.build_model(model, quick_task(task).spec, target_params=target, **VARIANTS[variant])
    assert abs(models.count_parameters(built) - target) <= models.PARAM_TOLERANCE * target


def test_bidirectional_counts_both_directions_and_the_merge():
    one, both = build("gru", "adding"), build("gru", "adding", bidirectional=True)
    rnn_params = sum(p.numel() for p in one.backbone.rnn.parameters())
    merge = 2 * WIDTH * WIDTH + WIDTH
    assert models.count_parameters(both) == models.count_parameters(one) + rnn_params + merge


# ---- bidirectional: only where the backward direction cannot see the answer --------------------


@pytest.mark.parametrize("model", RNN_FAMILIES)
@pytest.mark.parametrize("task", SEES_THE_ANSWER)
def test_bidirectional_is_refused_where_it_would_see_the_answer(model, task):
    spec = quick_task(task).spec
    assert spec.scored != "last"
    for options in ({"bidirectional": True}, {"bidirectional": True, "layers": 2, "residual": True}):
        with pytest.raises(ValueError, match=f"{model} option bidirectional=true: allowed only on tasks scored at"):
            models.build_model(model, spec, width=WIDTH, **options)
        with pytest.raises(ValueError, match="backward direction would see the answer"):
            models.check_fits_task(model, spec, **options)


def test_bidirectional_is_allowed_where_only_the_last_step_is_scored():
    assert LAST_STEP_TASKS == ["adding", "induction_heads"]
    for model in RNN_FAMILIES:
        for task in LAST_STEP_TASKS:
            models.check_fits_task(model, quick_task(task).spec, bidirectional=True)


@pytest.mark.parametrize("model", RNN_FAMILIES)
def test_bidirectional_last_output_depends_on_every_input(model, gen):
    net = build(model, "adding", bidirectional=True).eval()
    spec, L = quick_task("adding").spec, 12
    x = random_inputs(spec, 2, L, gen(0))
    with torch.no_grad():
        last = net(x)[:, -1]
        for t in range(L):
            changed = x.clone()
            changed[:, t] += 1.0
            assert not torch.allclose(net(changed)[:, -1], last, atol=1e-6), t
        first = net(x)[:, 0]
        assert not torch.allclose(net(change_from(x, L - 1, spec, gen(1)))[:, 0], first, atol=1e-6)  # sees ahead


@pytest.mark.parametrize("model", RNN_FAMILIES)
def test_bidirectional_does_not_stream(model):
    net = build(model, "adding", bidirectional=True)
    assert net.streams is False
    with pytest.raises(RuntimeError, match="bidirectional"):
        net.init_state(2)
    assert build(model, "adding").streams is True


CAUSAL_CASES = [(v, m) for v in CAUSAL_VARIANTS for m in applicable(v)]


@pytest.mark.parametrize(("variant", "model"), CAUSAL_CASES, ids=["-".join(c) for c in CAUSAL_CASES])
def test_other_variants_stay_causal(variant, model, gen):
    net = build(model, "copying", **VARIANTS[variant]).eval()
    spec, L, t = quick_task("copying").spec, 20, 10
    x = random_inputs(spec, 3, L, gen(2))
    with torch.no_grad():
        out, out_changed = net(x), net(change_from(x, t, spec, gen(3)))
    torch.testing.assert_close(out_changed[:, :t], out[:, :t], atol=1e-5, rtol=0)
    assert not torch.allclose(out_changed[:, t:], out[:, t:], atol=1e-5)


# ---- depth with residual connections -----------------------------------------------------------


@pytest.mark.parametrize("length", [1, 7, 60])
@pytest.mark.parametrize("options", [{"layers": 3, "residual": True}, {"layers": 1, "residual": True}], ids=str)
@pytest.mark.parametrize("model", RNN_FAMILIES)
def test_deep_residual_streaming_matches_full_forward(model, options, length, gen):
    net = build(model, "copying", **options).eval()
    x = random_inputs(quick_task("copying").spec, 2, length, gen(4))
    with torch.no_grad():
        full, streamed = net(x), stream(net, x)
    torch.testing.assert_close(streamed, full, atol=1e-4 * full.abs().max().item(), rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_residual_layer_adds_its_input(bidirectional, gen):
    backbone = build("gru", "adding", layers=1, residual=True, bidirectional=bidirectional).backbone
    h = torch.randn(2, 5, WIDTH, generator=gen(5))
    (rnn,) = backbone.stack
    inner = rnn(h)[0]  # (B, L, D) or (B, L, 2D)
    expected = h + (backbone.merge[0](inner) if bidirectional else inner)
    torch.testing.assert_close(backbone(h), expected)


@pytest.mark.parametrize("model", RNN_FAMILIES)
def test_default_keeps_one_torch_module_and_its_weight_names(model):
    # `bench speed --bare` times backbone.rnn, and saved checkpoints hold these names.
    backbone = build(model, "adding", layers=2).backbone
    assert isinstance(backbone.rnn, nn.RNNBase) and backbone.rnn.num_layers == 2
    assert all(name.startswith("rnn.") for name, _ in backbone.named_parameters())


# ---- LSTM gate initialisation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "options", [{}, {"layers": 2, "residual": True}, {"layers": 2, "bidirectional": True}], ids=str
)
def test_chrono_initialisation(options):
    t_max = 50
    pairs = lstm_biases(build("lstm", "adding", chrono=t_max, **options))
    assert len(pairs) == options.get("layers", 1) * (2 if options.get("bidirectional") else 1)
    for b_ih, b_hh in pairs:
        g = gates(b_ih)
        assert (g["f"] >= 0).all() and (g["f"] <= math.log(t_max - 1)).all()
        assert g["f"].std() > 0  # drawn, not constant
        torch.testing.assert_close(g["i"], -g["f"])
        assert (g["g"] == 0).all() and (g["o"] == 0).all() and (b_hh == 0).all()


def test_chrono_draws_from_the_seeded_global_rng():
    first, again, other = (lstm_biases(build("lstm", "adding", seed=s, chrono=50))[0][0] for s in (0, 0, 1))
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("options", [{}, {"layers": 3, "residual": True, "bidirectional": True}], ids=str)
def test_forget_bias_sets_the_forget_gate(options):
    for b_ih, b_hh in lstm_biases(build("lstm", "adding", forget_bias=1.0, **options)):
        torch.testing.assert_close(gates(b_ih)["f"] + gates(b_hh)["f"], torch.ones(WIDTH))
        assert gates(b_ih)["i"].abs().sum() > 0  # the other gates keep torch's init


@pytest.mark.parametrize("model", ["rnn", "gru"])
@pytest.mark.parametrize("option", [{"chrono": 50}, {"forget_bias": 1.0}], ids=str)
def test_gate_init_is_lstm_only(model, option):
    (key,) = option
    with pytest.raises(ValueError, match=f"unknown {model} option '{key}'"):
        build(model, "adding", **option)


@pytest.mark.parametrize(
    ("model", "options", "words"),
    [
        ("lstm", {"chrono": 2}, "chrono must be 0 .off. or a T_max >= 3"),
        ("lstm", {"chrono": -5}, "chrono"),
        ("lstm", {"chrono": 50, "forget_bias": 1.0}, "forget_bias and chrono cannot be combined"),
        *[(model, {"layers": 0}, "layers must be between 1 and 64, got 0") for model in RNN_FAMILIES],
        ("lstm", {"bidirectional": 1}, "bidirectional must be of type bool"),
    ],
    ids=str,
)
def test_invalid_values_name_the_option(model, options, words):
    with pytest.raises(ValueError, match=words):
        build(model, "adding", **options)
