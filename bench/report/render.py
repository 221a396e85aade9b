"""Three renderings of one list of sections: markdown (figures linked), HTML (markdown-it-py's rendering of
that markdown, figures embedded) and the terminal (the console summary: no figures)."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from bench.report.document import FIGURES_DIR, Section

HTML_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}"
    "img{max-width:100%;margin:.5em 0 1.5em}"
)
TERMINAL_WIDTH = 110


def _has_labels(table: pd.DataFrame) -> bool:
    """Row labels worth a column (models, fields), not 0, 1, 2, ..."""
    return not isinstance(table.index, pd.RangeIndex)


def _grid(table: pd.DataFrame, tablefmt: str = "pipe") -> str:
    """Numbers formatted as numbers (4 significant digits); text, even text that reads as a number ("20000" in a
    column that also holds "0.1"), kept as written."""
    labels = _has_labels(table)
    text_columns = [i + labels for i, dtype in enumerate(table.dtypes) if not pd.api.types.is_numeric_dtype(dtype)]
    return table.to_markdown(floatfmt=".4g", index=labels, tablefmt=tablefmt, disable_numparse=text_columns)


def render_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        for caption, table in section.tables:
            if caption:
                lines += [f"**{caption}**", ""]
            lines += [_grid(table), ""]
        for figure in section.figures:
            lines += [f"![{figure.caption}]({FIGURES_DIR}/{figure.filename})", ""]
    return "\n".join(lines)


def render_html(title: str, markdown: str, out_dir: Path) -> str:
    """The markdown rendered by markdown-it-py (tables on), each figure embedded as a data URI so the file stands
    alone."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")  # raw HTML in a message is shown, not run
    tokens = parser.parse(markdown)
    for token in tokens:
        for child in token.children or []:
            if child.type == "image" and str(child.attrGet("src")).startswith(f"{FIGURES_DIR}/"):
                png = (out_dir / str(child.attrGet("src"))).read_bytes()
                child.attrSet("src", "data:image/png;base64," + base64.b64encode(png).decode())
    body = parser.renderer.render(tokens, parser.options, {})
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escapeHtml(title)}</title>"
        f"<style>{HTML_STYLE}</style></head><body>\n{body}</body></html>\n"
    )


def render_terminal(sections: list[Section]) -> str:
    """Titles, text wrapped to the terminal and tables as plain grids; figures are left to the report."""
    lines: list[str] = []
    for section in sections:
        lines += [section.title, "=" * len(section.title)]
        for paragraph in section.text.split("\n\n") if section.text else []:
            lines += [*textwrap.wrap(paragraph, TERMINAL_WIDTH, break_on_hyphens=False), ""]
        for caption, table in section.tables:
            if caption:
                lines.append(caption)
            lines += [_grid(table, "simple"), ""]
    return "\n".join(lines).rstrip()
