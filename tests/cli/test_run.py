"""End to end: `python -m bench run` through the command line, in this process (``--executor inline``): every
model on every task, records with every field at one budget, the manifest and the summary; longer test lengths;
RNN variants and seq2seq in a real sweep; the report it writes unless told not to.

The subprocess executor is in ``tests/engines/``; resuming and the manifest's provenance in ``tests/sweep/``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import models
from bench.report.write import REPORT_MD, SUMMARY_CSV
from bench.store.jsonl import latest_invocation, read_manifest, read_records
from bench.train.budget import Budget
from tests.helpers import MODEL_NAMES, TASK_NAMES, TINY_PARAMS, run_capturing_stdout

RECORD_FIELDS = [
    "schema", "run_key", "status", "task", "variant", "model", "seq_len", "seed", "lr", "n_params",
    "test_loss", "test_accuracy", "baseline_loss", "solved", "steps_to_solve", "curve",
    "train_tokens_per_s", "train_step_ms", "infer_tokens_per_s", "peak_mem_mb", "mem_method",
    "device", "torch", "threads", "git_sha", "wall_s",
]  # fmt: skip
BUDGET_FIELDS = [f.name for f in dataclasses.fields(Budget)]


@dataclasses.dataclass
class Sweep:
    code: int
    out: Path
    stdout: str
    records: list[dict]


@pytest.fixture(scope="module", params=TASK_NAMES)
def sweep(request, tmp_path_factory, cli, tiny_args) -> Sweep:
    """One tiny inline sweep of every registered model on the task, shared by the tests below."""
    out = tmp_path_factory.mktemp(request.param) / "results"
    code, stdout = run_capturing_stdout(cli, tiny_args(out, request.param, "--models", ",".join(MODEL_NAMES)))
    return Sweep(code, out, stdout, read_records(out))


def test_sweep_finishes_every_model(sweep):
    assert sweep.code == 0
    assert [r["model"] for r in sweep.records] == MODEL_NAMES
    assert [r["status"] for r in sweep.records] == ["ok"] * len(MODEL_NAMES), [r.get("error") for r in sweep.records]


def test_records_have_every_field(sweep):
    for record in sweep.records:
        assert [f for f in RECORD_FIELDS if f not in record] == []
        assert len(record["run_key"]) == 64
        assert record["curve"] and record["curve"][-1][0] == 6  # evaluated at steps 3 and 6
        assert record["test_loss"] is not None and record["train_step_ms"] > 0


def test_parameter_counts_meet_the_target(sweep):
    target = latest_invocation(read_manifest(sweep.out))["config"]["params"]
    for record in sweep.records:
        assert record["target_params"] == target
        assert abs(record["n_params"] - target) <= models.PARAM_TOLERANCE * target, record["model"]


def test_every_run_had_the_same_budget(sweep):
    budgets = {tuple(repr(r[f]) for f in BUDGET_FIELDS) for r in sweep.records}
    assert len(budgets) == 1
    assert len({r["lr"] for r in sweep.records}) == 1


def test_manifest_lists_the_runs(sweep):
    manifest = latest_invocation(read_manifest(sweep.out))
    assert manifest["n_runs"] == len(sweep.records)
    assert manifest["run_keys"] == [r["run_key"] for r in sweep.records]
    assert manifest["config"]["steps"] == 6


def test_summary_names_every_model_and_the_baseline(sweep):
    for name in [*MODEL_NAMES, "baseline"]:
        assert name in sweep.stdout
    assert sweep.records[0]["variant"] in sweep.stdout


# ---- a run tested at longer lengths ------------------------------------------------------------------


@pytest.mark.slow
def test_a_model_evaluated_at_2x_records_the_extra_metrics_and_the_report_shows_them(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    argv = [f for f in tiny_args(out, "copying", "--models", "lstm,transformer", "--eval-lengths", "2x")
            if f != "--no-report"]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    records = read_records(out)
    assert [r["model"] for r in records] == ["lstm", "transformer"]
    for record in records:
        (result,) = record["eval_lengths_results"]
        assert result["seq_len"] == 2 * record["seq_len"] and result["status"] == "ok"
        assert 0 <= result["accuracy"] <= 1 and result["loss"] > 0
    report = (out / REPORT_MD).read_text()
    assert "## Length generalisation" in report and "T=8 ×2" in report
    assert (out / "figures" / "copying_length_generalisation.png").stat().st_size > 10_000
    assert "Published outcomes" in stdout


# ---- variants in a real sweep -----------------------------------------------------------------------------


def test_tiny_run_of_a_deep_residual_bidirectional_lstm(tmp_path, cli, tiny_args):
    out = tmp_path / "out"
    options = ["--option", "lstm.bidirectional=true", "--option", "lstm.layers=2", "--option", "lstm.residual=true"]
    assert (
        cli(
            tiny_args(
                out, "adding", "--models", "lstm", "--lengths", "10", "--steps", "5", "--params", "10000", *options
            )
        )
        == 0
    )
    (record,) = read_records(out)
    assert record["status"] == "ok", record.get("error")
    assert record["model_options"] == {
        "layers": 2, "bidirectional": True, "residual": True, "forget_bias": 0.0, "chrono": 0,
    }  # fmt: skip


def test_a_tiny_copying_sweep_compares_seq2seq_with_a_single_stream_model(tmp_path, cli, tiny_args):
    assert cli(tiny_args(tmp_path, "copying", "--models", "gru,seq2seq")) == 0
    records = read_records(tmp_path)
    assert [(r["model"], r["status"]) for r in records] == [("gru", "ok"), ("seq2seq", "ok")]
    # one budget: each count within PARAM_TOLERANCE of it, so at most twice that apart
    assert abs(records[0]["n_params"] - records[1]["n_params"]) <= 2 * models.PARAM_TOLERANCE * TINY_PARAMS


# ---- the report ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_writes_its_report_unless_told_not_to(tmp_path, cli, tiny_args):
    with_report = [flag for flag in tiny_args(tmp_path / "a", "adding") if flag != "--no-report"]
    assert cli(with_report) == 0
    assert (tmp_path / "a" / REPORT_MD).is_file() and (tmp_path / "a" / SUMMARY_CSV).is_file()
    assert cli(tiny_args(tmp_path / "b", "adding")) == 0
    assert not (tmp_path / "b" / REPORT_MD).exists()
