"""``python -m bench report``: tables from a store of known records, figures that are real PNGs, failures kept."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from bench.analysis.statistics import mean_ci95
from bench.report.document import FIGURES_DIR
from bench.report.write import REPORT_HTML, REPORT_MD, SUMMARY_CSV, write_report
from bench.store.files import SPEED_FILE
from bench.store.jsonl import append_record, write_manifest

GOLDEN = Path(__file__).parent / "golden" / "report_adding.md"
ENVIRONMENT = {"device": "cpu", "device_name": "x86_64", "torch": "2.13.0+cpu", "threads": 2, "python": "3.11.7",
               "git_sha": "0123456789abcdef", "git_dirty": False}  # fmt: skip
BUDGET = {"steps": 100, "batch_size": 8, "target_params": 4000, "warmup_frac": 0.1, "weight_decay": 0.01,
          "clip_norm": 1.0, "eval_every": 50, "val_size": 64, "test_size": 128}  # fmt: skip


def run_record(
    model: str, seq_len: int, seed: int, lr: float, test_loss: float, *, status: str = "ok", **extra
) -> dict:
    """A record shaped like ``run_one``'s for the adding task; the validation loss tracks the test loss."""
    solved = test_loss < 0.01
    record = {
        "task": "adding", "task_params": {}, "variant": "adding/halves@1", "model": model, "seq_len": seq_len,
        "seed": seed, "lr": lr, "status": status, "error": None, "run_key": f"{model}-{seq_len}-{seed}-{lr}",
        "val_loss": test_loss * 1.1, "test_loss": test_loss, "test_accuracy": 0.5, "solved": solved,
        "baseline_loss": 1 / 6, "baseline_accuracy": 0.0784,
        "steps_to_solve": 50 if solved else None, "seconds_to_solve": 1.5 if solved else None,
        "width": 20, "n_params": 4000 + seq_len, "train_step_ms": float(seq_len), "train_tokens_per_s": 8000.0,
        "infer_tokens_per_s": 40000.0, "peak_mem_mb": seq_len / 2, "train_s": 2.0, "steps_run": 100,
        "curve": [[50, 0.2], [100, test_loss * 1.1]], **BUDGET, **ENVIRONMENT,
    }  # fmt: skip
    record.update(extra)
    return record


def failed(model: str, seq_len: int, seed: int, status: str, error: str) -> dict:
    keep = {"task", "task_params", "variant", "model", "seq_len", "seed", "lr", "run_key", *BUDGET, *ENVIRONMENT}
    record = run_record(model, seq_len, seed, 0.01, 1.0)
    return {**{k: v for k, v in record.items() if k in keep}, "status": status, "error": error}


def known_store(out: Path) -> None:
    """LSTM solves both lengths on both seeds; the SSM solves T=8 on one seed and runs out of memory at T=16."""
    out.mkdir(parents=True)
    records = [
        run_record("lstm", 8, 0, 0.01, 0.004), run_record("lstm", 8, 0, 0.001, 0.05),
        run_record("lstm", 8, 1, 0.01, 0.006), run_record("lstm", 8, 1, 0.001, 0.05),
        run_record("lstm", 16, 0, 0.01, 0.002), run_record("lstm", 16, 1, 0.01, 0.004),
        run_record("ssm", 8, 0, 0.01, 0.008), run_record("ssm", 8, 1, 0.01, 0.1),
        failed("ssm", 16, 0, "oom", "OutOfMemoryError: CUDA out of memory"),
        failed("ssm", 16, 1, "skipped", "not attempted: ssm ran out of memory at T=16"),
    ]  # fmt: skip
    for record in records:
        append_record(out, record)
    write_manifest(out, {"config": {"preset": "quick"}, "n_runs": 10})


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "results"
    known_store(out)
    write_report(out)
    return out


def test_report_tables_match_the_golden_markdown(report):
    # To accept an intended change: run this test with UPDATE_GOLDEN=1 and review the diff of the golden file.
    text = (report / REPORT_MD).read_text()
    if __import__("os").environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_mean_ci95_is_the_student_t_interval():
    mean, half = mean_ci95(pd.Series([1.0, 3.0]))
    assert mean == 2.0
    assert half == pytest.approx(12.7062, rel=1e-4)  # t(0.975, 1) * sd / sqrt(2) = 12.706 * 1.414 / 1.414
    assert math.isnan(mean_ci95(pd.Series([1.0]))[1])


