"""One list of sections, three renderings: markdown, HTML that is markdown-it-py's rendering of it (markdown
rendered, not shown as text), and the terminal."""

from __future__ import annotations

import pandas as pd

from bench.report.document import Section
from bench.report.render import render_html, render_markdown, render_terminal

SECTIONS = [
    Section("Results", "**Bold claim** and `code`.\n\n- first verdict\n- second verdict",
            tables=[("A caption", pd.DataFrame({"T=8": ["0.5 <script>alert(1)</script>"]}, index=["lstm"]))]),
]  # fmt: skip


def test_html_renders_the_markdown_instead_of_showing_it(tmp_path):
    page = render_html("a <title>", render_markdown("a <title>", SECTIONS), tmp_path)
    assert "<strong>Bold claim</strong>" in page and "<code>code</code>" in page
    assert "<li>first verdict</li>" in page and "<table>" in page and ">lstm</td>" in page
    assert "**" not in page and "\n- " not in page  # nothing of the markdown syntax left as text
    assert "<script>" not in page and "&lt;script&gt;" in page  # text from records is text, never markup
    assert "<title>a &lt;title&gt;</title>" in page


def test_numbers_written_as_text_keep_their_digits():
    table = pd.DataFrame({"value": {"steps": "500", "target_params": "20000", "warmup_frac": "0.1"}})
    markdown = render_markdown("t", [Section("Budget", tables=[("", table)])])
    assert "| 20000 " in markdown and "2e+04" not in markdown


def test_the_terminal_shows_titles_text_and_tables_but_no_figures():
    text = render_terminal([Section("Results", "Some text.", figures=[]), *SECTIONS])
    assert text.startswith("Results\n=======") and "A caption" in text and "lstm" in text and "![" not in text
