"""Shared fixtures: registry parametrisation, seeded generators and a CLI runner.

Everything here is tiny and CPU-only; the whole suite should run in well under a minute.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) from a source checkout
    sys.path.insert(0, str(ROOT))

import models  # noqa: E402
import tasks  # noqa: E402
from bench.cli import main  # noqa: E402

# Tensors here are a few KB: intra-op threads only add overhead, and on a busy 2-core machine
# OpenMP's spinning threads make every op 10-100x slower.
torch.set_num_threads(1)

TASK_NAMES = list(tasks.TASKS)
MODEL_NAMES = list(models.MODELS)

# A parameter target every family can meet within 5% on every task at the quick preset's task parameters.
# At tiny sizes the Transformer's width steps by 4 and its count by 30-40% a step: 4000, 5000 or 8000 is out
# of its reach on some task.
TINY_PARAMS = 7000


def quick_task(name: str) -> tasks.Task:
    """The task at the quick preset's parameters: the size the models are tested at."""
    from bench.config.presets import PRESETS

    return tasks.get_task(name, **PRESETS["quick"]["task_params"].get(name, {}))


@pytest.fixture(params=TASK_NAMES)
def task_name(request) -> str:
    """Every registered task."""
    return request.param


@pytest.fixture(params=MODEL_NAMES)
def model_name(request) -> str:
    """Every registered model family."""
    return request.param


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def gen():
    """A factory of seeded CPU generators: ``gen(3)``."""
    return generator


def run_cli(argv: list[str]) -> int:
    """``bench.cli.main`` as a process would see it: argparse errors exit, others return a code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.fixture(scope="session")
def cli():
    """``cli(argv)`` -> exit code of ``bench.cli.main``."""
    return run_cli


def tiny_run_args(out: Path, task: str, *extra: str) -> list[str]:
    """A `run` command line small enough for a test: one length, a few steps, tiny eval sets, inline, no report.

    Flags in ``extra`` come last, so they override these (argparse keeps the last value).
    """
    length = str(max(tasks.get_task(task).min_length, 8))
    return [
        "run", "--task", task, "--lengths", length, "--steps", "6", "--eval-every", "3",
        "--val-size", "16", "--test-size", "16", "--batch-size", "4", "--params", str(TINY_PARAMS),
        "--threads", "1", "--executor", "inline", "--out", str(out), "--no-progress", "--no-report", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_args():
    """``tiny_args(out_dir, task, *extra_flags)`` -> argv for ``bench.cli.main``."""
    return tiny_run_args
