"""examples/custom_model: its README's first command, run from a copy of the folder outside the repository, trains
the example beside the GRU and stores both; the README shows that command as it is."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from bench.store.jsonl import read_records
from tests.helpers import ROOT

EXAMPLE = ROOT / "examples" / "custom_model"


def readme_command() -> list[str]:
    text = (EXAMPLE / "README.md").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("python -m bench run ")]
    return shlex.split(line)


@pytest.mark.slow
def test_the_readme_command_runs_from_a_copy_outside_the_repository(tmp_path):
    folder = tmp_path / "custom_model"
    shutil.copytree(EXAMPLE, folder)
    argv = readme_command()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, as `pip install -e` would give it
    done = subprocess.run([sys.executable, *argv[1:]], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "my_model.py:MyModel" in done.stdout
    records = {r["model"]: r for r in read_records(folder / "results")}
    assert set(records) == {"gru", "my_model.py:MyModel"} and {r["status"] for r in records.values()} == {"ok"}
    assert records["my_model.py:MyModel"]["model_origin"]["file"] == "my_model.py"
