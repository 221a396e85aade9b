"""The report's gradient-flow section: curves, verdicts and the figure, also for a folder of gradients alone."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_the_report_shows_the_curves_verdicts_and_figure(trained_folder, cli):
    argv = ["gradients", "--task", "copying", "--from", str(trained_folder), "--batch-size", "4", "--models", "rnn,ssm",
            "--no-progress"]  # fmt: skip
    assert cli(argv) == 0  # writes the folder's report at the end
    report = (trained_folder / "report.md").read_text()
    assert "## Gradient flow through time" in report
    assert "a tanh RNN decays exponentially with distance (trained" in report and "decades lost / 100 steps" in report
    figure = trained_folder / "figures" / "gradient_flow.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "figures/gradient_flow.png" in report


@pytest.mark.slow
def test_a_folder_of_gradients_alone_has_a_report(tmp_path, cli):
    argv = ["gradients", "--task", "adding", "--models", "rnn,lstm", "--lengths", "6", "--batch-size", "2",
            "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    assert cli(argv) == 0
    assert "## Gradient flow through time" in (tmp_path / "report.md").read_text()
    assert cli(["report", str(tmp_path)]) == 0
