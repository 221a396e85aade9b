"""Running a command's jobs through an engine: in plan order, up to ``workers`` at once, each job's records
handed back as they come (the caller stores them). After a failure at one length of a series, the longer
lengths of that series are not attempted: they get ``skipped`` records saying why."""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from bench.engines.base import Engine
from bench.engines.cutoff import ShortestFailure
from bench.engines.job import Job, failure_records


@dataclass(frozen=True)
class SkipRule:
    """When a failure at one length predicts failure at the longer ones of the same ``job.series``."""

    predicts: Callable[[list[dict]], bool]  # from a job's records: will longer lengths fail too?
    reason: Callable[[Job, int], str]  # the error of a job skipped after a failure at that length


def run_jobs(
    jobs: list[Job],
    engine: Engine,
    store: Callable[[Job, list[dict]], None],
    skip: SkipRule | None = None,
    failed_before: Iterable[tuple[Hashable, int]] = (),
) -> None:
    """Keep up to ``engine.workers`` jobs in flight, in plan order; ``store`` each job's records as they come back,
    in plan order among those done at once. ``failed_before``: (series, length) failures already stored."""
    failures = ShortestFailure()
    for series, length in failed_before:
        failures.add(series, length)
    waiting = collections.deque(jobs)
    position = {id(job): i for i, job in enumerate(jobs)}

    def finish(job: Job, records: list[dict]) -> None:
        if skip is not None and getattr(job, "series", None) is not None and skip.predicts(records):
            failures.add(job.series, job.length)
        store(job, records)

    def blocked(job: Job) -> int | None:
        series = getattr(job, "series", None)
        return failures.blocking(series, job.length) if skip is not None and series is not None else None

    in_flight: dict[Future, Job] = {}
    in_this_thread = getattr(engine, "in_this_thread", False)
    pool = None if in_this_thread else ThreadPoolExecutor(engine.workers, thread_name_prefix="job")
    try:
        while waiting or in_flight:
            while waiting and len(in_flight) < engine.workers:
                job = waiting.popleft()
                failed_at = blocked(job)
                if failed_at is not None:
                    finish(job, failure_records(job, "skipped", skip.reason(job, failed_at)))
                elif pool is None:
                    finish(job, engine.run(job))  # inline: in this thread, so Ctrl-C reaches the job itself
                else:
                    in_flight[pool.submit(engine.run, job)] = job
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED) if in_flight else (set(), set())
            for future in sorted(done, key=lambda f: position[id(in_flight[f])]):
                finish(in_flight.pop(future), future.result())
    except BaseException:
        engine.cancel()  # Ctrl-C or a bug here: no job may outlive the command
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
