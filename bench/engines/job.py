"""The one job protocol: every command's work is a list of jobs that the engines run the same way.

A job runs in a worker (a process of its own, on this machine or a cluster node) and returns its
records; the parent alone writes them. A job that gives no records (it raised, was killed at its
time limit, ran the machine out of memory, or was not attempted) gets failure records instead, one
per record it would have given, built by ``bench.store.records.failure_record`` from its identities.

Optional attributes: ``series`` and ``length`` (a failure at one length of a series predicts one at
longer lengths, so the pipeline can skip those), ``numerics`` (the CPU kernel paths the forkserver its
worker forks from starts under: ``bench.engines.isolation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bench.measure.torch_setup import failure_status
from bench.store.records import failure_record


@dataclass(frozen=True)
class Context:
    """How the worker runs a job: in a fresh process of its own (so its peak memory is its own), with or without
    a progress bar of its own."""

    fresh_process: bool
    progress: bool


class Job(Protocol):
    timeout_s: float | None  # a worker past this many seconds is killed and its job recorded as timeout

    def identities(self) -> list[dict]:
        """One per record the job gives: the fields each has whatever happens (its schema included)."""
        ...

    def measure(self, context: Context) -> list[dict]:
        """The job's records, with their figures; may raise."""
        ...

    def describe(self) -> str:
        """A few words for a progress bar."""
        ...


def failure_records(job: Job, status: str, error: str) -> list[dict]:
    return [failure_record(identity, status, error) for identity in job.identities()]


def execute(job: Job, context: Context) -> list[dict]:
    """The job's records, or its failure records; never raises (a failing job is a result, not a crash)."""
    try:
        return job.measure(context)
    except Exception as exc:  # noqa: BLE001 - any failure of one job is recorded, never fatal to the others
        return failure_records(job, failure_status(exc), f"{type(exc).__name__}: {exc}")
