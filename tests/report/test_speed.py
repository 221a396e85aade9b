"""The report of a speed folder: its tables, scaling exponents, failures, and log-log figures."""

from __future__ import annotations

import pytest

from bench.report.document import FIGURES_DIR
from bench.report.write import REPORT_MD, write_report
from bench.store.files import SPEED_FILE
from bench.store.jsonl import append_record
from tests.helpers import is_real_png, speed_row


@pytest.mark.slow
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
