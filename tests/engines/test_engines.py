"""Engines: several runs at once, Ray and SLURM (submitit) give the records the local executor gives, and one
Ctrl-C stops every run in flight.

The Ray and submitit tests skip cleanly when their extra is not installed; tox's `engines` env installs both.
The subprocess executor's time limits, out-of-memory and kill handling are in ``test_isolation.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.config import load_run_config
from bench.engines.local import gpu_slots
from bench.store.jsonl import latest_invocation, read_manifest, read_records
from bench.sweep.plan import plan
from tests.helpers import ROOT, flags

# Where and how fast a run went, not what it computed.
NOT_COMPARED = {"wall_s", "started_at", "finished_at", "train_step_ms", "train_step_ms_iqr", "first_step_ms", "train_s",
          "train_tokens_per_s", "infer_tokens_per_s", "peak_mem_mb", "seconds_to_solve", "concurrent_runs",
          "mem_method", "threads", "command"}  # fmt: skip


def four_runs(out: Path, *extra: str) -> list[str]:
    """Two models x two lengths, tiny, in processes of their own, one thread each (results depend on it)."""
    return [
        "run", "--task", "adding", "--models", "lstm,gru", "--lengths", "8,12", "--seeds", "0", "--steps", "6",
        "--eval-every", "3",
        "--val-size", "16", "--test-size", "16", "--batch-size", "4", "--params", "4000", "--threads", "1",
        "--out", str(out), "--no-progress", "--no-report", *extra,
    ]  # fmt: skip


def by_key(out: Path) -> dict[str, dict]:
    return {r["run_key"]: {k: v for k, v in r.items() if k not in NOT_COMPARED} for r in read_records(out)}


@pytest.fixture(scope="module")
def one_at_a_time(tmp_path_factory, cli) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("workers1") / "results"
    assert cli(four_runs(out, "--workers", "1")) == 0
    records = by_key(out)
    assert len(records) == 4  # what the other engines must match: never an empty store
    return records


@pytest.mark.slow
def test_two_workers_store_the_records_of_one(one_at_a_time, tmp_path, cli):
    assert cli(four_runs(tmp_path / "w2", "--workers", "2")) == 0
    records = read_records(tmp_path / "w2")
    assert len(records) == 4 and all(r["concurrent_runs"] == 2 and r["status"] == "ok" for r in records)
    assert by_key(tmp_path / "w2") == one_at_a_time
    assert cli(["report", str(tmp_path / "w2")]) == 0
    assert "Timings were taken with up to 2 runs at once" in (tmp_path / "w2" / "report.md").read_text()


def test_workers_divide_the_cores_unless_threads_are_given(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    config = load_run_config(flags(task="adding", workers="4"))
    assert {spec.threads for spec in plan(config)} == {2}
    config = load_run_config(flags(task="adding", workers="4", threads="3"))
    assert {spec.threads for spec in plan(config)} == {3}


def test_each_worker_gets_its_own_gpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    assert gpu_slots(4, "cuda") == [0, 1, 0, 1]
    assert gpu_slots(1, "cuda") == [None]  # one worker: every GPU visible, as without --workers
    assert gpu_slots(3, "cpu") == [None, None, None]


# ---- Ray -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_a_sweep_through_local_ray(local_ray, one_at_a_time, tmp_path, cli):
    assert cli(four_runs(tmp_path / "ray", "--executor", "ray", "--cpus-per-run", "1")) == 0
    assert by_key(tmp_path / "ray") == one_at_a_time


@pytest.mark.slow
def test_a_run_raising_in_a_ray_worker_is_an_error_record(local_ray, tmp_path, cli, monkeypatch):
    import bench.engines.ray  # after the fixture skipped, where Ray is not installed
    from bench.engines.isolation import run_isolated

    def raise_for_gru(job):  # pickled by value into the Ray worker
        if job.spec.model == "gru":
            raise RuntimeError("planted failure")
        return run_isolated(job)

    monkeypatch.setattr(bench.engines.ray, "run_isolated", raise_for_gru)
    assert cli(four_runs(tmp_path / "ray", "--executor", "ray")) == 0
    status = {(r["model"], r["seq_len"]): (r["status"], r["error"]) for r in read_records(tmp_path / "ray")}
    assert status[("lstm", 8)][0] == status[("lstm", 12)][0] == "ok"  # the sweep went on
    assert status[("gru", 8)][0] == "error" and "planted failure" in status[("gru", 8)][1]


# ---- SLURM through submitit, as local processes ----------------------------------------------------


@pytest.mark.slow
def test_a_sweep_through_submitit_local(one_at_a_time, tmp_path, cli):
    pytest.importorskip("submitit")
    assert cli(four_runs(tmp_path / "slurm", "--executor", "slurm", "--slurm-cluster", "local")) == 0
    assert by_key(tmp_path / "slurm") == one_at_a_time


@pytest.mark.slow
def test_a_failing_submitit_job_is_an_error_record(tmp_path, cli, monkeypatch):
    pytest.importorskip("submitit")
    import bench.engines.slurm
    from bench.engines.isolation import run_isolated

    def raise_for_gru(job):  # a TrainingJob: what run_isolated is given
        if job.spec.model == "gru":
            raise RuntimeError("planted failure")
        return run_isolated(job)

    monkeypatch.setattr(bench.engines.slurm, "run_isolated", raise_for_gru)
    argv = four_runs(tmp_path / "slurm", "--executor", "slurm", "--slurm-cluster", "local")
    assert cli(argv) == 0
    status = {(r["model"], r["seq_len"]): (r["status"], r["error"]) for r in read_records(tmp_path / "slurm")}
    assert status[("lstm", 12)][0] == "ok"
    assert status[("gru", 12)][0] == "error" and "planted failure" in status[("gru", 12)][1]


# ---- Ctrl-C with several runs in flight --------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from /proc (Linux)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while being read
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.slow
def test_ctrl_c_with_two_runs_in_flight_stops_both(tmp_path):
    # Two runs far longer than the test: both must be started, then stopped by one Ctrl-C.
    long_runs = ["--workers", "2", "--models", "gru", "--lengths", "20000,20001", "--steps", "400"]
    argv = [sys.executable, "-m", "bench", *four_runs(tmp_path / "out", *long_runs)]
    # SIGINT at its default, as in a terminal: a shell that starts this test in the background ignores SIGINT,
    # its children inherit that, and Python then installs no KeyboardInterrupt handler.
    sweep = subprocess.Popen(argv, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(descendants(sweep.pid)) < 3:  # the forkserver and two runs
            assert sweep.poll() is None and time.monotonic() < deadline, "the runs did not start"
            time.sleep(0.1)
        time.sleep(1.0)
        runs = descendants(sweep.pid)
        os.killpg(sweep.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the foreground group
        stdout, _ = sweep.communicate(timeout=30)
    finally:  # a sweep that did not stop is killed, and its runs die with it: none may outlive the test
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait()
    assert sweep.returncode == 130
    assert "Interrupted: 0 of 2 runs stored" in stdout
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in runs):
        assert time.monotonic() < deadline, "a run outlived the interrupted sweep"
        time.sleep(0.1)


@pytest.mark.slow
def test_the_manifest_records_the_threads_each_worker_gets(tmp_path, cli, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    argv = ["run", "--task", "adding", "--models", "lstm", "--lengths", "8", "--seeds", "0", "--steps", "2",
            "--eval-every", "1",
            "--val-size", "8", "--test-size", "8", "--params", "4000", "--workers", "4", "--out", str(tmp_path / "out"),
            "--no-progress", "--no-report"]  # fmt: skip  # no --threads: the 8 cores divided among 4 workers
    assert cli(argv) == 0
    assert latest_invocation(read_manifest(tmp_path / "out"))["determinism"]["threads"] == 2


@pytest.mark.slow
def test_a_plugin_file_loads_in_ray_workers_whose_working_directory_is_another(local_ray, tmp_path, cli, monkeypatch):
    # Ray starts its workers in a folder of its own: the relative plugin path is read from where the sweep started.
    (tmp_path / "my_model.py").write_text((ROOT / "examples" / "custom_model" / "my_model.py").read_text())
    monkeypatch.chdir(tmp_path)
    argv = four_runs(tmp_path / "ray", "--executor", "ray", "--cpus-per-run", "1")
    argv[argv.index("lstm,gru")] = "gru,my_model.py:MyModel"
    assert cli(argv) == 0
    records = read_records(tmp_path / "ray")
    assert [r["error"] for r in records] == [None] * 4
    assert {r["model_origin"]["file"] for r in records if r["model"] != "gru"} == {"my_model.py"}
