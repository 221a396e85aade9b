"""`python -m bench speed`: every model and mode measured in its own process, failures as rows, bare modules.

Its configuration errors are in ``tests/config/test_speed.py``, its tables in ``tests/analysis/test_speed.py``.
"""

from __future__ import annotations

import pytest

import models
import tasks
from bench.commands.source import load_speed_config
from bench.commands.speed import plan_jobs
from bench.store.files import SPEED_FILE
from bench.store.jsonl import read_records
from tests.helpers import run_capturing_stdout

COPYING = tasks.get_task("copying").spec  # the speed command's default task
# Lengths past copying's 10 answer steps: an encoder-decoder needs a source before them.
TINY = ["--lengths", "12,16", "--batch-size", "2", "--params", "7000", "--repeats", "2", "--stream-tokens", "4",
        "--threads", "1", "--no-progress"]  # fmt: skip


@pytest.mark.slow
def test_speed_measures_every_model_and_mode(tmp_path, cli):
    out = tmp_path / "speed"
    every_model = ["--models", ",".join(models.MODELS)]  # the default set leaves out variants such as seq2seq
    code, stdout = run_capturing_stdout(cli, ["speed", *TINY, *every_model, "--out", str(out)])
    assert code == 0
    rows = read_records(out, SPEED_FILE)
    assert len(rows) == len(models.MODELS) * 2 * 2
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    for row in rows:
        assert row["median_ms"] > 0 and row["tokens_per_s"] > 0 and row["first_call_ms"] > 0
        assert row["peak_mem_mb"] >= 0 and row["mem_method"] == "ru_maxrss_delta"
        assert abs(row["n_params"] - 7000) <= models.PARAM_TOLERANCE * 7000
        assert row["threads"] == 1
        assert row["flops"] > 0 and row["peak_flops_per_s"] > 0  # every model has an encoder and a head to count
        assert row["flops_per_s"] == pytest.approx(row["flops"] / (row["median_ms"] / 1e3))
    streaming = {name for name in models.MODELS if models.build_model(name, COPYING, width=8).streams}
    for row in (r for r in rows if r["mode"] == "infer" and r["model"] in streaming):
        assert row["stream_tokens_run"] == 4 and row["stream_token_ms"] > 0 and row["state_kb"] > 0
    assert "Scaling exponent" in stdout and "Streaming" in stdout


@pytest.mark.slow
def test_a_failing_length_is_a_row_and_longer_ones_are_skipped(tmp_path, cli):
    out = tmp_path / "speed"
    flags = ["--models", "lstm", "--lengths", "8,20000,40000", "--repeats", "50", "--timeout-s", "2"]
    code, stdout = run_capturing_stdout(cli, ["speed", *TINY, *flags, "--out", str(out)])
    assert code == 0
    status = {(r["mode"], r["seq_len"]): r["status"] for r in read_records(out, SPEED_FILE)}
    assert status[("train", 8)] == "ok"
    assert status[("train", 20000)] == "timeout"
    assert status[("train", 40000)] == "skipped"
    assert "timeout" in stdout


@pytest.mark.slow
def test_bare_modules_options_and_precision_are_recorded(tmp_path, cli):
    out = tmp_path / "speed"
    flags = ["--models", "lstm,ssm", "--bare", "--precision", "bf16", "--option", "ssm.path=recurrence"]
    code, stdout = run_capturing_stdout(cli, ["speed", *TINY, *flags, "--out", str(out)])
    assert code == 0
    rows = read_records(out, SPEED_FILE)
    assert {r["label"] for r in rows} == {"lstm", "ssm", "lstm (bare LSTM)", "ssm (bare S4DLayer)"}
    assert all(r["precision"] == "bf16" for r in rows)
    assert all(r["model_options"] == {"path": "recurrence"} for r in rows if r["model"] == "ssm")
    assert all(r["status"] == "ok" for r in rows if r["model"] == "ssm"), [r["error"] for r in rows]


def test_packed_rows_for_the_packable_families_and_their_speed_up(tmp_path, cli):
    out = tmp_path / "speed"
    argv = ["speed", *TINY, "--lengths", "12", "--models", "ssm,gru", "--pack", "3", "--out", str(out)]
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    rows = read_records(out, SPEED_FILE)
    packed = [r for r in rows if r["mode"] == "packed"]
    assert [(r["model"], r["pack"], r["status"]) for r in packed] == [("ssm", 3, "ok")]  # gru: a fused nn.GRU
    train = next(r for r in rows if r["mode"] == "train" and r["model"] == "ssm")
    assert train["pack"] == 1 and packed[0]["flops"] == pytest.approx(3 * train["flops"], rel=0.01)
    assert packed[0]["tokens_per_s"] == pytest.approx(3 * 2 * 12 / (packed[0]["median_ms"] / 1e3))
    assert "Packed training (--pack G)" in stdout and "G=3: " in stdout


def test_compile_applies_to_the_training_rows_and_names_them():
    jobs = plan_jobs(load_speed_config({"models": "lstm", "lengths": "8", "compile": True}))
    assert {(job.mode, job.compiled, job.label) for job in jobs} == {
        ("train", True, "lstm [compiled]"), ("infer", False, "lstm")}  # fmt: skip
    assert all(job.identities()[0]["compiled"] == job.compiled for job in jobs)
