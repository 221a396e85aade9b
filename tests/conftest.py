"""Shared fixtures: registry parametrisation, seeded generators, a CLI runner, and the results folders that
several test modules read. Plain helpers live in ``tests/helpers.py``.

Everything here is tiny and CPU-only. ``-m "not slow"`` leaves out the tests that start processes or take
seconds; tox runs them all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) from a source checkout
    sys.path.insert(0, str(ROOT))

import tasks  # noqa: E402
from bench.report.write import write_report  # noqa: E402
from tasks.adding import AddingTask  # noqa: E402
from tests.helpers import (  # noqa: E402
    MODEL_NAMES,
    TASK_NAMES,
    TASK_VARIANTS,
    TINY_BUDGET,
    generator,
    known_store,
    run_cli,
    tiny_run_args,
)

# Tensors here are a few KB: intra-op threads only add overhead, and on a busy 2-core machine
# OpenMP's spinning threads make every op 10-100x slower.
torch.set_num_threads(1)


@pytest.fixture(params=TASK_NAMES)
def task_name(request) -> str:
    """Every registered task."""
    return request.param


@pytest.fixture(params=TASK_VARIANTS, ids=[f"{name}/{variant}" for name, variant in TASK_VARIANTS])
def any_task(request) -> tasks.Task:
    """Every variant of every task, at its defaults."""
    name, variant = request.param
    return tasks.get_task(name, variant=variant)


@pytest.fixture(params=MODEL_NAMES)
def model_name(request) -> str:
    """Every registered model family."""
    return request.param


@pytest.fixture
def gen():
    """A factory of seeded CPU generators: ``gen(3)``."""
    return generator


@pytest.fixture(scope="session")
def cli():
    """``cli(argv)`` -> exit code of ``bench.cli.main``."""
    return run_cli


@pytest.fixture(scope="session")
def tiny_args():
    """``tiny_args(out_dir, task, *extra_flags)`` -> argv for ``bench.cli.main``."""
    return tiny_run_args


@pytest.fixture
def no_sweep(monkeypatch):
    """A configuration that is wrongly accepted fails the test at once instead of starting a real sweep."""

    def run_sweep(config, **_):
        pytest.fail(f"the configuration was accepted: {config!r}")

    monkeypatch.setattr("bench.cli.do_run", run_sweep)


@pytest.fixture
def nan_loss_from_step_3(monkeypatch):
    """The adding loss turns NaN at the third training step (warm-up and evaluation calls are not counted).

    Training steps are told apart by their batch: ``TINY_BUDGET.batch_size`` sequences, with gradients on.
    """
    original = AddingTask.metrics
    training_calls = 0

    def metrics(self, output, batch):
        nonlocal training_calls
        scores = original(self, output, batch)
        if torch.is_grad_enabled() and batch.x.shape[0] == TINY_BUDGET.batch_size:
            training_calls += 1
            if training_calls >= 3:
                scores["loss"] = scores["loss"] * float("nan")
        return scores

    monkeypatch.setattr(AddingTask, "metrics", metrics)


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, cli, tiny_args) -> Path:
    """A tiny copying sweep of the RNN and the SSM on two seeds, with their checkpoints.

    One per module: the gradients command writes its curves (and a report) into it.
    """
    out = tmp_path_factory.mktemp("trained") / "results"
    assert cli(tiny_args(out, "copying", "--models", "rnn,ssm", "--seeds", "0,1")) == 0
    return out


@pytest.fixture(scope="session")
def report(tmp_path_factory) -> Path:
    """The report of ``known_store``'s records (read only: shared by every test that reads it).

    Drawing its figures takes seconds: the tests that read it are marked slow.
    """
    out = tmp_path_factory.mktemp("report") / "results"
    known_store(out)
    write_report(out)
    return out
