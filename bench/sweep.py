"""``run_sweep``: plan the runs, execute what is not stored yet, store every record, summarise.

A sweep resumes by construction: runs whose ``run_key`` already has a record in the
folder are not run again (failed ones are, with ``retry_failed``). After an out-of-memory
run, the longer lengths of the same model are recorded as ``skipped`` instead of being
attempted, unless ``skip_after_oom`` is off.
"""

from __future__ import annotations

import collections
import importlib.metadata
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path

import torch
from tqdm.auto import tqdm

from bench.config import SweepConfig
from bench.cutoff import ShortestFailure
from bench.engines import Engine, make_engine
from bench.env import environment
from bench.plan import SCHEMA_VERSION, RunSpec, plan, threads_per_run
from bench.runner import failed_record
from bench.store import RUNS_FILE, append_record, latest_by_key, locked, read_records, write_manifest
from bench.summary import render_summary

PACKAGES = ["torch", "einops", "numpy", "pandas", "pydantic", "seaborn", "tqdm"]


def run_sweep(config: SweepConfig, *, progress: bool = True) -> Path:
    """Run every planned run of ``config`` not yet stored in ``config.out_dir``; returns that folder."""
    specs = plan(config)
    out_dir = config.out_dir
    engine = make_engine(config, progress)  # first: an engine that cannot start is a bad input, nothing written
    try:
        _run_planned(config, specs, engine, progress)
    finally:
        engine.close()
    records = latest_by_key(read_records(out_dir))
    planned = [records[s.run_key] for s in specs if s.run_key in records]
    print(render_summary(planned, config.task, config.task_params))
    print(f"\nResults: {out_dir / RUNS_FILE} ({len(planned)} runs)")
    if config.report:
        from bench.report import write_report  # seaborn and matplotlib load only when a report is wanted

        write_report(out_dir)
    return out_dir


def _run_planned(config: SweepConfig, specs: list[RunSpec], engine: Engine, progress: bool) -> None:
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir):
        write_manifest(out_dir, _manifest(config, specs))
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


def _execute(config: SweepConfig, todo: list[RunSpec], stored: dict[str, dict], engine: Engine, progress: bool) -> None:
    """Keep up to ``workers`` runs in flight, in plan order; store each record as it comes back."""
    out_of_memory = ShortestFailure()  # per model: longer lengths would run out too
    for record in stored.values():
        if record.get("status") == "oom":
            out_of_memory.add(record["model"], record["seq_len"])
    waiting = collections.deque(todo)
    position = {spec.run_key: i for i, spec in enumerate(todo)}
    bar = tqdm(total=len(todo), desc=f"{config.task} sweep", unit="run", disable=None if progress else True)

    def store(spec: RunSpec, record: dict) -> None:
        if record["status"] == "oom":
            out_of_memory.add(spec.model, spec.seq_len)
        append_record(config.out_dir, record)  # the sweep alone writes the store
        bar.update()
        bar.set_postfix_str(f"{spec.model} T={spec.seq_len} lr={spec.lr:g}: {record['status']}")

    in_flight: dict[Future, RunSpec] = {}
    pool = ThreadPoolExecutor(engine.workers, thread_name_prefix="run") if config.executor != "inline" else None
    try:
        while waiting or in_flight:
            while waiting and len(in_flight) < engine.workers:
                spec = waiting.popleft()
                oom_length = out_of_memory.blocking(spec.model, spec.seq_len) if config.skip_after_oom else None
                if oom_length is not None:
                    store(spec, failed_record(spec, "skipped", _skip_reason(spec, oom_length)))
                elif pool is None:
                    store(spec, engine.run(spec))  # inline: in this thread, so Ctrl-C reaches the run itself
                else:
                    in_flight[pool.submit(engine.run, spec)] = spec
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED) if in_flight else (set(), set())
            for future in sorted(done, key=lambda f: position[in_flight[f].run_key]):  # plan order among those done
                store(in_flight.pop(future), future.result())
    except BaseException:
        engine.cancel()  # Ctrl-C or a bug here: no run may outlive the sweep
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        bar.close()


def _skip_reason(spec: RunSpec, oom_length: int) -> str:
    return f"not attempted: {spec.model} ran out of memory at T={oom_length} (see --no-skip-after-oom)"


def _manifest(config: SweepConfig, specs: list[RunSpec]) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "config": config.model_dump(mode="json"),
        "device": config.resolved_device,
        "n_runs": len(specs),
        "run_keys": [s.run_key for s in specs],
        "environment": environment(config.resolved_device),
        "packages": {name: _version(name) for name in PACKAGES},
        "determinism": {
            "seeds": "sha256-derived torch.Generator per split (train, val, test) and for initialisation",
            "flush_denormal": config.resolved_device == "cpu",
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "threads": threads_per_run(config) or torch.get_num_threads(),  # what each run is given
        },
    }


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
