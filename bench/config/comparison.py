"""What every command that compares models needs: which models, at which lengths, at what size, where."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

import models
import tasks
from bench.config.fields import (
    MAX_BATCH_SIZE,
    MAX_LENGTH,
    MAX_PARAMS,
    MAX_THREADS,
    MAX_TIMEOUT_S,
    at_most,
    each_once,
    finite_everywhere,
    positive,
    split_commas,
)
from bench.contract import require
from tasks.plugins import canonical
from tasks.registry_errors import unknown_name


class ComparisonConfig(BaseModel):
    # allow_inf_nan: every float, from a flag or a TOML file, is finite (NaN passes no bound: nan > 0 is False).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    task: str
    variant: str | None = None  # the task's published variant (tasks.task_variants); None: its default
    models: list[str] = Field(default_factory=lambda: list(models.DEFAULT_MODELS), min_length=1)
    lengths: list[int] = Field(min_length=1)
    batch_size: int = Field(gt=0, le=MAX_BATCH_SIZE)
    params: int = Field(gt=0, le=MAX_PARAMS)  # and then by the widths the models can take (check_models_fit)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(default=None, gt=0, le=MAX_THREADS)
    timeout_s: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT_S)
    model_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    out: Path | None = None

    _split_lists = field_validator("models", "lengths", mode="before")(split_commas)

    @field_validator("task")
    @classmethod
    def _known_task(cls, name: str) -> str:
        name = canonical(name)  # a plugin file as records store it: relative to the working directory
        tasks.task_variants(name)  # an unknown name, or a plugin that cannot load, raises naming it
        require(name, "task")  # a plugin task passes the contract checks first (bench.contract)
        return name

    @field_validator("models")
    @classmethod
    def _known_models(cls, names: list[str]) -> list[str]:
        names = [canonical(name) for name in names]
        for name in names:
            models.model_options(name)  # an unknown name, or a plugin that cannot load, raises naming it
            require(name, "model")  # a plugin family passes the contract checks first (bench.contract)
        return each_once(names)

    @field_validator("lengths")
    @classmethod
    def _positive_lengths(cls, values: list[int]) -> list[int]:
        return each_once(at_most(positive(values), MAX_LENGTH, "MAX_LENGTH, 2**20 steps"))

    @model_validator(mode="after")
    def _known_variant(self) -> ComparisonConfig:
        if self.variant is not None and self.variant not in tasks.task_variants(self.task):
            allowed = tasks.task_variants(self.task)
            raise ValueError(f"variant: {unknown_name(f'{self.task} variant', self.variant, allowed)}")
        given = getattr(self, "task_params", {}).get("variant")
        if self.variant is not None and given is not None and given != self.variant:
            raise ValueError(f"variant: {self.variant!r} and task_params.variant {given!r} disagree; give one")
        return self

    @property
    def task_arguments(self) -> dict[str, Any]:
        """What ``tasks.get_task(self.task, ...)`` is given: the task parameters, and the variant if named."""
        params = dict(getattr(self, "task_params", {}))
        return {**params, "variant": self.variant} if self.variant is not None else params

    @model_validator(mode="after")
    def _device_present(self) -> ComparisonConfig:
        if self.device == "cuda" and self.runs_here and not torch.cuda.is_available():
            raise ValueError("device: CUDA is not available on this machine; use --device cpu or auto")
        return self

    @property
    def runs_here(self) -> bool:
        """Whether the work executes on this machine (else on a cluster, whose devices this one cannot see)."""
        return True

    @field_validator("model_options")
    @classmethod
    def _known_options(cls, given: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        finite_everywhere(given)
        given = {canonical(name): options for name, options in given.items()}
        for name, options in given.items():
            models.model_options(name)  # an unknown name raises naming it
            try:
                models.parse_options(name, options)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}: {exc}") from None
        return given

    @property
    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    def options_of(self, model: str) -> dict[str, Any]:
        """The options given for ``model`` (defaults not filled in)."""
        return self.model_options.get(model, {})

    def checked_task(self) -> tasks.Task:
        """The task in its variant at its parameters, once every length and model is known to suit it."""
        try:
            task = tasks.get_task(self.task, **self.task_arguments)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"task_params: {exc}") from None
        too_short = [n for n in self.lengths if n < task.min_length]
        if too_short:
            raise ValueError(f"lengths: {self.task} needs every length >= {task.min_length}, got {too_short}")
        self.check_models_fit(task.spec)
        return task

    def check_models_fit(self, spec: tasks.TaskSpec) -> None:
        """A model that cannot serve the task, or an unreachable parameter target, fails now, not after hours."""
        for name in self.models:
            try:
                models.check_fits_task(name, spec, **self.options_of(name))
            except ValueError as exc:
                raise ValueError(f"model_options: {exc}") from None
            try:
                models.solve_width(name, spec, self.params, **self.options_of(name))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"params: {exc}") from None
