"""``--executor slurm`` (optional extra ``seqbench[slurm]``): each run a SLURM job, submitted through submitit.

A job asks for ``--cpus-per-run`` CPUs, ``--gpus-per-run`` GPUs, ``--time-min`` minutes on
``--partition``; its record comes back to the sweep through submitit's pickles in
``<out>/slurm/`` (with each job's logs). A job killed at its time limit is a ``timeout``
record, any other lost job an ``error`` record. ``--slurm-cluster local`` runs the same jobs
as local processes, to try a configuration without a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import submitit

from bench.config.run import RunConfig
from bench.engines.base import InFlight
from bench.engines.isolation import run_isolated
from bench.engines.job import Job, failure_records
from bench.errors import ConfigError

DEFAULT_TIME_MIN = 60


class SlurmEngine:
    def __init__(self, config: RunConfig, task: Callable[[Job], list[dict]] | None = None):
        try:
            self._executor = submitit.AutoExecutor(folder=config.out_dir / "slurm", cluster=config.slurm_cluster)
        except Exception as exc:  # noqa: BLE001 - no SLURM here: sbatch missing, or not a SLURM node
            message = f"executor: slurm: {_first_line(exc)}; --slurm-cluster local runs the jobs on this machine"
            raise ConfigError(message) from None
        parameters = {
            "name": "seqbench",
            "timeout_min": config.time_min or DEFAULT_TIME_MIN,
            "cpus_per_task": config.cpus_per_run or 1,
            "gpus_per_node": int(config.run_gpus),
        }
        if config.partition is not None:
            parameters["slurm_partition"] = config.partition
        self._executor.update_parameters(**parameters)
        self._task = task or run_isolated  # looked up now, so tests can plant a failing one
        self.workers = config.max_workers
        self._in_flight = InFlight()

    def run(self, job: Job) -> list[dict]:
        submitted = self._executor.submit(self._task, job)
        where = f"SLURM job {submitted.job_id}"
        try:
            with self._in_flight.holding(submitted):
                return submitted.result()
        except submitit.core.utils.FailedJobError as exc:  # the job raised: its traceback ends with the error
            return failure_records(job, "error", f"{where}: {_last_line(exc)}")
        except submitit.core.utils.UncompletedJobError as exc:  # killed: time limit, preemption, node failure
            status = "timeout" if "TIMEOUT" in str(exc) else "error"
            return failure_records(job, status, f"{where}: {_first_line(exc)}")
        except Exception as exc:  # noqa: BLE001 - any other way of losing the job is a record too
            return failure_records(job, "error", f"{where}: {type(exc).__name__}: {_first_line(exc)}")

    def cancel(self) -> None:
        for submitted in self._in_flight.handles():
            submitted.cancel(check=False)

    def close(self) -> None:
        pass


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b")


def _last_line(exc: Exception) -> str:
    """The job's own error from submitit's message (its traceback, then the log paths): the last 'XError: ...' line."""
    lines = [line.strip() for line in str(exc).splitlines()]
    errors = [line for line in lines if ERROR_LINE.match(line)]
    return errors[-1] if errors else _first_line(exc)
