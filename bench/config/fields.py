"""Field rules shared by every command's configuration, and pydantic's errors as one line."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


def split_commas(value: Any) -> Any:
    """Accept "50,100" from the command line as well as [50, 100] from TOML."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return value


def each_once(values: list) -> list:
    # A repeated value would plan, run and store the same run twice under one run_key.
    repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
    if repeated:
        raise ValueError(f"each value may appear once; repeated: {', '.join(map(str, repeated))}")
    return values


def positive(values: list) -> list:
    if any(v <= 0 for v in values):
        raise ValueError("every value must be > 0")
    return values


def one_line(exc: ValidationError, config: type[BaseModel]) -> str:
    """The first error, as 'field: message (got value)'."""
    err = exc.errors()[0]
    message = err["msg"].removeprefix("Value error, ")
    if not err["loc"]:  # a cross-field rule: its message names the fields itself
        return message
    field = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(config.model_fields)
        return f"{field}: unknown key; allowed keys: {allowed}"
    if err["type"] == "missing":
        return f"{field}: required"
    got = repr(err["input"])
    if isinstance(err["input"], dict):  # a nested table: the message names the culprit already
        return f"{field}: {message}"
    return f"{field}: {message}" if got in message else f"{field}: {message} (got {got})"
