"""The building blocks of the record models (``bench.store.schemas``, ``bench.store.row_schemas``): strict, finite
records open to fields they do not name, the count and number types, the statuses, and the checks they share."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Counts are read into float64 columns by the analysis (medians, sums) and cast back to integers: above 2**53 a
# float64 no longer holds every integer, and above 2**63 the cast overflows.
MAX_COUNT = 2**53
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Positive = Annotated[int, Field(gt=0, le=MAX_COUNT)]
Number = float  # strict: an int or a float, never a string or a bool; finite (allow_inf_nan=False)

RUN_STATUSES = ("ok", "diverged", "oom", "timeout", "error", "skipped")  # bench.sweep.training, bench.engines
JOB_STATUSES = ("ok", "oom", "timeout", "error", "skipped")  # any job's: the pipeline's failure records
SPEED_STATUSES = (*JOB_STATUSES, "unavailable")  # sampling from a model that cannot stream, or a run not found
RunStatus = Literal["ok", "diverged", "oom", "timeout", "error", "skipped"]
SpeedStatus = Literal["ok", "oom", "timeout", "error", "skipped", "unavailable"]
JobStatus = Literal["ok", "oom", "timeout", "error", "skipped"]


class Record(BaseModel):
    """Strict, finite, open to fields it does not name."""

    model_config = ConfigDict(
        extra="allow", strict=True, allow_inf_nan=False, protected_namespaces=(), populate_by_name=True
    )

    def extras(self) -> dict[str, Any]:
        return self.__pydantic_extra__ or {}


def _numbers(record: Record, prefixes: tuple[str, ...]) -> None:
    """Every field the record does not name whose name starts with one of ``prefixes`` is a number or null (a
    metric: test_loss, val_accuracy, baseline_loss, ...)."""
    for key, value in record.extras().items():
        if key.startswith(prefixes) and not _is_number_or_null(value):
            raise ValueError(f"{key}: a number or null, got {_shown(value)}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_number_or_null(value: object) -> bool:
    return value is None or _is_number(value)


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _require_numbers(record: Record, *names: str, because: str) -> None:
    """Each of ``names`` is present and a number (not null)."""
    for name in names:
        value = getattr(record, name, None) if name in type(record).model_fields else record.extras().get(name)
        if not _is_number(value):
            raise ValueError(f"{name}: a number is required {because} (got {_shown(value)})")


