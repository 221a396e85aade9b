"""Append-only JSONL files in a results folder, and the lock that keeps one writer per folder.

Only the parent process writes, one ``write`` + flush + fsync per line, so a crash leaves at most
a truncated last line. ``read_records`` reads only what it can vouch for: a line that is not one JSON
object, holds NaN or Infinity, or fails its schema's model (``bench.store.schemas``) is skipped and
named, with its file, line and reason (as a warning, or in the list the caller passes, which the
report shows). One command at a time holds
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
from dataclasses import dataclass
from pathlib import Path

from bench.store.files import LOCK_FILE, MANIFEST_FILE, MANIFEST_SCHEMA, RUNS_FILE, SCHEMAS
from bench.store.schemas import problem


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


@dataclass(frozen=True)
class Unreadable:
    """A line of a results folder's file that is not read, and why; line 0 is the file as a whole."""

    file: str
    line: int
    reason: str


def read_records(out_dir: Path, filename: str = RUNS_FILE, unreadable: list[Unreadable] | None = None) -> list[dict]:
    """The file's records that can be read, in stored order. The others are added to ``unreadable`` when it is
    given, else each is a warning."""
    numbered, problems = read_numbered(out_dir, filename)
    if unreadable is not None:
        unreadable.extend(problems)
    else:
        for p in problems:
            warnings.warn(f"{Path(out_dir) / filename}:{p.line}: skipping an unreadable line: {p.reason}", stacklevel=2)
    return [record for _, record in numbered]


def read_numbered(out_dir: Path, filename: str = RUNS_FILE) -> tuple[list[tuple[int, dict]], list[Unreadable]]:
    """(line number, record) of every record that can be read, and what could not be."""
    path = Path(out_dir) / filename
    try:
        if not path.exists():
            return [], []
        data = path.read_bytes()
    except OSError as exc:  # a folder of that name, no permission, a name too long
        return [], [Unreadable(filename, 0, f"cannot read the file: {exc.strerror or exc}")]
    records, problems = [], []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        torn = number == len(lines)  # the last line has no end: a write cut short
        try:
            record = _parse(raw)
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            reason = f"not JSON: {exc}" + (" (truncated: the last line has no end)" if torn else "")
        else:
            reason = problem(record, filename)
            if reason is None:
                records.append((number, record))
                continue
        problems.append(Unreadable(filename, number, reason))
    return records, problems


def _parse(raw: bytes) -> object:
    return json.loads(raw.decode("utf-8"), parse_constant=_not_json, parse_float=_finite_float)


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value (the store writes null for a non-finite number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond a float's range")
    return value


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
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: not a JSON object")
    if "invocations" not in manifest:
        return {"schema": MANIFEST_SCHEMA, "invocations": [manifest]}
    return manifest


def latest_invocation(manifest: dict, command: str | None = None) -> dict:
    """The newest invocation of a manifest read by ``read_manifest`` (of ``command`` where given: a ``gradients``
    call after a ``run`` has no preset of its own); {} for none."""
    invocations = [i for i in manifest.get("invocations", [])
                   if command is None or i.get("command", command) == command]  # older manifests name no command
    return invocations[-1] if invocations else {}
