"""``run_sweep``: plan the runs, execute those not stored yet, store every record.

A sweep resumes by construction: runs whose ``run_key`` already has a record in the folder are not
run again (failed ones are, with ``retry_failed``). After an out-of-memory run, the longer lengths
of the same model are recorded as ``skipped`` instead of being attempted, unless ``skip_after_oom``
is off. With ``pack``, the runs of a model and length that differ only in seed and learning rate train
together as one job (``bench.sweep.packing``); their records are the unpacked runs'. Printing the summary
and writing the report are the caller's (the CLI's) business.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from bench.config.run import RunConfig
from bench.engines.base import Engine
from bench.engines.job import Job
from bench.engines.pipeline import SkipRule, run_jobs
from bench.engines.select import make_engine
from bench.measure.environment import invocation
from bench.store.jsonl import append_invocation, append_record, latest_by_key, locked, read_records
from bench.sweep.packing import pack_jobs
from bench.sweep.plan import RunSpec, plan, threads_per_run
from bench.sweep.training import TrainingJob


def run_sweep(config: RunConfig, *, progress: bool = True) -> list[dict]:
    """Run every planned run of ``config`` not yet stored in ``config.out_dir``; returns the planned runs' records
    (the newest of each), in plan order."""
    specs = plan(config)
    engine = make_engine(config, progress)  # first: an engine that cannot start is a bad input, nothing written
    try:
        _run_planned(config, specs, engine, progress)
    finally:
        engine.close()
    records = latest_by_key(read_records(config.out_dir))
    return [records[s.run_key] for s in specs if s.run_key in records]


def _run_planned(config: RunConfig, specs: list[RunSpec], engine: Engine, progress: bool) -> None:
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir):
        append_invocation(out_dir, _invocation(config, specs))
        stored = latest_by_key(read_records(out_dir))
        todo = [s for s in specs if _needs_run(stored.get(s.run_key), config.retry_failed)]
        if len(todo) < len(specs):
            print(f"Resuming in {out_dir}: {len(specs) - len(todo)} of {len(specs)} runs already stored")
        try:
            _execute(config, todo, stored, engine, progress)
        except KeyboardInterrupt:
            kept = sum(1 for s in specs if s.run_key in latest_by_key(read_records(out_dir)))
            print(f"\nInterrupted: {kept} of {len(specs)} runs stored in {out_dir}; run the same command to resume.")
            raise


def _needs_run(stored: dict | None, retry_failed: bool) -> bool:
    return stored is None or (retry_failed and stored.get("status") != "ok")


def _execute(config: RunConfig, todo: list[RunSpec], stored: dict[str, dict], engine: Engine, progress: bool) -> None:
    """Every run through the engine, each record stored as it comes back."""
    bar = tqdm(total=len(todo), desc=f"{config.task} sweep", unit="run", disable=None if progress else True)

    def store(job: Job, records: list[dict]) -> None:
        for record in records:
            append_record(config.out_dir, record)  # the sweep alone writes the store
        bar.update(len(records))
        bar.set_postfix_str(f"{job.describe()}: {records[0]['status']}")

    out_of_memory = SkipRule(
        predicts=lambda records: records[0]["status"] == "oom",  # longer lengths would run out too
        reason=lambda job, length: f"not attempted: {job.series} ran out of memory at T={length} "
        "(see --no-skip-after-oom)",
    )
    failed_before = [(r["model"], r["seq_len"]) for r in stored.values() if r.get("status") == "oom"]
    try:
        jobs = pack_jobs(todo) if config.pack else [TrainingJob(spec) for spec in todo]
        run_jobs(jobs, engine, store, out_of_memory if config.skip_after_oom else None, failed_before)
    finally:
        bar.close()


def _invocation(config: RunConfig, specs: list[RunSpec]) -> dict:
    """This sweep's entry in the folder's manifest: the common provenance, the plan, and the threads each run gets."""
    entry = invocation("run", config.model_dump(mode="json"), config.resolved_device)
    entry["determinism"]["threads"] = threads_per_run(config) or torch.get_num_threads()
    entry["determinism"]["numerics"] = config.numerics
    return {**entry, "device": config.resolved_device, "n_runs": len(specs), "run_keys": [s.run_key for s in specs]}
