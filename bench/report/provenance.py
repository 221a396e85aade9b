"""Where a folder's results came from, and a warning at the top of the report when that is not one clean commit."""

from __future__ import annotations

import pandas as pd

from bench.report.document import Section


def commits(records: pd.DataFrame) -> list[str]:
    """Each commit the records were made at (12 characters), marked where the checkout had uncommitted changes."""
    if "git_sha" not in records:
        return []
    dirty = records["git_dirty"] if "git_dirty" in records else pd.Series(False, index=records.index)
    pairs = {(sha, bool(d)) for sha, d in zip(records["git_sha"], dirty, strict=True) if isinstance(sha, str)}
    return sorted(f"{sha[:12]}{' (uncommitted changes)' if d else ''}" for sha, d in pairs)


def provenance_section(frames: list[pd.DataFrame]) -> Section | None:
    """A warning section when the folder's records come from more than one commit or from uncommitted changes:
    their numbers may not come from one version of the code. None when they come from one clean commit."""
    made_at = sorted({c for frame in frames if not frame.empty for c in commits(frame)})
    unknown = any(not frame.empty and "git_sha" in frame and frame["git_sha"].isna().any() for frame in frames)
    dirty = [c for c in made_at if c.endswith("(uncommitted changes)")]
    if len(made_at) <= 1 and not dirty and not unknown:
        return None
    problems = []
    if len({c.split()[0] for c in made_at}) > 1:
        problems.append(f"its results come from {len({c.split()[0] for c in made_at})} commits")
    if dirty:
        problems.append("some were made with uncommitted changes")
    if unknown:
        problems.append("some name no commit")
    text = (
        f"**This folder's results may not come from one version of the code: {'; '.join(problems)}.** "
        f"Commits: {', '.join(made_at) or 'none recorded'}. Rerun the folder's command at one clean commit for "
        "numbers to quote."
    )
    return Section("Provenance", text)
