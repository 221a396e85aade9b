"""`python -m bench speed`: every model and mode measured in its own process, failures as rows, exponents."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import models
import tasks
from bench.analysis.speed import harness_overhead, scaling_exponents
from bench.report.render import render_terminal
from bench.report.write import speed_summary
from bench.store.files import SPEED_FILE
from bench.store.jsonl import read_records
from tests.test_run_e2e import run_capturing_stdout


def render_speed(rows: list[dict]) -> str:
    """The speed tables as the command prints them: the report's speed section, rendered for the terminal."""
    return render_terminal(speed_summary(rows, Path(".")))

COPYING = tasks.get_task("copying").spec  # the speed command's default task
# Lengths past copying's 10 answer steps: an encoder-decoder needs a source before them.
TINY = ["--lengths", "12,16", "--batch-size", "2", "--params", "4000", "--repeats", "2", "--stream-tokens", "4",
        "--threads", "1", "--no-progress"]  # fmt: skip


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
        assert 0.95 * 4000 <= row["n_params"] <= 1.05 * 4000
        assert row["threads"] == 1
    streaming = {name for name in models.MODELS if models.build_model(name, COPYING, width=8).streams}
    for row in (r for r in rows if r["mode"] == "infer" and r["model"] in streaming):
        assert row["stream_tokens_run"] == 4 and row["stream_token_ms"] > 0 and row["state_kb"] > 0
    assert "Scaling exponent" in stdout and "Streaming" in stdout


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


def test_harness_overhead_is_the_ratio_to_the_bare_module():
    rows = [
        {"model": "lstm", "label": label, "bare": bare, "mode": "train", "status": "ok", "seq_len": n,
         "median_ms": ms, "iqr_ms": 0.0, "peak_mem_mb": 1.0}
        for n in (16, 64) for label, bare, ms in (("lstm", False, 1.5 * n), ("lstm (bare LSTM)", True, float(n)))
    ]  # fmt: skip
    table = harness_overhead(pd.DataFrame(rows))
    assert table.loc["lstm"].tolist() == [1.5, 1.5]
    assert "Full model / its bare core layer" in render_speed(rows)


@pytest.mark.parametrize("argv, words", [
    (["--models", "lstn"], ["models", "did you mean 'lstm'"]),
    (["--lengths", "0"], ["lengths", "> 0"]),
    (["--repeats", "0"], ["repeats"]),
    (["--params", "500"], ["params", "no width"]),
    (["--stream-tokens", "x"], ["stream_tokens", "x"]),
    (["--precision", "fp8"], ["precision", "bf16"]),
    (["--option", "ssm.kernel=fft"], ["model_options", "kernel", "vandermonde"]),
])  # fmt: skip
def test_bad_speed_input_is_one_line_exit_2(argv, words, tmp_path, cli, capsys):
    out = tmp_path / "speed"
    assert cli(["speed", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(word in err for word in words), err
    assert not out.exists()


def rows_growing_as(power: float) -> list[dict]:
    return [
        {"model": "m", "mode": mode, "status": "ok", "seq_len": n, "median_ms": float(n) ** power, "iqr_ms": 0.0,
         "peak_mem_mb": float(n), "stream_token_ms": 0.1, "state_kb": 1.0}
        for mode in ("train", "infer") for n in (256, 1024, 4096)
    ]  # fmt: skip


def test_scaling_exponents_recover_the_power():
    exponents = scaling_exponents(pd.DataFrame(rows_growing_as(2.0)))
    assert exponents.loc["m", "train time"] == pytest.approx(2.0)
    assert exponents.loc["m", "infer memory"] == pytest.approx(1.0)


def test_render_shows_failures_in_place_of_figures():
    rows = rows_growing_as(1.0)
    rows[2] = {**rows[2], "status": "oom", "median_ms": None}
    text = render_speed(rows)
    assert "oom" in text


@pytest.mark.parametrize("option", ["lstm.residual=true", "gru.bidirectional=true"])
def test_bare_refuses_a_recurrent_stack_it_cannot_take_apart(tmp_path, cli, capsys, option):
    # adding: a bidirectional RNN is allowed there, so the --bare rule is what refuses it
    assert cli(["speed", "--task", "adding", "--bare", "--option", option, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(f"not with option {option.split('.')[1]}")
    assert not (tmp_path / "s").exists()
