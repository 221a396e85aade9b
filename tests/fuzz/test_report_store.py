"""``python -m bench report DIR`` on any store: real records, mutated (``tests/fuzz/stores.py``). The report is
written, with every line it could not read listed (file, line, why), or the command refuses in one line, exit 2.
Never a traceback."""

from __future__ import annotations

import contextlib
import re
from unittest import mock

import matplotlib.pyplot as plt
from hypothesis import given, settings

import bench.report.figures
from bench.report.document import Figure, ReportContext
from bench.report.write import REPORT_HTML, REPORT_MD
from tests.fuzz.harness import ACCEPTED, EXAMPLES_RUN, examples, invoke, sandbox, snapshot
from tests.fuzz.stores import Store, stores

PNG = b"\x89PNG\r\n\x1a\n"  # what a stubbed figure writes: the report links and embeds it like any other


@contextlib.contextmanager
def figures_stubbed():
    """Figures are not drawn at all: the report's tables and text, fast."""

    def figure(self, caption, filename, draw):
        return Figure(caption, filename, lambda path: path.write_bytes(PNG))

    with mock.patch.object(ReportContext, "figure", figure):
        yield


@contextlib.contextmanager
def figures_plotted():
    """Figures are plotted with the data (seaborn runs), but not rasterised to PNG: the slow part left out."""

    def save(fig, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.canvas.draw_idle()
        plt.close(fig)
        path.write_bytes(PNG)
        return path

    with mock.patch.object(bench.report.figures, "_save", save):
        yield


def check_report(store: Store) -> None:
    EXAMPLES_RUN["report (store)"] += 1
    with sandbox() as root:
        folder = root / "results"
        store.write(folder)
        before = snapshot(root)
        outcome = invoke(["report", str(folder)], stop=False)
        assert outcome.code in (0, 2), f"exit code {outcome.code!r}; stderr: {outcome.stderr!r}"
        if outcome.code == 2:
            assert outcome.stderr.count("\n") == 1 and outcome.stderr.endswith("\n"), outcome.stderr
            assert snapshot(root) == before, "a refused report wrote something"
            return
        ACCEPTED["report (store)"] += 1
        report = (folder / REPORT_MD).read_text()
        assert (folder / REPORT_HTML).is_file()
        for filename, line in store.must_be_listed():
            listed = re.search(rf"\|\s*{re.escape(filename)}\s*\|\s*{line}\s*\|", report)
            assert listed, f"{filename} line {line} is unreadable but not listed in the report"


@settings(max_examples=examples(40))
@given(stores())
def test_the_report_survives_any_store(store):
    with figures_stubbed():
        check_report(store)


@settings(max_examples=examples(4))
@given(stores())
def test_the_report_survives_any_store_figures_included(store):
    with figures_plotted():
        check_report(store)
