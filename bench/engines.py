"""Engines: what executes a sweep's runs, and how many at once. The sweep alone writes the store.

Every engine turns a ``RunSpec`` into a record and never raises for a failed run. ``inline``
runs in the sweep's own process, one at a time (tests, debugging). ``subprocess`` runs each
in a child process, ``workers`` at once, each waited on by a thread of the sweep; on CUDA each
worker slot owns one GPU. ``ray`` and ``slurm`` (optional extras) send each run to a Ray task
or a SLURM job, where it again runs in a child process of its own, so time-outs, out-of-memory
and failure records mean the same on every engine, and a sweep can be resumed on another.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Protocol

import torch

from bench.config import SweepConfig
from bench.executor import kill_all, run_inline, run_subprocess
from bench.plan import RunSpec


class Engine(Protocol):
    workers: int  # runs in flight at most

    def run(self, spec: RunSpec) -> dict: ...  # blocks until the run's record is back; never raises for a run

    def cancel(self) -> None: ...  # stop every run in flight (Ctrl-C); their run() calls then return

    def close(self) -> None: ...


class InFlight:
    """The handles (Ray object refs, SLURM jobs) of the runs in flight, shared by the sweep's threads."""

    def __init__(self) -> None:
        self._handles: set = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def holding(self, handle) -> Iterator[None]:
        with self._lock:
            self._handles.add(handle)
        try:
            yield
        finally:
            with self._lock:
                self._handles.discard(handle)

    def handles(self) -> list:
        with self._lock:
            return list(self._handles)


class InlineEngine:
    workers = 1

    def __init__(self, progress: bool):
        self.progress = progress

    def run(self, spec: RunSpec) -> dict:
        return run_inline(spec, self.progress)

    def cancel(self) -> None:
        pass  # the run is in this thread: Ctrl-C stops it directly

    def close(self) -> None:
        pass


class LocalEngine:
    """Up to ``workers`` child processes at once; with several GPUs, a worker slot per GPU."""

    def __init__(self, workers: int, device: str, progress: bool):
        self.workers = workers
        self.progress = progress and workers == 1  # several runs' step bars would garble one terminal
        self._gpus: queue.Queue[int | None] = queue.Queue()
        for slot in gpu_slots(workers, device):
            self._gpus.put(slot)

    def run(self, spec: RunSpec) -> dict:
        gpu = self._gpus.get()
        try:
            return run_subprocess(spec, self.progress, gpu)
        finally:
            self._gpus.put(gpu)

    def cancel(self) -> None:
        kill_all()

    def close(self) -> None:
        pass


def gpu_slots(workers: int, device: str) -> list[int | None]:
    """One GPU per worker on a multi-GPU CUDA machine (slot i gets GPU i mod count); else no pinning."""
    count = torch.cuda.device_count() if device == "cuda" else 0
    if workers == 1 or count <= 1:
        return [None] * workers
    return [slot % count for slot in range(workers)]


def make_engine(config: SweepConfig, progress: bool) -> Engine:
    if config.executor == "inline":
        return InlineEngine(progress)
    if config.executor == "ray":
        from bench.engine_ray import RayEngine  # the optional extra loads only when asked for

        return RayEngine(config)
    if config.executor == "slurm":
        from bench.engine_slurm import SlurmEngine

        return SlurmEngine(config)
    return LocalEngine(config.max_workers, config.resolved_device, progress)
