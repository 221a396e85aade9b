"""Autoregressive sampling from any model, one token at a time, through ``init_state``/``step`` alone.

The prompt (B, P) is fed step by step (``prefill``); then each sampled token is drawn from
softmax(logits / temperature) and fed back in (``decode``). Nothing here asks which family it
holds: a recurrent model carries a fixed-size state, the Transformer a key/value cache that grows
by one step per token, and the cost of a token follows from that alone. All randomness comes from
the ``torch.Generator`` passed in, so one seed gives the same tokens on every call.

A sampled class is fed back as an input token, so a task's output classes must be a subset of its
input vocabulary (``output_size <= input_size``, classes and tokens numbered alike), and the model
must stream: a family that reads the whole sequence before its first output cannot sample.

``window_figures`` turns per-token wall times into the figures ``python -m bench speed --generate``
reports at a generated length n: the median and IQR of the last 10% of the tokens before n (at least
``MIN_WINDOW`` of them), i.e. the latency of a token at about n, and the throughput of all n tokens.

Dimension letters: ``B`` batch, ``P`` prompt length, ``V`` vocabulary (output classes), ``N`` tokens.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from bench.measure.timing import timing_stats
from models.base import SequenceModel

MIN_WINDOW = 8  # tokens in the smallest latency window: fewer make a poor median
WINDOW_FRACTION = 0.1  # the window at generated length n: the last 10% of the tokens before n


class CannotSample(ValueError):
    """The model or its task cannot generate: its outputs cannot be fed back, or it cannot stream."""


def check_can_sample(model: SequenceModel) -> None:
    """Raises CannotSample, saying why, unless each sampled class can be fed back to a streaming model."""
    spec = model.spec
    if spec.input_kind != "tokens" or spec.output_kind != "classes":
        raise CannotSample(
            f"sampling needs token inputs and class outputs, fed back as tokens; this task has {spec.input_kind} "
            f"inputs and {spec.output_kind} outputs"
        )
    if spec.output_size > spec.input_size:
        raise CannotSample(
            f"sampling feeds each sampled class back as an input token, but the task has {spec.output_size} "
            f"classes and only {spec.input_size} input tokens"
        )
    if not model.streams:
        raise CannotSample(
            "this model cannot stream (it reads the whole sequence before its first output), so it cannot "
            "sample one token at a time"
        )


@torch.inference_mode()
def prefill(model: SequenceModel, prompt: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """The prompt (B, P) fed one step at a time: the logits (B, V) of the token after it, and the state."""
    check_can_sample(model)
    if prompt.ndim != 2 or prompt.shape[1] == 0:
        raise ValueError(f"the prompt must be (B, P) tokens with P >= 1, got shape {tuple(prompt.shape)}")
    state = model.init_state(prompt.shape[0])
    for x_t in prompt.unbind(1):  # unbind once, not prompt[:, t] per step
        logits, state = model.step(x_t, state)  # (B, V)
    return logits, state


@torch.inference_mode()
def decode(
    model: SequenceModel, logits: torch.Tensor, state: Any, *, temperature: float, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, Any]]:
    """Endless: each item is a sampled token (B,) and the state once it is fed back in.

    Each item costs one draw and one ``step``, so timing ``next()`` times one token, sampled and fed
    back. The state is consumed by the next item (a KV cache is written in place): copy what you keep.
    """
    while True:
        token = draw(logits, temperature, generator)  # (B,)
        logits, state = model.step(token, state)  # (B, V)
        yield token, state


def draw(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """One class per row of (B, V) logits from softmax(logits / temperature); (B,) int64."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    probs = F.softmax(logits.float() / temperature, dim=-1)  # fp32 even under bf16 autocast
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def sample(
    model: SequenceModel, prompt: torch.Tensor, n_tokens: int, *, temperature: float, generator: torch.Generator
) -> torch.Tensor:
    """``n_tokens`` tokens sampled after ``prompt`` (B, P): (B, N) int64."""
    logits, state = prefill(model, prompt)
    stream = decode(model, logits, state, temperature=temperature, generator=generator)
    tokens = [token for token, _ in itertools.islice(stream, n_tokens)]
    return torch.stack(tokens, dim=1) if tokens else prompt.new_empty(prompt.shape[0], 0)


def window(n: int) -> slice:
    """The tokens (0-based) whose latency is reported at generated length n: the last 10% before n, at least 8."""
    size = max(int(n * WINDOW_FRACTION), MIN_WINDOW)
    return slice(max(n - size, 0), n)


def window_figures(seconds: list[float], n: int, batch_size: int) -> dict[str, float]:
    """At generated length n: the median and IQR of a token's latency in its window, and tokens/s up to n.

    ``seconds`` are the per-token wall times of one stream of ``batch_size`` sequences, in order; tokens/s
    counts every sequence's tokens, the first n of each, over the time they took (the prompt apart).
    """
    if not 0 < n <= len(seconds):
        raise ValueError(f"no figures at n={n}: {len(seconds)} tokens were timed")
    stats = timing_stats(seconds[window(n)])
    elapsed = sum(seconds[:n])
    return {
        "token_ms": stats.median * 1e3,
        "token_ms_iqr": stats.iqr * 1e3,
        "window_tokens": stats.n,
        "elapsed_s": elapsed,
        "tokens_per_s": batch_size * n / elapsed,
    }
