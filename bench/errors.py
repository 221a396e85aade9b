"""The one error a user sees for bad input: a line naming the field, the value and what is allowed (exit 2).

Torch-free and import-free, so every layer, the report included, can raise it.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad input, worded as one line that names the field, the value and what is allowed."""
