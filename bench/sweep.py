"""``run_sweep``: plan the runs, execute what is not stored yet, store every record, summarise.

A sweep resumes by construction: runs whose ``run_key`` already has a record in the
folder are not run again (failed ones are, with ``retry_failed``). After an out-of-memory
run, the longer lengths of the same model are recorded as ``skipped`` instead of being
attempted, unless ``skip_after_oom`` is off.
"""

from __future__ import annotations

import importlib.metadata
from datetime import UTC, datetime
from pathlib import Path

import torch
from tqdm.auto import tqdm

from bench.config import SweepConfig
from bench.cutoff import ShortestFailure
from bench.env import environment
from bench.executor import EXECUTORS
from bench.plan import SCHEMA_VERSION, RunSpec, plan
from bench.runner import failed_record
from bench.store import RUNS_FILE, append_record, latest_by_key, locked, read_records, write_manifest
from bench.summary import render_summary

PACKAGES = ["torch", "einops", "numpy", "pandas", "pydantic", "seaborn", "tqdm"]


def run_sweep(config: SweepConfig, *, progress: bool = True) -> Path:
    """Run every planned run of ``config`` not yet stored in ``config.out_dir``; returns that folder."""
    specs = plan(config)
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir):
        write_manifest(out_dir, _manifest(config, specs))
        stored = latest_by_key(read_records(out_dir))
        todo = [s for s in specs if _needs_run(stored.get(s.run_key), config.retry_failed)]
        if len(todo) < len(specs):
            print(f"Resuming in {out_dir}: {len(specs) - len(todo)} of {len(specs)} runs already stored")
        try:
            _execute(config, todo, stored, progress)
        except KeyboardInterrupt:
            kept = sum(1 for s in specs if s.run_key in latest_by_key(read_records(out_dir)))
            print(f"\nInterrupted: {kept} of {len(specs)} runs stored in {out_dir}; run the same command to resume.")
            raise
        records = latest_by_key(read_records(out_dir))
    planned = [records[s.run_key] for s in specs if s.run_key in records]
    print(render_summary(planned, config.task, config.task_params))
    print(f"\nResults: {out_dir / RUNS_FILE} ({len(planned)} runs)")
    if config.report:
        from bench.report import write_report  # seaborn and matplotlib load only when a report is wanted

        write_report(out_dir)
    return out_dir


def _needs_run(stored: dict | None, retry_failed: bool) -> bool:
    return stored is None or (retry_failed and stored.get("status") != "ok")


def _execute(config: SweepConfig, todo: list[RunSpec], stored: dict[str, dict], progress: bool) -> None:
    execute = EXECUTORS[config.executor]
    out_of_memory = ShortestFailure()  # per model: longer lengths would run out too
    for record in stored.values():
        if record.get("status") == "oom":
            out_of_memory.add(record["model"], record["seq_len"])
    bar = tqdm(total=len(todo), desc=f"{config.task} sweep", unit="run", disable=None if progress else True)
    try:
        for spec in todo:
            oom_length = out_of_memory.blocking(spec.model, spec.seq_len) if config.skip_after_oom else None
            if oom_length is not None:
                reason = f"not attempted: {spec.model} ran out of memory at T={oom_length} (see --no-skip-after-oom)"
                record = failed_record(spec, "skipped", reason)
            else:
                record = execute(spec, progress)
            if record["status"] == "oom":
                out_of_memory.add(spec.model, spec.seq_len)
            append_record(config.out_dir, record)  # the parent alone writes the store
            bar.update()
            bar.set_postfix_str(f"{spec.model} T={spec.seq_len} lr={spec.lr:g}: {record['status']}")
    finally:
        bar.close()


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
            "threads": config.threads if config.threads is not None else torch.get_num_threads(),
        },
    }


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
