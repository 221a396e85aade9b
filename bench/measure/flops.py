"""Achieved arithmetic against what the device can do: the FLOPs of one call, and the device's measured
matmul throughput at the same precision and threads.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode``, which counts matrix products,
convolutions and attention (forward and backward), not elementwise work, FFTs or scans. For a model
whose work is mostly matmuls (the Transformer, the MLP-heavy blocks) the count is its arithmetic; for
one built on FFT convolutions or scans it is a lower bound. Either way achieved / peak says how far a
step is from the device's limit: a few percent means launches or memory traffic, not arithmetic, bound it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.measure.timing import timed_call, timing_stats

MATMUL_SIZES = {"cpu": 2048, "cuda": 8192}  # the largest square matmul timed: enough to reach the device's rate
LONG_ENOUGH_S = 0.02  # a call this long is timed reliably, so the size stops growing there
MATMUL_REPEATS = 5


def count_flops(call: Callable[[], object]) -> int:
    """The matmul, convolution and attention FLOPs of one call (it runs once)."""
    with FlopCounterMode(display=False) as counter:
        call()
    return int(counter.get_total_flops())


def matmul_peak(device: str, dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of a square matmul on ``device`` at ``dtype``, with this process's thread count: the size doubles
    from 256 until one call takes ``LONG_ENOUGH_S`` (or reaches ``MATMUL_SIZES``), then the median of
    ``MATMUL_REPEATS`` calls after a warm-up. The cap on time keeps a slow path (bf16 on a CPU without bf16
    instructions) from costing seconds a configuration."""
    largest = MATMUL_SIZES["cuda" if device.startswith("cuda") else "cpu"]
    generator = torch.Generator().manual_seed(0)
    n = 256
    while True:
        a, b = (torch.randn(n, n, generator=generator).to(device=device, dtype=dtype) for _ in range(2))
        product = functools.partial(torch.matmul, a, b)
        timed_call(product, device)  # warm-up
        if n >= largest or timed_call(product, device)[1] >= LONG_ENOUGH_S:
            break
        n *= 2
    seconds = timing_stats([timed_call(product, device)[1] for _ in range(MATMUL_REPEATS)]).median
    return 2 * n**3 / seconds
