"""What an engine is: it turns a job into its records, runs up to ``workers`` at once, and never raises for a
failed job. The command that owns the engine alone writes the records."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol

from bench.engines.job import Job


class Engine(Protocol):
    workers: int  # jobs in flight at most

    def run(self, job: Job) -> list[dict]: ...  # blocks until the job's records are back; never raises for a job

    def cancel(self) -> None: ...  # stop every job in flight (Ctrl-C); their run() calls then return

    def close(self) -> None: ...


class InFlight:
    """The handles (Ray object refs, SLURM jobs) of the jobs in flight, shared by the parent's threads."""

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
