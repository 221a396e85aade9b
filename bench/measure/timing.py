"""Timing as ``torch.utils.benchmark`` does it: synchronise the device around the clock, report the
median and interquartile range of repeats, and keep the statistics pure (unit-tested on exact numbers)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch

T = TypeVar("T")


@dataclass(frozen=True)
class TimingStats:
    median: float
    iqr: float
    n: int


def timing_stats(samples: list[float]) -> TimingStats:
    """Median and interquartile range (inclusive quartiles, as numpy's default)."""
    if not samples:
        raise ValueError("timing_stats needs at least one sample")
    if len(samples) == 1:
        return TimingStats(samples[0], 0.0, 1)
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return TimingStats(statistics.median(samples), q3 - q1, len(samples))


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so a timer measures the work and not its launch."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_call(call: Callable[[], T], device: str) -> tuple[T, float]:
    """The call's result and its wall seconds, the device synchronised before the clock starts and stops."""
    synchronize(device)
    start = time.perf_counter()
    result = call()
    synchronize(device)
    return result, time.perf_counter() - start


def timed(stream: Iterator[T], device: str) -> Iterator[tuple[T, float]]:
    """Each item of ``stream`` with the wall seconds it took, the device synchronised before the clock stops."""
    while True:
        synchronize(device)  # work queued earlier is not charged to this item
        start = time.perf_counter()
        try:
            item = next(stream)
        except StopIteration:
            return
        synchronize(device)
        yield item, time.perf_counter() - start
