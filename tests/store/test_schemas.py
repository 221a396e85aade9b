"""Records are validated on read, one model per file and schema version: what the harness writes and wrote reads,
what the analysis could not use is listed as unreadable (file, line, why) instead of crashing the report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import models
from bench.commands.gradients import GradientJob
from bench.commands.sampling import plan_generation
from bench.commands.source import load_speed_config
from bench.commands.speed import plan_jobs
from bench.config import load_run_config
from bench.engines.job import failure_records
from bench.report.document import ReportContext
from bench.report.write import report_sections
from bench.store.files import GRADIENTS_FILE, MANIFEST_FILE, RUNS_FILE, SPEED_FILE
from bench.store.folder import ResultsFolder
from bench.store.jsonl import Unreadable, append_record, read_records
from bench.store.schemas import problem
from bench.sweep.plan import plan
from bench.sweep.training import TrainingJob
from tests.helpers import ROOT, failed_record, flags, run_record, speed_row

REFERENCE = ROOT / "results" / "reference"
# The reference as first committed (commit a917174, machine paths in argv made relative): runs of schema 1 and
# gradient curves from before curves carried a schema, kept so records of every version the harness wrote read.
SCHEMA_1 = ROOT / "tests" / "store" / "fixtures" / "schema-1"


# ---- what is and was written reads --------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["adding-quick", "copying-quick"])
def test_the_first_reference_results_read_whole(folder):
    """Runs of schema 1 and gradient curves from before curves carried a schema, as first committed."""
    results = ResultsFolder(SCHEMA_1 / folder)
    assert results.unreadable() == []
    assert len(results.runs()) == 15 and len(results.gradient_curves()) == 30


@pytest.mark.parametrize("folder", ["adding-quick", "copying-quick"])
def test_the_committed_reference_results_read_whole(folder):
    results = ResultsFolder(REFERENCE / folder)
    assert results.unreadable() == []
    assert len(results.runs()) > 0 and len(results.gradient_curves()) > 0


def test_the_failure_records_of_every_command_read():
    """What a job gives when it fails (its identities and a status): the fields every record has whatever happens."""
    runs = plan(load_run_config(flags(task="copying", models="lstm,transformer", lengths="8")))
    speed = load_speed_config({"models": "lstm", "lengths": "8", "generate": "8,16"})
    jobs = {
        RUNS_FILE: [TrainingJob(spec) for spec in runs],
        SPEED_FILE: [*plan_jobs(speed), *plan_generation(speed)],
        GRADIENTS_FILE: [GradientJob("adding", {}, "rnn", models.full_options("rnn", {}), 8, 0, "init", 7000, 4)],
    }
    for filename, planned in jobs.items():
        for job in planned:
            for record in failure_records(job, "timeout", "killed after the 5 s time limit (timeout_s)"):
                assert problem(record, filename) is None, (filename, record)


@pytest.mark.parametrize("filename", [RUNS_FILE, SPEED_FILE, GRADIENTS_FILE])
def test_records_that_name_the_machine_read_and_wrong_types_are_refused(filename):
    runs = plan(load_run_config(flags(task="copying", models="lstm", lengths="8")))
    jobs = {
        RUNS_FILE: TrainingJob(runs[0]),
        SPEED_FILE: plan_jobs(load_speed_config({"models": "lstm", "lengths": "8"}))[0],
        GRADIENTS_FILE: GradientJob("adding", {}, "rnn", models.full_options("rnn", {}), 8, 0, "init", 7000, 4),
    }
    (record, *_) = failure_records(jobs[filename], "timeout", "killed")
    named = {**record, "cpu_model": "Some CPU", "cpu_count": 16, "gpu_name": "Some GPU"}
    assert problem(named, filename) is None
    assert "cpu_count" in problem({**named, "cpu_count": "16"}, filename)


def test_rows_of_speed_before_schemas_and_labels_read():
    row = {k: v for k, v in speed_row("lstm", "train", 64).items() if k != "label"}
    assert problem(row, SPEED_FILE) is None
    assert problem({**row, "schema": 1}, SPEED_FILE) is None


# ---- what is refused, and why ------------------------------------------------------------------------------------

RUN = {"schema": 2, **run_record("lstm", 8, 0, 0.01, 0.004)}
CURVE = json.loads((SCHEMA_1 / "adding-quick" / GRADIENTS_FILE).read_text().splitlines()[0])  # before schemas
SPEED = {"schema": 1, **speed_row("lstm", "infer", 64)}
GENERATE = {"schema": 1, "model": "lstm", "mode": "generate", "seq_len": 16, "status": "ok", "error": None,
            "batch_size": 8, "temperature": 1.0, "token_ms": 0.2, "token_ms_iqr": 0.01, "tokens_per_s": 4e4,
            "state_kb": 3.0}  # fmt: skip

REFUSED = [
    pytest.param(RUNS_FILE, [1, 2], ["not a JSON object", "list"], id="not-an-object"),
    pytest.param(RUNS_FILE, {**RUN, "schema": 3}, ["schema", "1 or 2", "3"], id="unknown-schema"),
    pytest.param(RUNS_FILE, {k: v for k, v in RUN.items() if k != "schema"}, ["schema"], id="runs-without-schema"),
    pytest.param(RUNS_FILE, {**RUN, "status": "finished"}, ["status", "finished"], id="unknown-status"),
    pytest.param(RUNS_FILE, {**RUN, "seq_len": "8"}, ["seq_len", "integer"], id="length-as-text"),
    pytest.param(RUNS_FILE, {**RUN, "seq_len": 8.0}, ["seq_len", "integer"], id="length-as-float"),
    pytest.param(RUNS_FILE, {**RUN, "seq_len": 0}, ["seq_len", "greater than 0"], id="length-zero"),
    pytest.param(RUNS_FILE, {**RUN, "width": 2**60}, ["width", "less than"], id="count-past-float64"),
    pytest.param(RUNS_FILE, {**RUN, "solved": 1}, ["solved", "boolean"], id="flag-as-number"),
    pytest.param(RUNS_FILE, {**RUN, "val_loss": "0.1"}, ["val_loss", "number"], id="loss-as-text"),
    pytest.param(RUNS_FILE, {k: v for k, v in RUN.items() if k != "task"}, ["task: required"], id="no-task"),
    pytest.param(RUNS_FILE, {k: v for k, v in RUN.items() if k != "run_key"}, ["run_key: required"], id="no-key"),
    pytest.param(RUNS_FILE, {k: v for k, v in RUN.items() if k != "test_loss"}, ["test_loss", "required"],
                 id="finished-without-its-metric"),
    pytest.param(RUNS_FILE, {k: v for k, v in RUN.items() if k != "solved"}, ["solved", "required"],
                 id="finished-without-solved"),
    pytest.param(RUNS_FILE, {**RUN, "test_accuracy": "high"}, ["test_accuracy", "number"], id="metric-as-text"),
    pytest.param(RUNS_FILE, {**RUN, "baseline_loss": [0.1]}, ["baseline_loss", "number"], id="baseline-as-list"),
    pytest.param(RUNS_FILE, {**RUN, "metric": "loss"}, ["facts come together"], id="facts-in-part"),
    pytest.param(RUNS_FILE, {**RUN, "curve": [[50]]}, ["curve", "[step, validation loss]"], id="curve-point"),
    pytest.param(RUNS_FILE, {**RUN, "eval_lengths_results": [{"seq_len": 16}]}, ["eval_lengths_results", "status"],
                 id="length-result-without-status"),
    pytest.param(RUNS_FILE, {**RUN, "error": 3}, ["error", "string"], id="error-as-number"),
    pytest.param(RUNS_FILE, {**RUN, "model_traits": "gated"}, ["model_traits", "list"], id="traits-as-text"),
    pytest.param(SPEED_FILE, {**SPEED, "mode": "decode"}, ["mode", "decode"], id="unknown-mode"),
    pytest.param(SPEED_FILE, {**SPEED, "median_ms": None}, ["median_ms", "finished infer row"],
                 id="finished-without-time"),
    pytest.param(SPEED_FILE, {**SPEED, "state_kb": None}, ["state_kb", "stream_token_ms"], id="stream-without-state"),
    pytest.param(SPEED_FILE, {**SPEED, "schema": None}, ["schema", "without a schema field", "of schema 1"],
                 id="schema-null"),
    pytest.param(SPEED_FILE, {k: v for k, v in GENERATE.items() if k != "temperature"}, ["temperature", "--generate"],
                 id="generate-without-temperature"),
    pytest.param(SPEED_FILE, {**GENERATE, "source": "trained", "run_key": "abc"}, ["trained_seq_len"],
                 id="trained-without-its-run"),
    pytest.param(GRADIENTS_FILE, {**CURVE, "state": "final"}, ["state", "final"], id="unknown-state"),
    pytest.param(GRADIENTS_FILE, {k: v for k, v in CURVE.items() if k != "grad_norm"}, ["grad_norm", "required"],
                 id="finished-curve-without-norms"),
    pytest.param(GRADIENTS_FILE, {**CURVE, "grad_norm": [0.5, "x"]}, ["grad_norm.1", "number"], id="norm-as-text"),
    pytest.param(GRADIENTS_FILE, {**CURVE, "model": "newfamily"}, ["model_traits", "newfamily"],
                 id="old-curve-of-an-unknown-family"),
    pytest.param(GRADIENTS_FILE, {**CURVE, "schema": 1}, ["model_traits: required"], id="schema-1-without-traits"),
    pytest.param(GRADIENTS_FILE, {**CURVE, "status": "oom", "grad_norm": None} | {"error": None}, None,
                 id="failed-curve-reads"),
]


@pytest.mark.parametrize("filename, record, words", REFUSED)
def test_a_record_the_analysis_cannot_use_is_refused_saying_why(filename, record, words):
    reason = problem(record, filename)
    if words is None:
        assert reason is None
        return
    assert reason is not None and "\n" not in reason
    for word in words:
        assert word in reason, reason


# ---- reading a folder ---------------------------------------------------------------------------------------------


def write_lines(folder, filename, lines):
    folder.mkdir(exist_ok=True)
    (folder / filename).write_bytes(b"\n".join(lines) + b"\n")


def test_unreadable_lines_are_listed_with_file_line_and_reason_and_the_rest_is_read(tmp_path):
    good = [json.dumps(r).encode() for r in (RUN, {**RUN, "run_key": "second", "seed": 1})]
    lines = [good[0], b'{"schema": 2, "val_loss": NaN}', b"", b"\xff\xfe", b"[3]", good[1], b'{"run_key": "x", "st']
    (tmp_path / RUNS_FILE).write_bytes(b"\n".join(lines))  # the last line torn: no end
    write_lines(tmp_path, SPEED_FILE, [json.dumps({**SPEED, "status": "done"}).encode()])
    (tmp_path / MANIFEST_FILE).write_text("{")
    folder = ResultsFolder(tmp_path)
    assert [r["run_key"] for r in folder.runs()] == [RUN["run_key"], "second"]
    unreadable = folder.unreadable()
    assert [(u.file, u.line) for u in unreadable] == [(RUNS_FILE, 2), (RUNS_FILE, 4), (RUNS_FILE, 5), (RUNS_FILE, 7),
                                                      (SPEED_FILE, 1), (MANIFEST_FILE, 0)]  # fmt: skip
    reasons = [u.reason for u in unreadable]
    assert "NaN is not a JSON value" in reasons[0] and "not UTF-8" in reasons[1] and "not a JSON object" in reasons[2]
    assert "truncated" in reasons[3] and "status" in reasons[4] and "manifest" in reasons[5]


def test_a_retried_run_whose_newer_record_is_unreadable_keeps_the_older_one(tmp_path):
    append_record(tmp_path, failed_record("lstm", 8, 0, "oom", "out of memory"))
    append_record(tmp_path, {**run_record("lstm", 8, 0, 0.01, 0.004), "val_loss": "low"})  # same run key
    (run,) = ResultsFolder(tmp_path).runs()
    assert run["status"] == "oom"


def test_records_of_one_task_that_disagree_on_its_metric_are_unreadable(tmp_path):
    facts = {"metric": "accuracy", "higher_is_better": True, "solved_rule": "acc", "solved_threshold": 0.99}
    append_record(tmp_path, {**failed_record("lstm", 8, 0, "oom", "out of memory"), **facts})
    append_record(tmp_path, run_record("lstm", 16, 0, 0.01, 0.004))  # adding: the loss, from the legacy table
    folder = ResultsFolder(tmp_path)
    assert [r["seq_len"] for r in folder.runs()] == [8]
    (unreadable,) = folder.unreadable()
    assert unreadable.line == 2 and "'loss'" in unreadable.reason and "'accuracy'" in unreadable.reason


def test_read_records_warns_unless_told_where_to_put_what_it_skips(tmp_path):
    write_lines(tmp_path, RUNS_FILE, [json.dumps(RUN).encode(), b"[]"])
    with pytest.warns(UserWarning, match=r"runs.jsonl:2: skipping an unreadable line: not a JSON object"):
        assert len(read_records(tmp_path)) == 1
    skipped: list[Unreadable] = []
    assert len(read_records(tmp_path, unreadable=skipped)) == 1  # no warning: pytest's filter would fail on one
    assert skipped == [Unreadable(RUNS_FILE, 2, "not a JSON object but list []")]


def test_a_results_file_that_is_a_folder_is_unreadable_as_a_whole(tmp_path):
    (tmp_path / SPEED_FILE).mkdir()
    (unreadable,) = ResultsFolder(tmp_path).unreadable()
    assert (unreadable.file, unreadable.line) == (SPEED_FILE, 0) and "cannot read" in unreadable.reason


def test_the_report_lists_the_unreadable_lines_first(tmp_path):
    write_lines(tmp_path, RUNS_FILE, [json.dumps(RUN).encode(), b'{"schema": 2, "run_key": "torn"'])
    folder = ResultsFolder(tmp_path)
    titles = [s.title for s in report_sections(folder, pd.DataFrame(folder.runs()), ReportContext(tmp_path))]
    assert titles[0] == "Unreadable records" and "Failures" in titles
