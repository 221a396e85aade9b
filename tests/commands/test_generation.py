"""Autoregressive sampling: reproducible from a generator, greedy at low temperature, through ``init_state`` and
``step`` only; refused for a task whose outputs cannot be fed back or a model that cannot stream; and the
figures of a window of token times."""

from __future__ import annotations

import pytest
import torch

import models
import tasks
from bench.commands.generation import CannotSample, sample, window, window_figures
from models.base import SequenceModel
from tasks.base import TaskSpec
from tests.helpers import generator

SPEC = tasks.get_task("copying").spec  # 10 input tokens, 10 output classes


def tiny_model(name: str, spec: TaskSpec = SPEC) -> SequenceModel:
    torch.manual_seed(0)
    return models.build_model(name, spec, width=8).eval()


def prompt(batch: int = 3, length: int = 4) -> torch.Tensor:
    return torch.randint(SPEC.input_size, (batch, length), generator=generator(9))


def streaming_model(name: str) -> SequenceModel:
    """The family's tiny model; a family that cannot stream must be refused, and its test stops there."""
    model = tiny_model(name)
    if not model.streams:
        with pytest.raises(CannotSample, match="cannot stream"):
            sample(model, prompt(), 4, temperature=1.0, generator=generator(0))
        pytest.skip(f"{name} cannot stream: refused, as it must be")
    return model


def test_sampling_is_reproducible_from_the_generator_and_stays_in_the_vocabulary(model_name):
    model = streaming_model(model_name)
    tokens = sample(model, prompt(), 12, temperature=1.0, generator=generator(0))
    assert tokens.shape == (3, 12) and tokens.dtype == torch.int64
    assert ((tokens >= 0) & (tokens < SPEC.output_size)).all()
    assert torch.equal(tokens, sample(model, prompt(), 12, temperature=1.0, generator=generator(0)))
    assert not torch.equal(tokens, sample(model, prompt(), 12, temperature=1.0, generator=generator(1)))


def greedy_by_forward(model: SequenceModel, prompt: torch.Tensor, n_tokens: int) -> torch.Tensor:
    """Greedy decoding the slow way: the whole sequence through forward for every token."""
    sequence = prompt
    with torch.no_grad():
        for _ in range(n_tokens):
            next_token = model(sequence)[:, -1].argmax(-1)  # (B,)
            sequence = torch.cat([sequence, next_token[:, None]], dim=1)
    return sequence[:, prompt.shape[1] :]


def test_near_zero_temperature_is_greedy_decoding(model_name):
    model = streaming_model(model_name)
    tokens = sample(model, prompt(), 6, temperature=1e-4, generator=generator(0))
    assert torch.equal(tokens, greedy_by_forward(model, prompt(), 6))


def test_sampling_uses_only_init_state_and_step(model_name):
    model = streaming_model(model_name)

    def no_forward(*args, **kwargs):
        raise AssertionError("sampling called forward")

    model.forward = no_forward
    assert sample(model, prompt(), 5, temperature=1.0, generator=generator(0)).shape == (3, 5)


@pytest.mark.parametrize("spec, words", [
    (tasks.get_task("adding").spec, "token inputs and class outputs"),
    (TaskSpec("tokens", 5, "classes", 8, "all"), "8 classes and only 5 input tokens"),
])  # fmt: skip
def test_a_task_whose_outputs_cannot_be_fed_back_is_refused(spec, words):
    model = tiny_model("lstm", spec)
    x = torch.zeros(2, 3, spec.input_size) if spec.input_kind == "real" else torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=words):
        sample(model, x, 4, temperature=1.0, generator=generator(0))


def test_a_model_that_cannot_stream_is_refused(monkeypatch):
    monkeypatch.setattr(SequenceModel, "streams", property(lambda self: False))
    with pytest.raises(CannotSample, match="cannot stream"):
        sample(tiny_model("lstm"), prompt(), 4, temperature=1.0, generator=generator(0))


def test_window_figures_are_the_median_of_the_last_tenth_and_the_throughput_so_far():
    assert window(5) == slice(0, 5) and window(20) == slice(12, 20) and window(1000) == slice(900, 1000)
    seconds = [k / 1000 for k in range(1, 21)]  # token k took k ms
    figures = window_figures(seconds, 20, batch_size=4)
    assert figures["token_ms"] == pytest.approx(16.5)  # median of 13..20 ms
    assert figures["token_ms_iqr"] == pytest.approx(3.5)  # inclusive quartiles 14.75 and 18.25
    assert figures["window_tokens"] == 8
    assert figures["elapsed_s"] == pytest.approx(0.21)
    assert figures["tokens_per_s"] == pytest.approx(4 * 20 / 0.21)
    with pytest.raises(ValueError, match="n=21: 20 tokens"):
        window_figures(seconds, 21, batch_size=4)
