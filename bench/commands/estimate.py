"""What a sweep would cost on this machine: training steps of each model, timed here, scaled to the sweep.

Each model's step is timed with one thread at two batch sizes (``BATCHES``) and two lengths (``LENGTHS``).
A step is modelled as a fixed cost plus a cost per sequence, (a + k B), scaled in the length by the
exponent the two lengths show (clipped to 1..2: a recurrent model is linear, attention's fused kernel
still does L x L work on a CPU). Scaling the small batch's time linearly in the batch, as this did first,
counted its fixed cost (dispatch, the optimizer) once per sequence and overestimated a batch-32 sweep
about fivefold. Evaluation adds ``EVAL_SHARE``, and each run ``PER_RUN_S`` of start-up. An estimate to
plan by, within a factor of about two on an idle machine; the README quotes measured wall times.
"""

from __future__ import annotations

import functools
import math

import torch

import models
import tasks
from bench.commands.workload import random_batch, training_step
from bench.config.run import RunConfig
from bench.measure.timing import timed_call, timing_stats

BATCHES, LENGTHS, EVAL_SHARE, PER_RUN_S = (4, 16), (128, 256), 0.15, 2.0


@functools.cache
def _step_seconds(model: str, spec: tasks.TaskSpec, params: int, options: tuple, width: int | None, batch: int,
                  length: int) -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a busy machine's spinning OpenMP threads would swamp steps this small
    try:
        torch.manual_seed(0)
        size = {"width": width} if width is not None else {"target_params": params}
        net = models.build_model(model, spec, **size, **dict(options))
        x, y = random_batch(spec, batch, length, "cpu")
        step = training_step(net, spec, x, y, torch.autocast("cpu", enabled=False))
        step()  # the first call pays for lazy initialisation
        return timing_stats([timed_call(step, "cpu")[1] for _ in range(3)]).median
    finally:
        torch.set_num_threads(threads)


def step_seconds(model: str, spec: tasks.TaskSpec, params: int, options: dict, batch: int, length: int,
                 width: int | None = None) -> float:
    """A training step's estimated seconds at this batch and total length (at ``width`` when one is fixed)."""
    key = (model, spec, params, tuple(sorted(options.items())), width)
    (small, large), long = BATCHES, LENGTHS[1]
    short_time, long_time = (_step_seconds(*key, small, n) for n in LENGTHS)
    large_time = _step_seconds(*key, large, long)
    per_sequence = max(large_time - long_time, 0.0) / (large - small)
    fixed = max(long_time - small * per_sequence, 0.0)
    exponent = min(max(math.log(long_time / short_time) / math.log(long / LENGTHS[0]), 1.0), 2.0)
    return (fixed + per_sequence * batch) * (length / long) ** exponent


def sweep_seconds(config: RunConfig) -> float:
    """The sweep's estimated wall seconds on this machine's CPU, one run at a time."""
    task = tasks.get_task(config.task, **config.task_arguments)
    runs = len(config.seeds) * len(config.lrs)
    total = 0.0
    for model in config.models:
        for seq_len in config.lengths:
            step = step_seconds(model, task.spec, config.params, config.options_of(model), config.batch_size,
                                task.total_length(seq_len), config.widths.get(model))  # fmt: skip
            total += runs * (config.steps * step * (1 + EVAL_SHARE) + PER_RUN_S)
    return total


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h" if seconds < 96 * 3600 else f"{seconds / 86400:.0f} days"
