"""``python -m bench gradients``: gradient norm against distance, at initialisation and trained."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bench.config.comparison import ComparisonConfig
from bench.config.fields import MAX_SEED, at_most, each_once, finite_everywhere, split_commas


class GradientsConfig(ComparisonConfig):
    task_params: dict[str, Any] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    source: Path | None = None  # a results folder of `run` with the trained runs; None: initialisation only
    report: bool = True
    numerics: Literal["portable", "native"] = "portable"  # bench.measure.numerics

    _split_seeds = field_validator("seeds", mode="before")(split_commas)

    @field_validator("seeds")
    @classmethod
    def _seeds_in_range(cls, values: list[int]) -> list[int]:
        if any(v < 0 for v in values):
            raise ValueError("every seed must be >= 0")
        return each_once(at_most(values, MAX_SEED, "MAX_SEED, 2**63 - 1: torch takes a 64-bit seed"))

    @field_validator("task_params")
    @classmethod
    def _finite_task_params(cls, given: dict[str, Any]) -> dict[str, Any]:
        return finite_everywhere(given)

    @model_validator(mode="after")
    def _cross_field(self) -> GradientsConfig:
        self.checked_task()
        return self

    @property
    def out_dir(self) -> Path:
        """Beside the trained runs by default, so their report shows the curves."""
        if self.out is not None:
            return self.out
        return self.source if self.source is not None else Path("results") / f"{self.task}-quick"
