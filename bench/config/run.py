"""``python -m bench run``: one sweep, task x model x length x seed x learning rate, and where it executes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

import models
import tasks
from bench.config.comparison import ComparisonConfig
from bench.config.fields import (
    MAX_EVAL_SIZE,
    MAX_GPUS,
    MAX_LENGTH,
    MAX_MEMORY_MB,
    MAX_SEED,
    MAX_STEPS,
    MAX_THREADS,
    MAX_TIME_MIN,
    at_most,
    each_once,
    finite_everywhere,
    positive,
    shown,
    split_commas,
)
from bench.config.presets import PRESETS
from bench.train.budget import OPTIMIZER_PARAMS, SCHEDULE_PARAMS
from tasks.registry_errors import unknown_name

EVAL_LENGTH = re.compile(r"\d+(\.\d+)?x|\d+")
ENGINE_FLAGS = {  # engine-specific fields -> the executors they apply to
    "ray_address": ("ray",),
    "cpus_per_run": ("ray", "slurm"),
    "gpus_per_run": ("ray", "slurm"),
    "partition": ("slurm",),
    "time_min": ("slurm",),
    "slurm_cluster": ("slurm",),
}
REMOTE_EXTRAS = {"ray": ("ray", "ray"), "slurm": ("submitit", "slurm")}  # executor -> (module, extra)
REMOTE_WORKERS = 8  # runs in flight on a cluster by default; the engine queues the rest


def _default(field: str) -> object:
    """A RunConfig field's default (its default factory's value, where it has one)."""
    info = RunConfig.model_fields[field]
    return info.default_factory() if info.default_factory is not None else info.default


class RunConfig(ComparisonConfig):
    task_params: dict[str, Any] = Field(default_factory=dict)
    eval_lengths: list[str] = Field(default_factory=list)  # "2x" (times the trained length) or a length
    preset: str = "quick"
    seeds: list[int] = Field(min_length=1)
    lrs: list[float] = Field(min_length=1)
    steps: int = Field(gt=0, le=MAX_STEPS)
    warmup_frac: float = Field(ge=0.0, lt=1.0)
    weight_decay: float = Field(ge=0.0)
    clip_norm: float | None = Field(gt=0.0)  # None ("none"): no clipping
    # The rest of the training recipe (bench.train.budget): defaults are what every run used before they existed.
    optimizer: Literal["adamw", "adam", "rmsprop", "sgd"] = "adamw"
    betas: list[float] = Field(default_factory=lambda: [0.9, 0.999], min_length=2, max_length=2)  # adam, adamw
    eps: float = Field(default=1e-8, gt=0.0, le=1.0)  # adam, adamw, rmsprop
    alpha: float = Field(default=0.99, ge=0.0, le=1.0)  # rmsprop
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)  # rmsprop, sgd
    schedule: Literal["cosine", "constant", "step"] = "cosine"  # after the linear warm-up of warmup_frac
    step_every: int | None = Field(default=None, gt=0, le=MAX_STEPS)  # step schedule
    step_gamma: float = Field(default=0.1, gt=0.0, le=1.0)  # step schedule
    widths: dict[str, int] = Field(default_factory=dict)  # model -> a width built at, instead of the params target
    eval_every: int = Field(gt=0, le=MAX_STEPS)
    val_size: int = Field(gt=0, le=MAX_EVAL_SIZE)
    test_size: int = Field(gt=0, le=MAX_EVAL_SIZE)
    executor: Literal["subprocess", "inline", "ray", "slurm"] = "subprocess"
    workers: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    ray_address: str | None = None
    cpus_per_run: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    gpus_per_run: float | None = Field(default=None, ge=0, le=MAX_GPUS)
    partition: str | None = None
    time_min: int | None = Field(default=None, gt=0, le=MAX_TIME_MIN)
    slurm_cluster: Literal["slurm", "local"] = "slurm"  # local: submitit runs the jobs as local processes
    memory_limit_mb: int | None = Field(default=None, gt=0, le=MAX_MEMORY_MB)
    numerics: Literal["portable", "native"] = "portable"  # bench.measure.numerics
    retry_failed: bool = False
    skip_after_oom: bool = True
    report: bool = True  # write the report at the end of the sweep
    checkpoints: bool = True  # keep each finished run's final weights (for gradients and speed --from)
    pack: bool = False  # train the seeds x learning rates of a model and length together (bench.sweep.packing)
    compile: bool = False  # the model's forward and backward through torch.compile: placement, not identity

    _split_grid = field_validator("seeds", "lrs", "betas", mode="before")(split_commas)

    @field_validator("clip_norm", mode="before")
    @classmethod
    def _no_clipping(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() == "none" else value

    @field_validator("betas")
    @classmethod
    def _betas_below_one(cls, values: list[float]) -> list[float]:
        if any(not 0.0 <= v < 1.0 for v in values):
            raise ValueError("each of the two betas must be in [0, 1)")
        return values

    @field_validator("widths", mode="before")
    @classmethod
    def _width_items(cls, value: Any) -> Any:
        """``lstm=128,transformer=64`` from the command line, a table from TOML."""
        if not isinstance(value, str):
            return value
        widths: dict[str, Any] = {}
        for item in split_commas(value):
            model, sep, width = item.partition("=")
            if not (sep and model.strip() and width.strip()):
                raise ValueError(f"expected MODEL=WIDTH items, e.g. lstm=128,transformer=64; got {shown(item)}")
            widths[model.strip()] = width.strip()
        return widths

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, widths: dict[str, int]) -> dict[str, int]:
        if any(w <= 0 for w in widths.values()):
            raise ValueError("every width must be > 0")
        return widths

    @field_validator("task_params")
    @classmethod
    def _finite_task_params(cls, given: dict[str, Any]) -> dict[str, Any]:
        return finite_everywhere(given)

    @field_validator("eval_lengths", mode="before")
    @classmethod
    def _eval_length_items(cls, values: Any) -> Any:
        values = split_commas(values)
        if not isinstance(values, list):
            return values
        items = [str(v).strip() for v in values]
        for item in items:
            if not EVAL_LENGTH.fullmatch(item) or float(item.rstrip("x")) <= 0:
                raise ValueError(
                    f"each item is a multiple of the trained length like 2x or a length like 512; got {shown(item)}"
                )
            if float(item.rstrip("x")) > MAX_LENGTH:  # a multiple too: every trained length is >= 1
                bound = f"{MAX_LENGTH} (MAX_LENGTH, 2**20 steps)"
                raise ValueError(f"every tested length must be <= {bound}; got {shown(item)}")
        return each_once(items)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str) -> str:
        if name not in PRESETS:
            raise ValueError(unknown_name("preset", name, PRESETS))
        return name

    @field_validator("lrs")
    @classmethod
    def _positive_lrs(cls, values: list[float]) -> list[float]:
        return each_once(positive(values))

    @field_validator("seeds")
    @classmethod
    def _non_negative(cls, values: list[int]) -> list[int]:
        if any(v < 0 for v in values):
            raise ValueError("every seed must be >= 0")
        return each_once(at_most(values, MAX_SEED, "MAX_SEED, 2**63 - 1: torch takes a 64-bit seed"))

    @model_validator(mode="after")
    def _cross_field(self) -> RunConfig:
        for limit in ("timeout_s", "memory_limit_mb"):  # enforced on a child process by its parent
            if getattr(self, limit) is not None and self.executor == "inline":
                raise ValueError(f"{limit}: needs each run in its own process: executor subprocess, ray or slurm")
        if self.executor == "inline" and self.numerics == "portable":
            raise ValueError(
                "numerics: portable pins torch's CPU kernels before torch loads, which needs each run in its own "
                "process: executor subprocess, ray or slurm; or give --numerics native"
            )
        if self.executor == "inline" and (self.workers or 1) > 1:
            raise ValueError("workers: executor inline runs one run at a time; use executor subprocess")
        if self.compile and self.pack:
            raise ValueError("compile: packed training (pack) runs its own vmapped step, which is not compiled")
        self._check_engine_flags()
        self._check_recipe()
        self._check_lengths_fit_models(self.checked_task())
        return self

    def _check_recipe(self) -> None:
        """A parameter of another optimiser or schedule than the one chosen is refused: it would change the run key
        and nothing else. One given at its default is no change (a manifest records every field, defaults too)."""
        for name, reads in (("optimizer", OPTIMIZER_PARAMS), ("schedule", SCHEDULE_PARAMS)):
            chosen = getattr(self, name)
            for field in {p for params in reads.values() for p in params} - set(reads[chosen]):
                if field in self.model_fields_set and getattr(self, field) != _default(field):
                    users = " or ".join(k for k, params in reads.items() if field in params)
                    raise ValueError(f"{field}: applies to {name} {users} (got {name} {chosen})")
        if self.schedule == "step" and self.step_every is None:
            raise ValueError("step_every: the step schedule needs the steps between decays, e.g. --step-every 1000")
        unknown = [name for name in self.widths if name not in self.models]
        if unknown:
            raise ValueError(f"widths: {', '.join(unknown)} not among the models ({', '.join(self.models)})")

    def check_models_fit(self, spec: tasks.TaskSpec) -> None:
        """As for every comparison, except that a model given a width is built at it rather than sized."""
        sized = [name for name in self.models if name not in self.widths]
        if sized:
            ComparisonConfig.check_models_fit(self.model_copy(update={"models": sized}), spec)
        for name, width in self.widths.items():
            try:
                models.check_fits_task(name, spec, **self.options_of(name))
                models.build_model(name, spec, width=width, **self.options_of(name))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"widths: {name} at width {width}: {exc}") from None

    def eval_lengths_for(self, seq_len: int) -> tuple[int, ...]:
        """The lengths a model trained at ``seq_len`` is also tested at, longer ones only, sorted."""
        lengths = {round(float(i[:-1]) * seq_len) if i.endswith("x") else int(i) for i in self.eval_lengths}
        return tuple(sorted(n for n in lengths if n > seq_len))

    def _check_lengths_fit_models(self, task: tasks.Task) -> None:
        """A family with a length limit (a learned position table) must cover every sequence the sweep will show
        it, trained or tested."""
        longest = max(max(self.eval_lengths_for(n), default=n) for n in self.lengths)
        if longest > MAX_LENGTH:  # an explicit length, or a multiple of the longest trained length
            raise ValueError(
                f"eval_lengths: every tested length must be <= {MAX_LENGTH} (MAX_LENGTH, 2**20 steps); "
                f"{', '.join(self.eval_lengths)} reaches {longest}"
            )
        for name in self.models:
            try:
                models.check_length(name, self.options_of(name), task.total_length(longest))
            except ValueError as exc:
                raise ValueError(f"{'eval_lengths' if self.eval_lengths else 'lengths'}: {exc}") from None

    def _check_engine_flags(self) -> None:
        for name, engines in ENGINE_FLAGS.items():
            if name in self.model_fields_set and self.executor not in engines:
                raise ValueError(f"{name}: applies to executor {' or '.join(engines)} (got executor {self.executor!r})")
        extra = REMOTE_EXTRAS.get(self.executor)
        if extra is not None and importlib.util.find_spec(extra[0]) is None:
            raise ValueError(f"executor: {self.executor} needs the optional extra: pip install 'seqbench[{extra[1]}]'")

    @property
    def runs_here(self) -> bool:
        return self.executor in ("inline", "subprocess")

    @property
    def max_workers(self) -> int:
        """Runs in flight at most: --workers, else one here and REMOTE_WORKERS on a cluster."""
        if self.workers is not None:
            return self.workers
        return 1 if self.runs_here else REMOTE_WORKERS

    @property
    def run_gpus(self) -> float:
        """GPUs a Ray task or SLURM job asks for: --gpus-per-run, else one for a CUDA run."""
        if self.gpus_per_run is not None:
            return self.gpus_per_run
        return 1.0 if self.device == "cuda" else 0.0

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else Path("results") / f"{self.task}-{self.preset}"