def test_the_chosen_learning_rate_is_the_best_on_validation(report):
    cells = pd.read_csv(report / SUMMARY_CSV)
    lstm_8 = cells[(cells["model"] == "lstm") & (cells["seq_len"] == 8)].iloc[0]
    assert str(lstm_8["chosen_lrs"]) == "0.01"
    assert lstm_8["metric_mean"] == pytest.approx(0.005)
    assert lstm_8["n_seeds"] == 2 and lstm_8["solved_frac"] == 1.0


def test_summary_csv_has_one_row_per_task_model_and_length(report):
    cells = pd.read_csv(report / SUMMARY_CSV)
    assert sorted(zip(cells["model"], cells["seq_len"], strict=True)) == [
        ("lstm", 8),
        ("lstm", 16),
        ("ssm", 8),
        ("ssm", 16),
    ]
    ssm_16 = cells[(cells["model"] == "ssm") & (cells["seq_len"] == 16)].iloc[0]
    assert ssm_16["n_seeds"] == 0 and ssm_16["statuses"] == "oom 1, skipped 1"


def is_real_png(path: Path, min_pixels: int = 300) -> bool:
    if path.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n" or path.stat().st_size < 10_000:
        return False
    image = matplotlib.image.imread(path)
    return min(image.shape[:2]) >= min_pixels and image[..., :3].std() > 0.05  # not blank


def test_every_figure_is_a_real_png_and_linked_from_both_reports(report):
    pngs = sorted((report / FIGURES_DIR).glob("*.png"))
    names = {p.name for p in pngs}
    assert {"adding_metric_vs_length.png", "adding_learning_curves.png", "adding_loss_vs_seconds.png",
            "throughput.png", "memory.png"} <= names  # fmt: skip
    assert all(is_real_png(p) for p in pngs)
    markdown, page = (report / REPORT_MD).read_text(), (report / REPORT_HTML).read_text()
    assert all(f"{FIGURES_DIR}/{name}" in markdown for name in names)
    assert page.count("data:image/png;base64,") == len(pngs)  # self-contained: every figure embedded


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
    assert "0.003 (1/1 solved)" in text  # one seed: no interval
    assert "Failures" in text and "None" in text
    assert is_real_png(out / FIGURES_DIR / "adding_metric_vs_length.png")


def speed_row(label_model: str, mode: str, seq_len: int, status: str = "ok") -> dict:
    figures = {"median_ms": seq_len / 10, "iqr_ms": 0.1, "peak_mem_mb": seq_len / 100, "tokens_per_s": 1e5 / seq_len,
               "stream_token_ms": 0.2, "state_kb": 3.0} if status == "ok" else {}  # fmt: skip
    return {"model": label_model, "label": label_model, "mode": mode, "seq_len": seq_len, "status": status,
            "error": None if status == "ok" else "RuntimeError: can't allocate memory", "batch_size": 8,
            "params": 20000, "precision": "fp32", **ENVIRONMENT, **figures}  # fmt: skip


def test_a_speed_folder_gets_tables_exponents_and_log_log_figures(tmp_path):
    out = tmp_path / "speed"
    out.mkdir()
    for model in ("lstm", "transformer"):
        for mode in ("train", "infer"):
            for seq_len in (256, 1024, 4096):
                status = "oom" if (model, mode, seq_len) == ("transformer", "train", 4096) else "ok"
                append_record(out, speed_row(model, mode, seq_len, status), SPEED_FILE)
    write_report(out)
    text = (out / REPORT_MD).read_text()
    assert "Scaling exponent" in text and "Streaming" in text
    assert "can't allocate memory" in text.split("## Failures")[1]
    assert is_real_png(out / FIGURES_DIR / "throughput.png") and is_real_png(out / FIGURES_DIR / "memory.png")


def test_report_of_a_folder_without_results_is_one_line_exit_2(tmp_path, cli, capsys):
    (tmp_path / "empty").mkdir()
    assert cli(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no runs.jsonl" in err
    assert list((tmp_path / "empty").iterdir()) == []


def test_run_writes_its_report_unless_told_not_to(tmp_path, cli, tiny_args):
    with_report = [flag for flag in tiny_args(tmp_path / "a", "adding") if flag != "--no-report"]
    assert cli(with_report) == 0
    assert (tmp_path / "a" / REPORT_MD).is_file() and (tmp_path / "a" / SUMMARY_CSV).is_file()
    assert cli(tiny_args(tmp_path / "b", "adding")) == 0
    assert not (tmp_path / "b" / REPORT_MD).exists()
