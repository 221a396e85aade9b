"""`python -m bench speed --generate`: the sampling job (a row per length, failures and time limits kept) and the
command, with and without --from, as rows, tables and a report."""

from __future__ import annotations

import math

import pytest

import bench.commands.generation
from bench.commands.sampling import GenerationJob, measure_generation
from bench.report.document import FIGURES_DIR
from bench.report.write import REPORT_MD
from bench.store.files import SPEED_FILE
from bench.store.folder import ResultsFolder
from bench.store.jsonl import read_records
from models.base import SequenceModel
from tests.helpers import is_real_png, run_capturing_stdout

# ---- the speed job, in this process ------------------------------------------------------------------------


def job(**changes) -> GenerationJob:
    fields = {"model": "lstm", "task": "copying", "lengths": (8, 16), "batch_size": 2, "params": 4000,
              "temperature": 1.0, "device": "cpu", "threads": 1, "timeout_s": 60.0}  # fmt: skip
    return GenerationJob(**{**fields, **changes})


def test_a_model_that_cannot_stream_is_a_row_per_length(monkeypatch):
    monkeypatch.setattr(SequenceModel, "streams", property(lambda self: False))
    rows = measure_generation(job())
    assert [(r["seq_len"], r["status"]) for r in rows] == [(8, "unavailable"), (16, "unavailable")]
    assert all("cannot stream" in r["error"] for r in rows)


def test_a_failure_midway_keeps_the_lengths_reached(monkeypatch):
    real_draw, calls = bench.commands.generation.draw, []

    def draw_then_fail(*args):
        calls.append(1)
        if len(calls) > 10:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")
        return real_draw(*args)

    monkeypatch.setattr(bench.commands.generation, "draw", draw_then_fail)
    rows = {r["seq_len"]: r for r in measure_generation(job())}
    assert rows[8]["status"] == "ok" and rows[8]["token_ms"] > 0
    assert rows[16]["status"] == "oom" and "after 10 tokens" in rows[16]["error"]


def test_a_job_past_its_time_limit_stops_itself():
    rows = measure_generation(job(timeout_s=1e-3))
    assert [r["status"] for r in rows] == ["timeout", "timeout"]
    assert "after 1 tokens" in rows[0]["error"]


# ---- end to end, through the command line -------------------------------------------------------------------


def generate_rows(out) -> list[dict]:
    return [r for r in read_records(out, SPEED_FILE) if r["mode"] == "generate"]


@pytest.mark.slow
def test_speed_generate_writes_rows_tables_and_a_report(tmp_path, cli):
    out = tmp_path / "speed"
    argv = ["speed", "--models", "lstm,transformer", "--lengths", "32", "--repeats", "1", "--generate", "8,16",
            "--stream-tokens", "4", "--threads", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    rows = generate_rows(out)
    assert [(r["model"], r["seq_len"]) for r in rows] == [("lstm", 8), ("lstm", 16), ("transformer", 8),
                                                          ("transformer", 16)]  # fmt: skip
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    for r in rows:
        assert math.isfinite(r["token_ms"]) and r["token_ms"] > 0 and math.isfinite(r["tokens_per_s"])
        assert r["source"] == "initialised" and r["temperature"] == 1.0 and r["threads"] == 1
    state = {(r["model"], r["seq_len"]): r["state_kb"] for r in rows}
    assert state["lstm", 8] == state["lstm", 16]  # a recurrent state does not grow
    assert state["transformer", 16] > state["transformer", 8]  # the KV cache does
    assert "Sampling (--generate" in stdout
    assert cli(["report", str(out)]) == 0
    assert "Sampling (--generate" in (out / REPORT_MD).read_text()
    assert is_real_png(out / FIGURES_DIR / "sampling.png")


@pytest.mark.slow
def test_speed_generate_from_a_run_folder_samples_its_trained_model(tmp_path, cli, tiny_args):
    trained = tmp_path / "trained"
    assert cli(tiny_args(trained, "copying", "--models", "lstm", "--steps", "3", "--lrs", "0.01,0.001")) == 0
    folder = ResultsFolder(trained)
    params = {"variant": "arjovsky", "n_symbols": 10}
    chosen = folder.longest_trained_run("copying/arjovsky@1", params, {"lstm": None})["lstm"]
    assert (trained / "checkpoints" / chosen["checkpoint"]).is_file()
    out = tmp_path / "speed"
    argv = ["speed", "--models", "lstm,gru", "--lengths", "8", "--repeats", "1", "--generate", "8", "--stream-tokens",
            "2", "--threads", "1", "--no-progress", "--from", str(trained), "--out", str(out)]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    rows = {r["model"]: r for r in generate_rows(out)}
    assert rows["lstm"]["status"] == "ok", rows["lstm"]["error"]
    assert rows["lstm"]["source"] == "trained" and rows["lstm"]["run_key"] == chosen["run_key"]
    assert rows["lstm"]["n_params"] == chosen["n_params"] and rows["lstm"]["trained_lr"] == chosen["lr"]
    assert rows["gru"]["status"] == "unavailable" and "no finished run of gru" in rows["gru"]["error"]
    assert f"run {chosen['run_key'][:12]}" in stdout
