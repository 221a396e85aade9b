"""``python -m bench report``: the report of a store of known records matches its golden markdown, its figures
are real PNGs linked from both reports, failures are kept; a store missing optional fields still renders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.report.document import FIGURES_DIR
from bench.report.write import REPORT_HTML, REPORT_MD, write_report
from bench.store.jsonl import append_record
from tests.helpers import is_real_png, run_record

GOLDEN = Path(__file__).parent / "golden" / "report_adding.md"


@pytest.mark.slow
def test_report_tables_match_the_golden_markdown(report):
    # To accept an intended change: run this test with UPDATE_GOLDEN=1 and review the diff of the golden file.
    text = (report / REPORT_MD).read_text()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


@pytest.mark.slow
def test_every_figure_is_a_real_png_and_linked_from_both_reports(report):
    pngs = sorted((report / FIGURES_DIR).glob("*.png"))
    names = {p.name for p in pngs}
    assert {"adding_metric_vs_length.png", "adding_learning_curves.png", "adding_loss_vs_seconds.png",
            "throughput.png", "memory.png"} <= names  # fmt: skip
    assert all(is_real_png(p) for p in pngs)
    markdown, page = (report / REPORT_MD).read_text(), (report / REPORT_HTML).read_text()
    assert all(f"{FIGURES_DIR}/{name}" in markdown for name in names)
    assert page.count("data:image/png;base64,") == len(pngs)  # self-contained: every figure embedded


@pytest.mark.slow
def test_failures_are_listed_never_dropped(report):
    failures = (report / REPORT_MD).read_text().split("## Failures")[1]
    assert "oom" in failures and "CUDA out of memory" in failures
    assert "skipped" in failures and "not attempted" in failures


def test_a_store_of_one_seed_without_cost_fields_or_curves_still_renders(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    for seq_len in (8, 16):
        record = run_record("gru", seq_len, 0, 0.01, 0.003)
        for field in ("train_tokens_per_s", "infer_tokens_per_s", "peak_mem_mb", "curve", "git_sha"):
            record.pop(field)
        append_record(out, record)
    write_report(out)  # no manifest either
    text = (out / REPORT_MD).read_text()
    assert "seeds: 0.003, acc 0.50; 1/1 solved (3%–100%), strict 0/1" in text  # one seed: its value, no interval
    assert "Failures" in text and "None" in text
    assert is_real_png(out / FIGURES_DIR / "adding_metric_vs_length.png")


def test_report_of_a_folder_without_results_is_one_line_exit_2(tmp_path, cli, capsys):
    (tmp_path / "empty").mkdir()
    assert cli(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no runs.jsonl" in err
    assert list((tmp_path / "empty").iterdir()) == []
