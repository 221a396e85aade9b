"""``replication.json``: what ``python -m bench replicate`` reran (the recipe, its published rows, its scale and
sweep folders), kept beside the runs so the comparison can be rebuilt from the folder alone."""

from __future__ import annotations

import json
from pathlib import Path

REPLICATION_FILE = "replication.json"


def write_replication(out_dir: Path, description: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / REPLICATION_FILE).write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")


def read_replication(out_dir: Path) -> dict | None:
    path = Path(out_dir) / REPLICATION_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except OSError:  # a name the system cannot hold, a loop of links: no replication there
        return None
