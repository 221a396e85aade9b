"""The subprocess executor: each run in a process of its own (its own memory peak), killed at its time limit,
its out-of-memory death recorded and the longer lengths after it skipped. Each test starts processes.

Kill -9 of a whole sweep, then resuming it, is in ``tests/sweep/test_run.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.store.jsonl import latest_by_key, read_records
from tests.helpers import run_bench, run_capturing_stdout


def statuses(out: Path) -> dict[int, str]:
    return {r["seq_len"]: r["status"] for r in latest_by_key(read_records(out)).values()}


@pytest.mark.slow
def test_subprocess_executor(tmp_path, cli, tiny_args):
    out = tmp_path / "results"
    code, _ = run_capturing_stdout(cli, tiny_args(out, "adding", "--models", "lstm,ssm", "--executor", "subprocess"))
    records = read_records(out)
    assert code == 0
    assert [r["status"] for r in records] == ["ok", "ok"], [r.get("error") for r in records]
    for record in records:
        assert isinstance(record["peak_mem_mb"], float) and record["peak_mem_mb"] > 0
        assert record["mem_method"] == "ru_maxrss_delta"


@pytest.mark.slow
def test_a_run_past_its_time_limit_is_killed_and_recorded(tmp_path):
    out = tmp_path / "out"
    # T=8 takes well under a second; T=20000 about half a second a step, so 40 steps take far past the limit.
    # One thread, as the other process tests: on a busy 2-core machine two OpenMP threads make T=8 alone take
    # some 15 s (~400 ms a step), past the limit too.
    done = run_bench(out, "--models", "gru", "--lengths", "8,20000", "--seeds", "0", "--steps", "40",
                     "--eval-every", "20",
                     "--val-size", "16", "--test-size", "16", "--params", "4000", "--threads", "1",
                     "--timeout-s", "3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert statuses(out) == {8: "ok", 20000: "timeout"}
    assert "timeout" in done.stdout  # the summary shows it


@pytest.mark.slow
def test_out_of_memory_is_recorded_and_longer_lengths_are_skipped(tmp_path):
    out = tmp_path / "out"
    flags = ["--models", "transformer", "--lengths", "8,4000,8000", "--seeds", "0", "--steps", "2", "--eval-every", "1",
             "--batch-size", "512", "--val-size", "16", "--test-size", "16", "--params", "4000",
             "--memory-limit-mb", "300"]  # fmt: skip
    done = run_bench(out, *flags)
    assert done.returncode == 0, done.stderr
    assert statuses(out) == {8: "ok", 4000: "oom", 8000: "skipped"}
    oom = next(r for r in read_records(out) if r["status"] == "oom")
    assert "can't allocate memory" in oom["error"]
