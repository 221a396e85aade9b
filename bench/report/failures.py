"""The report's list of everything that failed or was skipped: kept, never dropped."""

from __future__ import annotations

import pandas as pd

from bench.report.document import Section

ERROR_CHARS = 160  # a failure's message in the table; the store keeps it whole
FAILURE_COLUMNS = ["source", "model", "seq_len", "seed", "lr", "mode", "status", "error"]


def failures_section(runs: pd.DataFrame, speed: pd.DataFrame) -> Section:
    frames = []
    for source, frame in (("run", runs), ("speed", speed)):
        if not frame.empty and "status" in frame:
            failed = frame[frame["status"] != "ok"].assign(source=source)
            if "label" in failed:
                failed = failed.assign(model=failed["label"].fillna(failed["model"]))
            frames.append(failed.reindex(columns=FAILURE_COLUMNS))
    failures = pd.concat(frames) if frames else pd.DataFrame(columns=FAILURE_COLUMNS)
    if failures.empty:
        return Section("Failures", "None: every run and configuration finished.")
    # A failure without a message (null) reads as ""; map, not fillna: a column of nulls alone is float64
    failures = failures.assign(error=failures["error"].map(lambda e: e[:ERROR_CHARS] if isinstance(e, str) else ""))
    failures = failures.dropna(axis=1, how="all").sort_values(["source", "model", "seq_len"])
    text = (
        f"{len(failures)} failed or skipped (oom: out of memory; diverged: non-finite loss; timeout; error: an "
        "exception; skipped: not attempted because a shorter length of the same model failed; unavailable: the model "
        "cannot do this, e.g. sample without streaming). Kept, never dropped."
    )
    return Section("Failures", text, tables=[("", failures.reset_index(drop=True))])


def unreadable_section(unreadable: list) -> Section | None:
    """The stored lines the report could not read (``ResultsFolder.unreadable``): which file and line, and why.
    None when every line was read."""
    if not unreadable:
        return None
    rows = [
        {"file": u.file, "line": str(u.line) if u.line else "(the file)", "reason": _cell(u.reason)}
        for u in unreadable
    ]
    files = sorted({u.file for u in unreadable})
    text = (
        f"**{len(unreadable)} stored line{'s' if len(unreadable) != 1 else ''} of {', '.join(files)} could not be "
        "read, and nothing in this report counts them**: each is not one JSON object, holds NaN or Infinity, or lacks "
        "(or mistypes) a field the report relies on. The files are left as they are: fix or remove those lines and "
        "rerun `python -m bench report`."
    )
    return Section("Unreadable records", text, tables=[("", pd.DataFrame(rows, columns=["file", "line", "reason"]))])


def _cell(text: str) -> str:
    """A reason as one table cell: shortened, and no character that would end the cell or the row."""
    text = text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."
    return text.replace("|", "\\|").replace("\n", " ")
