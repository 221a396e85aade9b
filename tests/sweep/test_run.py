"""Sweeps that resume (after a stop, a torn last line or kill -9), keep failed runs unless retried, refuse to
share a folder, and record their provenance in the manifest."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.config import load_run_config
from bench.store.files import RUNS_FILE
from bench.store.jsonl import latest_by_key, latest_invocation, locked, read_manifest, read_records
from bench.sweep.plan import plan
from tests.helpers import ROOT, bench_command, run_bench, run_capturing_stdout


def keys(out: Path) -> list[str]:
    return [r["run_key"] for r in read_records(out)]


# ---- resume ---------------------------------------------------------------------------------


def test_a_rerun_skips_stored_runs_and_runs_the_rest(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    argv = tiny_args(out, "adding", "--models", "lstm,gru")
    assert cli(argv) == 0
    first = keys(out)
    lines = (out / RUNS_FILE).read_text().splitlines()
    (out / RUNS_FILE).write_text(lines[0] + "\n")  # as if the sweep had stopped after one run

    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    assert "1 of 2 runs already stored" in stdout
    assert keys(out) == first  # the missing run ran again, the stored one did not

    assert cli(argv) == 0
    assert keys(out) == first  # nothing left to run


def test_a_truncated_last_line_is_ignored_and_its_run_redone(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    argv = tiny_args(out, "adding", "--models", "lstm,gru")
    assert cli(argv) == 0
    text = (out / RUNS_FILE).read_text()
    (out / RUNS_FILE).write_text(text[: len(text) - 40])  # a crash in the middle of the last write
    with pytest.warns(UserWarning, match="truncated"):
        assert cli(argv) == 0
    with pytest.warns(UserWarning, match="truncated"):
        records = read_records(out)
    assert sorted(r["model"] for r in records) == ["gru", "lstm"]


def test_failed_runs_are_kept_unless_retried(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    argv = tiny_args(out, "adding", "--models", "lstm", "--lrs", "1e6")  # Adam at lr 1e6 diverges
    assert cli(argv) == 0
    assert [r["status"] for r in read_records(out)] == ["diverged"]
    assert cli(argv) == 0
    assert len(read_records(out)) == 1
    assert cli([*argv, "--retry-failed"]) == 0
    assert [r["status"] for r in read_records(out)] == ["diverged", "diverged"]
    assert len(latest_by_key(read_records(out))) == 1


def test_a_second_sweep_on_a_busy_folder_is_refused(tmp_path, cli, tiny_args, capsys):
    out = tmp_path / "out"
    out.mkdir()
    with locked(out):
        assert cli(tiny_args(out, "adding")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out" in err and "another sweep" in err
    assert not (out / RUNS_FILE).exists()


# ---- kill -9, then resume ------------------------------------------------------------------------

KILL_SWEEP = ["--models", "lstm", "--lengths", "8,12,16,20,24,28", "--seeds", "0", "--steps", "40",
              "--eval-every", "20",
              "--val-size", "16", "--test-size", "16", "--batch-size", "8", "--params", "4000",
              "--threads", "1"]  # fmt: skip


def _flag_dict(flags: list[str]) -> dict[str, str]:
    return {flags[i][2:].replace("-", "_"): flags[i + 1] for i in range(0, len(flags), 2)}


@pytest.mark.slow
def test_kill_9_mid_sweep_then_resume_stores_every_run_once(tmp_path):
    out = tmp_path / "out"
    sweep = subprocess.Popen(bench_command(out, *KILL_SWEEP), cwd=ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / RUNS_FILE).exists() or not (out / RUNS_FILE).read_text().strip():
            assert sweep.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:  # also when the wait failed: no run of the sweep may outlive the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sweep.pid, signal.SIGKILL)  # the sweep, its forkserver and the running run's process group
        sweep.wait()
    before = len(keys(out))
    assert 1 <= before < 6

    resumed = run_bench(out, *KILL_SWEEP)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{before} of 6 runs already stored" in resumed.stdout
    stored = keys(out)
    planned = [s.run_key for s in plan(load_run_config({"task": "adding", **_flag_dict(KILL_SWEEP)}))]
    assert sorted(stored) == sorted(planned)  # every run exactly once


# ---- provenance ----------------------------------------------------------------------------------


def test_manifest_records_provenance(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    assert cli(tiny_args(out, "adding", "--models", "lstm")) == 0
    manifest = latest_invocation(read_manifest(out))
    assert manifest["config"]["task"] == "adding"
    assert {"git_sha", "git_dirty", "torch", "threads", "device"} <= set(manifest["environment"])
    assert manifest["packages"]["torch"] and manifest["packages"]["einops"]
    assert manifest["determinism"]["flush_denormal"] is True
    assert manifest["determinism"]["threads"] == 1
