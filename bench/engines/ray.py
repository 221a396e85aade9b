"""``--executor ray`` (optional extra ``seqbench[ray]``): each run a Ray task, its record returned to the sweep.

A task asks for ``--cpus-per-run`` CPUs and ``--gpus-per-run`` GPUs (Ray then sets the task's
``CUDA_VISIBLE_DEVICES``) and is never retried by Ray: a failed run is a record, and rerunning
it is the sweep's decision (``--retry-failed``). Inside the task the run executes in a child
process of its own, exactly as with the local subprocess executor, so time-outs, the memory
cap and out-of-memory records mean the same. Every node must have seqbench installed.
"""

from __future__ import annotations

from collections.abc import Callable

import ray

from bench.config.run import RunConfig
from bench.engines.base import InFlight
from bench.engines.isolation import run_isolated
from bench.engines.job import Job, failure_records
from bench.errors import ConfigError


class RayEngine:
    def __init__(self, config: RunConfig, task: Callable[[Job], list[dict]] | None = None):
        self._started_here = not ray.is_initialized()
        if self._started_here:  # an existing cluster (--ray-address), or a local one started for this sweep
            try:
                ray.init(address=config.ray_address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"ray_address: cannot start or join Ray: {_last_line(exc)}") from None
        options = {"num_cpus": config.cpus_per_run or 1, "num_gpus": config.run_gpus, "max_retries": 0}
        self._task = ray.remote(task or run_isolated).options(**options)
        self.workers = config.max_workers
        self._in_flight = InFlight()

    def run(self, job: Job) -> list[dict]:
        ref = self._task.remote(job)
        try:
            with self._in_flight.holding(ref):
                return ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return failure_records(job, "error", "cancelled: the sweep was interrupted")
        except ray.exceptions.RayError as exc:  # the task raised, or its worker or node died
            return failure_records(job, "error", f"{type(exc).__name__}: {_last_line(exc)}")

    def cancel(self) -> None:
        for ref in self._in_flight.handles():
            ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started_here:
            ray.shutdown()


def _last_line(exc: Exception) -> str:
    """Ray wraps a task's exception in a traceback; its last line names the original error."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
