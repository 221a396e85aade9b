"""The one error a user sees for bad input: a line naming the field, the value and what is allowed (exit 2).

Torch-free and import-free, so every layer, the report included, can raise it.
"""

from __future__ import annotations

# Every character that ends a line for str.splitlines (a terminal breaks on fewer): written escaped instead.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def one_line(message: str) -> str:
    """``message`` with every line break written as its escape (``\\n``): a path or name quoted in a message may
    hold one, and the message must stay one line."""
    return "".join(repr(c)[1:-1] if c in LINE_BREAKS else c for c in message)


class ConfigError(ValueError):
    """A bad input, worded as one line that names the field, the value and what is allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(str(message)))
