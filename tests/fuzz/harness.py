"""``bench.cli.main`` run in this process on fuzzed input, and the property every command keeps.

The property: a command either validates its input (it reaches its ``do_*``, replaced here so that nothing trains,
times or draws), or refuses it with exit code 2, exactly one line on stderr, and nothing written. An exception of
any other kind escapes ``main`` and fails the test, with hypothesis's smallest input that raised it: a traceback
the user would have seen. What validates must be within the documented bounds (``assert_within_bounds``): finite
numbers, counts no larger than their bound, a folder to write that can be one.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import bench.cli
import bench.report.write
from bench.cli import main
from bench.config import GradientsConfig, RunConfig, SpeedConfig
from bench.config.fields import (
    MAX_BATCH_SIZE,
    MAX_EVAL_SIZE,
    MAX_LENGTH,
    MAX_MEMORY_MB,
    MAX_PARAMS,
    MAX_REPEATS,
    MAX_SEED,
    MAX_STEPS,
    MAX_TEMPERATURE,
    MAX_THREADS,
    MAX_TIMEOUT_S,
    MIN_TEMPERATURE,
)

SCALE = int(os.environ.get("SEQBENCH_FUZZ_SCALE", "1"))  # a deeper search by hand: SEQBENCH_FUZZ_SCALE=20
EXAMPLES_RUN: Counter[str] = Counter()  # per command: the inputs tried in this session (reported by conftest)
ACCEPTED: Counter[str] = Counter()  # per command: how many of them validated (the others were refused)


def examples(n: int) -> int:
    """The example count of a test: ``n`` in CI, ``n * SEQBENCH_FUZZ_SCALE`` when asked for more."""
    return n * SCALE


@dataclass
class Outcome:
    code: object
    stdout: str
    stderr: str
    validated: list = field(default_factory=list)  # the configs (or report folders) that reached execution


@contextlib.contextmanager
def stopped_after_validation(outcome: Outcome) -> Iterator[None]:
    """Every command stops where its input has been validated: ``do_run``, ``do_speed`` and ``do_gradients`` are
    replaced; ``do_report`` runs, and stops at ``write_report``, after ``write_reports`` has checked every folder."""

    def stop(config, progress=False):
        outcome.validated.append(config)

    def report_checked(out_dir, model_order=None, figures=True):
        outcome.validated.append(out_dir)
        return Path(out_dir) / bench.report.write.REPORT_MD

    with contextlib.ExitStack() as stack:
        for name in ("do_run", "do_speed", "do_gradients"):
            stack.enter_context(mock.patch.object(bench.cli, name, stop))
        stack.enter_context(mock.patch.object(bench.report.write, "write_report", report_checked))
        yield


def invoke(argv: list[str], *, stop: bool = True) -> Outcome:
    """``main(argv)`` with stdout and stderr captured; SystemExit (argparse) read as its code."""
    outcome = Outcome(code=None, stdout="", stderr="")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.ExitStack() as stack:
        if stop:
            stack.enter_context(stopped_after_validation(outcome))
        try:
            outcome.code = main(argv)
        except SystemExit as exc:
            outcome.code = exc.code
    outcome.stdout, outcome.stderr = out.getvalue(), err.getvalue()
    return outcome


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``, with its size and modification time."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            stat = path.lstat()
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


@contextlib.contextmanager
def sandbox() -> Iterator[Path]:
    """A fresh folder, made the working directory, so that default folders (results/...) land in it too."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="seqbench-fuzz-") as name:
        os.chdir(name)
        try:
            yield Path(name).resolve()
        finally:
            os.chdir(here)


def assert_validates_or_refuses(command: str, argv: list[str], root: Path) -> Outcome:
    """Run ``argv`` in ``root``, the sandbox its paths point into, and check the property."""
    EXAMPLES_RUN[command] += 1
    before = snapshot(root)
    outcome = invoke(argv)
    assert outcome.code in (0, 2), f"exit code {outcome.code!r}; stderr: {outcome.stderr!r}"
    if outcome.code == 2:
        err = outcome.stderr
        assert err.startswith("python -m bench") and err.endswith("\n") and err.count("\n") == 1, (
            f"bad input must be one line on stderr, got {err!r}"
        )
        assert not outcome.validated, "refused after it was accepted"
        assert snapshot(root) == before, "bad input wrote something"
    elif outcome.stdout.startswith("usage:"):  # an abbreviation of --help
        assert not outcome.validated
    else:
        assert outcome.validated or command == "list" or argv[:1] == ["list"], f"exit 0, nothing validated: {outcome}"
        assert snapshot(root) == before, "validation wrote something"
        for config in outcome.validated:
            assert_within_bounds(config)
        ACCEPTED[command] += 1
    return outcome


def assert_within_bounds(config: object) -> None:
    """What a command accepted is what docs/reliability.md promises: every number finite, every count within its
    bound, and a folder to write that is a folder (or can be made)."""
    if isinstance(config, Path):  # a report folder: write_reports checked it holds results
        return
    assert_finite(config.model_dump(), "config")
    lengths = list(config.lengths)
    if isinstance(config, RunConfig):
        lengths += [n for length in config.lengths for n in config.eval_lengths_for(length)]
        assert max(config.seeds) <= MAX_SEED and config.steps <= MAX_STEPS and config.eval_every <= MAX_STEPS
        assert max(config.val_size, config.test_size) <= MAX_EVAL_SIZE
        assert (config.workers or 1) <= MAX_THREADS and (config.cpus_per_run or 1) <= MAX_THREADS
        assert (config.memory_limit_mb or 1) <= MAX_MEMORY_MB
    if isinstance(config, SpeedConfig):
        lengths += [*config.generate, config.stream_tokens]
        assert config.repeats <= MAX_REPEATS and MIN_TEMPERATURE <= config.temperature <= MAX_TEMPERATURE
    if isinstance(config, GradientsConfig):
        assert max(config.seeds) <= MAX_SEED
    assert min(lengths) > 0 and max(lengths) <= MAX_LENGTH, lengths
    assert config.batch_size <= MAX_BATCH_SIZE and (config.threads or 1) <= MAX_THREADS and config.params <= MAX_PARAMS
    assert (config.timeout_s or 1) <= MAX_TIMEOUT_S
    out = config.out_dir.absolute()
    assert not out.exists() or out.is_dir(), f"accepted {out}, a file, as the folder to write"
    assert all(not p.exists() or p.is_dir() for p in out.parents), f"accepted {out}, under a file"


def assert_finite(value: object, where: str) -> None:
    if isinstance(value, float):
        assert math.isfinite(value), f"{where} = {value} was accepted"
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_finite(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            assert_finite(item, where)
