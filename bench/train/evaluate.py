"""Evaluation on a fixed set: generated once from its own seed, scored in batches without gradients."""

from __future__ import annotations

import torch
from torch import nn

from tasks import Batch, Task

EVAL_BATCH = 256


def make_eval_set(
    task: Task, size: int, seq_len: int, generator: torch.Generator, device: str = "cpu"
) -> list[Batch]:
    """A fixed evaluation set, drawn once on the CPU from ``generator``, in batches kept on ``device``."""
    sizes = [min(EVAL_BATCH, size - start) for start in range(0, size, EVAL_BATCH)]
    return [task.sample(n, seq_len, generator=generator).to(device) for n in sizes]


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, batches: list[Batch]) -> dict[str, float]:
    """Metrics averaged over every sequence of the set."""
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    for batch in batches:
        size = batch.x.shape[0]
        for name, value in task.metrics(model(batch.x), batch).items():
            totals[name] = totals.get(name, 0.0) + value.item() * size
        count += size
    model.train(was_training)
    return {name: total / count for name, total in totals.items()}
