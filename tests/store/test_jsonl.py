"""The JSONL store: a torn last line is skipped with a warning, non-finite floats are stored as null, a
missing file reads as empty."""

from __future__ import annotations

import json
import math

import pytest

from bench.store.files import MANIFEST_FILE, RUNS_FILE
from bench.store.jsonl import append_invocation, append_record, latest_invocation, read_manifest, read_records
from tests.helpers import failed_record


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path):
    a, b = failed_record("lstm", 8, 0, "error", "RuntimeError"), failed_record("lstm", 16, 0, "oom", "out of memory")
    append_record(tmp_path, a)
    append_record(tmp_path, b)
    with open(tmp_path / RUNS_FILE, "a") as f:
        f.write('{"run_key": "c", "sta')  # a crash in the middle of a write
    with pytest.warns(UserWarning, match="truncated"):
        records = read_records(tmp_path)
    assert records == [{**a, "schema": 2}, {**b, "schema": 2}]


def test_non_finite_floats_are_stored_as_null(tmp_path):
    append_record(tmp_path, {"loss": math.nan, "curve": [[1, math.inf], [2, 0.5]], "test": {"loss": -math.inf}})
    raw = (tmp_path / RUNS_FILE).read_text()
    assert "NaN" not in raw and "Infinity" not in raw
    assert json.loads(raw) == {"loss": None, "curve": [[1, None], [2, 0.5]], "test": {"loss": None}, "schema": 2}


def test_missing_store_reads_as_empty(tmp_path):
    assert read_records(tmp_path / "nowhere") == []


def test_the_manifest_keeps_every_invocation(tmp_path):
    append_invocation(tmp_path, {"command": "first"})
    append_invocation(tmp_path, {"command": "second"})
    manifest = read_manifest(tmp_path)
    assert [i["command"] for i in manifest["invocations"]] == ["first", "second"]
    assert latest_invocation(manifest)["command"] == "second"


def test_a_manifest_of_one_flat_invocation_reads_as_a_history_of_one(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text('{"config": {"preset": "quick"}, "n_runs": 3}')
    assert read_manifest(tmp_path)["invocations"] == [{"config": {"preset": "quick"}, "n_runs": 3}]
    append_invocation(tmp_path, {"command": "resumed"})
    assert [i.get("command") for i in read_manifest(tmp_path)["invocations"]] == [None, "resumed"]
