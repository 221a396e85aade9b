"""``python -m bench speed``: cost against length, no training to convergence."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

import models
import tasks
from bench.config.comparison import ComparisonConfig
from bench.config.fields import (
    MAX_LENGTH,
    MAX_PACK,
    MAX_REPEATS,
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    at_most,
    each_once,
    positive,
    split_commas,
)
from bench.config.presets import PRESETS

SPEED_DEFAULTS: dict[str, Any] = {
    "task": "copying",  # token inputs, a class at every step: the shape of language-model training
    "lengths": [256, 1024, 4096, 16384],
    "batch_size": 8,
    "params": PRESETS["quick"]["params"],
    "repeats": 5,
    "timeout_s": 300.0,
}


class SpeedConfig(ComparisonConfig):
    repeats: int = Field(gt=0, le=MAX_REPEATS)
    stream_tokens: int = Field(default=1024, gt=0, le=MAX_LENGTH)
    precision: Literal["fp32", "bf16"] = "fp32"
    bare: bool = False
    generate: list[int] = Field(default_factory=list)  # generated lengths at which sampling cost is reported
    temperature: float = Field(default=1.0, ge=MIN_TEMPERATURE, le=MAX_TEMPERATURE)
    source: Path | None = None  # a results folder of `run`: sample from its trained models
    # native by default: a timing is not reproducible bit for bit anyway, and the portable kernels cost up to 2x
    # (the Transformer's training step on a 2-core AVX-512 CPU), which would be charged to the model
    numerics: list[Literal["portable", "native"]] = Field(default_factory=lambda: ["native"], min_length=1)
    pack: int = Field(default=1, ge=1, le=MAX_PACK)  # G > 1: also time G members trained together
    cuda_graphs: bool = False
    compile: bool = False  # the training step's forward and backward through torch.compile

    _split_speed_lists = field_validator("generate", "numerics", mode="before")(split_commas)

    @field_validator("numerics")
    @classmethod
    def _numerics_once(cls, values: list[str]) -> list[str]:
        return each_once(values)

    @field_validator("generate")
    @classmethod
    def _positive_generate(cls, values: list[int]) -> list[int]:
        return each_once(at_most(positive(values), MAX_LENGTH, "MAX_LENGTH, 2**20 steps"))

    @model_validator(mode="after")
    def _cross_field(self) -> SpeedConfig:
        spec = tasks.get_task(self.task, **self.task_arguments).spec
        self.check_models_fit(spec)
        if self.generate and not (spec.input_kind == "tokens" and spec.output_kind == "classes"):
            raise ValueError(f"generate: needs a token task, whose outputs can be fed back in; {self.task} is not one")
        if self.source is not None and not self.generate:
            raise ValueError("source: trained models are used by --generate only; give --generate too")
        if self.bare:
            self._check_core_layers(spec)
        if self.cuda_graphs and self.resolved_device != "cuda":
            raise ValueError(f"cuda_graphs: needs a CUDA device; this run's device is {self.resolved_device}")
        if self.pack > 1 and not any(models.packable(name) for name in self.models):
            packable = ", ".join(name for name in models.MODELS if models.packable(name))
            raise ValueError(f"pack: none of the models can be packed; those that can: {packable}")
        return self

    def _check_core_layers(self, spec: tasks.TaskSpec) -> None:
        """--bare times a family's core layer alone: options that leave no single layer are refused."""
        for name in self.models:
            try:
                models.core_layer_name(name, spec, self.options_of(name))
            except ValueError as exc:
                raise ValueError(f"bare: {exc}") from None

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else Path("results") / f"speed-{self.resolved_device}"
