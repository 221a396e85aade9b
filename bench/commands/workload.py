"""What a cost measurement runs: random inputs of a task's spec, a training step on them, and a warm-up.

Inputs are random tokens (or reals) of the spec at exactly the given length; their values do not change
the cost, except through denormals, which are flushed on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import models
from tasks.base import TaskSpec


def random_batch(spec: TaskSpec, batch_size: int, length: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of the spec's kinds: (B, L) tokens or (B, L, C) reals; (B, L) classes or (B, L, 1).
    Drawn on the CPU, as every harness input is, then moved to ``device``."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    if spec.input_kind == "tokens":
        x = torch.randint(spec.input_size, (batch_size, length), generator=generator)
    else:
        x = torch.rand(batch_size, length, spec.input_size, generator=generator)
    if spec.output_kind == "classes":
        y = torch.randint(spec.output_size, (batch_size, length), generator=generator)
    else:
        y = torch.rand(batch_size, length, spec.output_size, generator=generator)
    return x.to(device), y.to(device)


def training_step(
    model: torch.nn.Module,
    spec: TaskSpec,
    x: torch.Tensor,
    y: torch.Tensor,
    autocast: torch.autocast,
    *,
    capturable: bool = False,
) -> Callable[[], None]:
    """One AdamW step on (x, y); ``capturable``: an optimiser whose step a CUDA graph can capture."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, capturable=capturable)
    classes = spec.output_kind == "classes"

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            out = model(x, targets=y)  # the trainer's call: an encoder-decoder reads the targets
            loss = F.cross_entropy(out.flatten(0, 1), y.flatten()) if classes else F.mse_loss(out, y)
        loss.backward()
        optimizer.step()

    return step


def member_losses(spec: TaskSpec) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The (G,) losses of G members' outputs (G, B, L, C) on their targets, each member's as ``training_step``'s."""
    classes = spec.output_kind == "classes"

    def losses(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        members = out.shape[0]
        if classes:
            return F.cross_entropy(out.flatten(0, 2), y.flatten(), reduction="none").view(members, -1).mean(1)
        return F.mse_loss(out, y, reduction="none").view(members, -1).mean(1)

    return losses


def captured(step: Callable[[], None], warm_steps: int = 3) -> Callable[[], None]:
    """The step captured in a CUDA graph, as a replay: one launch for all its kernels. As in PyTorch's
    whole-network capture recipe: a few eager steps on a side stream first (allocator and autotuning), then
    the capture; gradients set to None before it, so the captured backward writes rather than accumulates.
    The step's optimiser must be ``capturable``."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warm_steps):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


def warm_up(job: Any, spec: TaskSpec) -> None:
    """A tiny step of the job's family first, so one-time library loading is not charged to the figures.

    ``job`` names the family (``model``, ``model_options``), the ``device`` and the ``precision``."""
    model = models.build_model(job.model, spec, width=8, **job.model_options).to(job.device)
    x, y = random_batch(spec, 2, 4 + (spec.answer_length or 0), job.device)  # an encoder-decoder needs a source
    autocast = torch.autocast(job.device, dtype=torch.bfloat16, enabled=job.precision == "bf16")
    training_step(model, spec, x, y, autocast)()
