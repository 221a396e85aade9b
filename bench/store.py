"""The results store: ``<out>/runs.jsonl``, one JSON record per finished run.

Only the sweep's parent process writes it, one ``write`` + flush + fsync per line, so a
crash leaves at most a truncated last line, which ``read_records`` skips with a warning.
One sweep at a time holds ``<out>/.lock``; a second sweep on the same folder is refused
rather than interleaving lines. The file is append-only: a run retried after a failure
has two records, and ``latest_by_key`` keeps the newer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

RUNS_FILE = "runs.jsonl"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"


class StoreBusy(RuntimeError):
    """Another sweep holds the results folder."""


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold the folder's lock for the whole sweep; the kernel releases it if the process dies."""
    fd = os.open(out_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            message = f"out: another sweep (pid {holder}) is writing to {out_dir}; wait for it or pick another --out"
            raise StoreBusy(message) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def _finite(value):
    """JSON has no NaN or infinity: a diverged run's non-finite metrics are stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def append_record(out_dir: Path, record: dict, filename: str = RUNS_FILE) -> None:
    line = json.dumps(_finite(record), sort_keys=True, allow_nan=False) + "\n"
    fd = os.open(out_dir / filename, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line  # after a crash mid-write: end the torn line, or this record would join it
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_records(out_dir: Path, filename: str = RUNS_FILE) -> list[dict]:
    path = Path(out_dir) / filename
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            warnings.warn(f"{path}:{number}: skipping an unreadable (truncated?) line", stacklevel=2)
    return records


def latest_by_key(records: list[dict]) -> dict[str, dict]:
    """The newest record of each run_key (the store is append-only, so the last one)."""
    return {record["run_key"]: record for record in records if "run_key" in record}


def write_manifest(out_dir: Path, manifest: dict) -> None:
    (out_dir / MANIFEST_FILE).write_text(json.dumps(_finite(manifest), indent=2, sort_keys=True, default=str) + "\n")
