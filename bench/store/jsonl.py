"""Append-only JSONL files in a results folder, and the lock that keeps one writer per folder.

Only the parent process writes, one ``write`` + flush + fsync per line, so a crash leaves at most
a truncated last line, which ``read_records`` skips with a warning. One command at a time holds
``<out>/.lock``; a second one on the same folder is refused rather than interleaving lines. A run
retried after a failure has two records, and ``latest_by_key`` keeps the newer. Every line carries
the ``schema`` of its file (``bench.store.files.SCHEMAS``).
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

from bench.store.files import LOCK_FILE, MANIFEST_FILE, MANIFEST_SCHEMA, RUNS_FILE, SCHEMAS


class StoreBusy(RuntimeError):
    """Another command holds the results folder."""


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold the folder's lock for the whole command; the kernel releases it if the process dies."""
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


def finite(value):
    """JSON has no NaN or infinity: a diverged run's non-finite metrics are stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def append_record(out_dir: Path, record: dict, filename: str = RUNS_FILE) -> None:
    """One record as one line, stamped with its file's schema version."""
    stamped = {"schema": SCHEMAS[filename], **record}
    line = json.dumps(finite(stamped), sort_keys=True, allow_nan=False) + "\n"
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


def append_invocation(out_dir: Path, invocation: dict) -> None:
    """Add one invocation (its config, environment and plan) to the folder's manifest, keeping the earlier ones:
    a resumed folder remembers every command that wrote to it."""
    invocations = [*read_manifest(out_dir)["invocations"], invocation]
    manifest = {"schema": MANIFEST_SCHEMA, "invocations": invocations}
    partial = Path(out_dir) / (MANIFEST_FILE + ".partial")
    partial.write_text(json.dumps(finite(manifest), indent=2, sort_keys=True, default=str) + "\n")
    os.replace(partial, Path(out_dir) / MANIFEST_FILE)  # a reader never sees half a manifest


def read_manifest(out_dir: Path) -> dict:
    """``{"schema": ..., "invocations": [...]}``, oldest first; a manifest of one flat invocation (written before
    manifests kept their history) reads as a list of one."""
    path = Path(out_dir) / MANIFEST_FILE
    if not path.is_file():
        return {"schema": MANIFEST_SCHEMA, "invocations": []}
    manifest = json.loads(path.read_text())
    if "invocations" not in manifest:
        return {"schema": MANIFEST_SCHEMA, "invocations": [manifest]}
    return manifest


def latest_invocation(manifest: dict) -> dict:
    """The newest invocation of a manifest read by ``read_manifest``; {} for none."""
    return manifest["invocations"][-1] if manifest.get("invocations") else {}
