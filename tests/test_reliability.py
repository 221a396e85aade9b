"""Sweeps that resume, refuse to share a folder, survive kill -9, record every failure, and reproduce."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tasks
from bench.config import load_config
from bench.store.files import MANIFEST_FILE, RUNS_FILE
from bench.store.jsonl import latest_by_key, locked, read_records
from bench.sweep.plan import plan
from bench.sweep.training import data_stream
from tests.test_run_e2e import run_capturing_stdout

ROOT = Path(__file__).resolve().parent.parent


def keys(out: Path) -> list[str]:
    return [r["run_key"] for r in read_records(out)]


def statuses(out: Path) -> dict[int, str]:
    return {r["seq_len"]: r["status"] for r in latest_by_key(read_records(out)).values()}


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


# ---- the subprocess executor: kill -9, time-outs, out of memory -------------------------------


def bench_command(out: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "bench", "run", "--task", "adding", "--no-progress", "--out", str(out), *flags]


def run_bench(out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(bench_command(out, *flags), cwd=ROOT, capture_output=True, text=True, timeout=240)


KILL_SWEEP = ["--models", "lstm", "--lengths", "8,12,16,20,24,28", "--steps", "40", "--eval-every", "20",
              "--val-size", "16", "--test-size", "16", "--batch-size", "8", "--params", "4000",
              "--threads", "1"]  # fmt: skip


def test_kill_9_mid_sweep_then_resume_stores_every_run_once(tmp_path):
    out = tmp_path / "out"
    sweep = subprocess.Popen(bench_command(out, *KILL_SWEEP), cwd=ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / RUNS_FILE).exists() or not (out / RUNS_FILE).read_text().strip():
        assert sweep.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(sweep.pid, signal.SIGKILL)  # the sweep, its forkserver and the running run's process group
    sweep.wait()
    before = len(keys(out))
    assert 1 <= before < 6

    resumed = run_bench(out, *KILL_SWEEP)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{before} of 6 runs already stored" in resumed.stdout
    stored = keys(out)
    planned = [s.run_key for s in plan(load_config({"task": "adding", **_flag_dict(KILL_SWEEP)}))]
    assert sorted(stored) == sorted(planned)  # every run exactly once


def _flag_dict(flags: list[str]) -> dict[str, str]:
    return {flags[i][2:].replace("-", "_"): flags[i + 1] for i in range(0, len(flags), 2)}


def test_a_run_past_its_time_limit_is_killed_and_recorded(tmp_path):
    out = tmp_path / "out"
    # T=8 takes well under a second; T=20000 about half a second a step, so 40 steps take far past the limit.
    done = run_bench(out, "--models", "gru", "--lengths", "8,20000", "--steps", "40", "--eval-every", "20",
                     "--val-size", "16", "--test-size", "16", "--params", "4000", "--timeout-s", "3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert statuses(out) == {8: "ok", 20000: "timeout"}
    assert "timeout" in done.stdout  # the summary shows it


def test_out_of_memory_is_recorded_and_longer_lengths_are_skipped(tmp_path):
    out = tmp_path / "out"
    flags = ["--models", "transformer", "--lengths", "8,4000,8000", "--steps", "2", "--eval-every", "1",
             "--batch-size", "512", "--val-size", "16", "--test-size", "16", "--params", "4000",
             "--memory-limit-mb", "300"]  # fmt: skip
    done = run_bench(out, *flags)
    assert done.returncode == 0, done.stderr
    assert statuses(out) == {8: "ok", 4000: "oom", 8000: "skipped"}
    oom = next(r for r in read_records(out) if r["status"] == "oom")
    assert "can't allocate memory" in oom["error"]


# ---- determinism and provenance ---------------------------------------------------------------

TIMING_FIELDS = {"wall_s", "started_at", "finished_at", "train_step_ms", "train_step_ms_iqr", "first_step_ms",
                 "train_tokens_per_s", "infer_tokens_per_s", "train_s", "seconds_to_solve", "argv"}  # fmt: skip


def test_the_same_command_gives_bit_identical_metrics(tmp_path, cli, tiny_args):
    runs = []
    for name in ("a", "b"):
        assert cli(tiny_args(tmp_path / name, "copying", "--steps", "8")) == 0
        runs.append([{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in read_records(tmp_path / name)])
    assert runs[0] == runs[1]
    assert all(r["status"] == "ok" for r in runs[0])


# sha256 of the first training batch (seed 0, T=16, batch 4, quick's task parameters) as the runner draws it.
# A change here is a change to every result: bump the task's variant version instead of updating the number.
FIRST_BATCH_SHA256 = {
    "adding": "2b61cc382c56ff9a36f5039f2883d265d7dca89da268e517226b646c073a9691",
    "copying": "92c4071b36b750da44c5af00f41504d4395927a8b4b075337c64e162d6ca4eab",
    "selective_copying": "7fda59276bc0a30244c5000d1ae98faa45bcc5d8f496c53b979ca48a275df43d",
    "associative_recall": "2a737316750d48079977fcceefe8d39b5f58c6be9efe3272ad4eb7b83de37d3d",
}


@pytest.mark.parametrize("name", list(tasks.TASKS))
def test_first_training_batch_fingerprint(name):
    spec = plan(load_config({"task": name, "models": "lstm", "lengths": "16", "batch_size": "4"}))[0]
    batch = tasks.get_task(name, **spec.task_params).sample(4, 16, generator=data_stream(spec, "train"))
    digest = hashlib.sha256()
    for tensor in (batch.x, batch.y, batch.mask):
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    assert digest.hexdigest() == FIRST_BATCH_SHA256[name]


def test_every_task_has_a_fingerprint():
    assert set(FIRST_BATCH_SHA256) == set(tasks.TASKS)


def test_manifest_records_provenance(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    assert cli(tiny_args(out, "adding", "--models", "lstm")) == 0
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["config"]["task"] == "adding"
    assert {"git_sha", "git_dirty", "torch", "threads", "device"} <= set(manifest["environment"])
    assert manifest["packages"]["torch"] and manifest["packages"]["einops"]
    assert manifest["determinism"]["flush_denormal"] is True
    assert manifest["determinism"]["threads"] == 1
