"""Peak memory of a run or a measurement, in MiB.

CPU peak memory is the growth of the process's peak resident set (``ru_maxrss``) over
its size at the start of the run, which is meaningful only in a fresh (forked) process
per run; ``tracemalloc`` does not see torch allocations. A job warms torch up with a
tiny step first: the first op of a process maps ~110 MB of kernels and libraries, a
constant that would otherwise hide how memory grows with length. The peak is then reset
(``/proc/self/clear_refs``) so it covers the run alone. GPU peak memory is
``max_memory_allocated`` after a reset.
"""

from __future__ import annotations

import os
import resource

import torch


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def cap_address_space(extra_mb: int) -> None:
    """Let this process map at most ``extra_mb`` MiB more than it maps now (soft ``RLIMIT_AS``).

    Past it an allocation fails: torch raises its out-of-memory ``RuntimeError``, which the
    job records as ``oom``. Meant for a run's own child process, never the sweep's.
    """
    with open("/proc/self/statm") as f:
        mapped_pages = int(f.read().split()[0])
    limit = mapped_pages * os.sysconf("SC_PAGE_SIZE") + extra_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class PeakMemory:
    """Peak memory of the work done between ``start()`` and ``stop()``, in MiB."""

    def __init__(self, device: str, fresh_process: bool):
        self.device = device
        self.fresh_process = fresh_process
        self._rss_at_start = 0.0

    @property
    def method(self) -> str:
        if self.device.startswith("cuda"):
            return "cuda_max_memory_allocated"
        return "ru_maxrss_delta" if self.fresh_process else "none"

    def start(self) -> None:
        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        elif self.fresh_process:
            _reset_peak_rss()
        self._rss_at_start = current_rss_mb()

    def stop(self) -> float | None:
        if self.device.startswith("cuda"):
            return torch.cuda.max_memory_allocated() / 2**20
        if not self.fresh_process:
            return None  # a shared process's peak includes earlier runs: no honest number
        return max(max_rss_mb() - self._rss_at_start, 0.0)


def _reset_peak_rss() -> None:
    """Set the peak resident set back to the current one (Linux >= 4.0); a no-op where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
