"""A report says at the top when its folder's results do not come from one clean commit."""

from __future__ import annotations

import pandas as pd

from bench.report.provenance import provenance_section


def runs(*commits: tuple[str, bool]) -> pd.DataFrame:
    return pd.DataFrame([{"git_sha": sha, "git_dirty": dirty} for sha, dirty in commits])


def test_one_clean_commit_needs_no_warning():
    assert provenance_section([runs(("a" * 40, False), ("a" * 40, False)), pd.DataFrame()]) is None


def test_two_commits_are_named():
    section = provenance_section([runs(("a" * 40, False)), runs(("b" * 40, False))])
    assert section is not None and "2 commits" in section.text and "a" * 12 in section.text and "b" * 12 in section.text


def test_uncommitted_changes_are_named():
    section = provenance_section([runs(("a" * 40, True))])
    assert section is not None and "uncommitted changes" in section.text


def test_records_without_a_commit_are_named():
    section = provenance_section([runs(("a" * 40, False), (None, None))])
    assert section is not None and "name no commit" in section.text
