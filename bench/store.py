"""The results store: ``<out>/runs.jsonl``, one JSON record per finished run.

Only the sweep's parent process writes it, one ``write`` + flush + fsync per line, so a
crash leaves at most a truncated last line, which ``read_records`` skips with a warning.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

RUNS_FILE = "runs.jsonl"
MANIFEST_FILE = "manifest.json"


def _finite(value):
    """JSON has no NaN or infinity: a diverged run's non-finite metrics are stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def append_record(out_dir: Path, record: dict) -> None:
    line = json.dumps(_finite(record), sort_keys=True, allow_nan=False) + "\n"
    fd = os.open(out_dir / RUNS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_records(out_dir: Path) -> list[dict]:
    path = Path(out_dir) / RUNS_FILE
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


def write_manifest(out_dir: Path, manifest: dict) -> None:
    (out_dir / MANIFEST_FILE).write_text(json.dumps(_finite(manifest), indent=2, sort_keys=True, default=str) + "\n")
