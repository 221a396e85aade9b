"""One wording for "unknown name" errors, shared by the task and model registries."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> str:
    """``unknown model 'lstn' (did you mean 'lstm'?); choose from: rnn, lstm, ...``."""
    valid = list(valid)
    if not valid:
        return f"unknown {kind} '{name}'; there are none"
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{name}'{hint}; choose from: {', '.join(valid)}"
