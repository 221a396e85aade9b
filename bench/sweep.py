"""``run_sweep``: plan the runs, execute them, store every record, print the summary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tqdm.auto import tqdm

from bench.config import SweepConfig
from bench.env import environment
from bench.executor import EXECUTORS
from bench.plan import SCHEMA_VERSION, RunSpec, plan
from bench.store import RUNS_FILE, append_record, read_records, write_manifest
from bench.summary import render_summary


def run_sweep(config: SweepConfig, *, progress: bool = True) -> Path:
    """Run every planned run of ``config`` into ``config.out_dir``; returns that folder."""
    specs = plan(config)
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(out_dir, _manifest(config, specs))
    bar = tqdm(total=len(specs), desc=f"{config.task} sweep", unit="run", disable=None if progress else True)

    def on_record(spec: RunSpec, record: dict) -> None:
        append_record(out_dir, record)  # the parent alone writes the store
        bar.update()
        bar.set_postfix_str(f"{spec.model} T={spec.seq_len} lr={spec.lr:g}: {record['status']}")

    EXECUTORS[config.executor](specs, on_record, progress=progress)
    bar.close()
    records = [r for r in read_records(out_dir) if r["run_key"] in {s.run_key for s in specs}]
    print(render_summary(records, config.task, config.task_params))
    print(f"\nResults: {out_dir / RUNS_FILE} ({len(records)} runs)")
    return out_dir


def _manifest(config: SweepConfig, specs: list[RunSpec]) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "config": config.model_dump(mode="json"),
        "device": config.resolved_device,
        "n_runs": len(specs),
        "run_keys": [s.run_key for s in specs],
        "environment": environment(config.resolved_device),
    }
