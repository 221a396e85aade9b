"""Lengths not worth attempting: once a series (a model, or a model and a mode) fails at length L, longer
lengths would fail too."""

from __future__ import annotations

from collections.abc import Hashable


class ShortestFailure:
    """The shortest length at which each series failed."""

    def __init__(self) -> None:
        self._lengths: dict[Hashable, int] = {}

    def add(self, key: Hashable, length: int) -> None:
        self._lengths[key] = min(length, self._lengths.get(key, length))

    def blocking(self, key: Hashable, length: int) -> int | None:
        """The shorter length that failed for ``key``, if ``length`` is past it; else None."""
        failed = self._lengths.get(key)
        return failed if failed is not None and length > failed else None
