"""One strict, frozen sweep configuration: preset < TOML file < command-line flags.

Unknown keys are rejected, names are checked against the registries (with a close-match
suggestion), numbers must be positive, and cross-field rules (a length each task allows,
options each model knows) hold before anything is written to disk.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import models
import tasks
from bench.presets import PRESETS
from tasks.registry_errors import unknown_name


class ConfigError(ValueError):
    """A bad input, worded as one line that names the field, the value and what is allowed."""


def _split_commas(value: Any) -> Any:
    """Accept "50,100" from the command line as well as [50, 100] from TOML."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return value


class _ComparisonConfig(BaseModel):
    """What every command that compares models needs: which, at which lengths, at what size, where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str
    models: list[str] = Field(default_factory=lambda: list(models.DEFAULT_MODELS), min_length=1)
    lengths: list[int] = Field(min_length=1)
    batch_size: int = Field(gt=0)
    params: int = Field(gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(default=None, gt=0)
    timeout_s: float | None = Field(default=None, gt=0)
    model_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    out: Path | None = None

    _split_lists = field_validator("models", "lengths", mode="before")(_split_commas)

    @field_validator("task")
    @classmethod
    def _known_task(cls, name: str) -> str:
        if name not in tasks.TASKS:
            raise ValueError(unknown_name("task", name, tasks.TASKS))
        return name

    @field_validator("models")
    @classmethod
    def _known_models(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in models.MODELS:
                raise ValueError(unknown_name("model", name, models.MODELS))
        return _each_once(names)

    @field_validator("lengths")
    @classmethod
    def _positive_lengths(cls, values: list[int]) -> list[int]:
        return _each_once(_positive(values))

    @model_validator(mode="after")
    def _device_present(self) -> _ComparisonConfig:
        if self.device == "cuda" and self.runs_here and not torch.cuda.is_available():
            raise ValueError("device: CUDA is not available on this machine; use --device cpu or auto")
        return self

    @property
    def runs_here(self) -> bool:
        """Whether the runs execute on this machine (else on a cluster, whose devices this one cannot see)."""
        return True

    @field_validator("model_options")
    @classmethod
    def _known_options(cls, given: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, options in given.items():
            if name not in models.MODELS:
                raise ValueError(unknown_name("model", name, models.MODELS))
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

    def checked_task(self, task_params: dict[str, Any]) -> tasks.Task:
        """The task at these parameters, once every length and model is known to suit it."""
        try:
            task = tasks.get_task(self.task, **task_params)
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
                models.check_fits_task(name, spec, **self.model_options.get(name, {}))
            except ValueError as exc:
                raise ValueError(f"model_options: {exc}") from None
            try:
                models.solve_width(name, spec, self.params, **self.model_options.get(name, {}))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"params: {exc}") from None


def _each_once(values: list) -> list:
    # A repeated value would plan, run and store the same run twice under one run_key.
    repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
    if repeated:
        raise ValueError(f"each value may appear once; repeated: {', '.join(map(str, repeated))}")
    return values


def _positive(values: list) -> list:
    if any(v <= 0 for v in values):
        raise ValueError("every value must be > 0")
    return values


class SweepConfig(_ComparisonConfig):
    task_params: dict[str, Any] = Field(default_factory=dict)
    eval_lengths: list[str] = Field(default_factory=list)  # "2x" (times the trained length) or a length
    preset: str = "quick"
    seeds: list[int] = Field(min_length=1)
    lrs: list[float] = Field(min_length=1)
    steps: int = Field(gt=0)
    warmup_frac: float = Field(ge=0.0, lt=1.0)
    weight_decay: float = Field(ge=0.0)
    clip_norm: float = Field(gt=0.0)
    eval_every: int = Field(gt=0)
    val_size: int = Field(gt=0)
    test_size: int = Field(gt=0)
    executor: Literal["subprocess", "inline", "ray", "slurm"] = "subprocess"
    workers: int | None = Field(default=None, ge=1)
    ray_address: str | None = None
    cpus_per_run: int | None = Field(default=None, ge=1)
    gpus_per_run: float | None = Field(default=None, ge=0)
    partition: str | None = None
    time_min: int | None = Field(default=None, gt=0)
    slurm_cluster: Literal["slurm", "local"] = "slurm"  # local: submitit runs the jobs as local processes
    memory_limit_mb: int | None = Field(default=None, gt=0)
    retry_failed: bool = False
    skip_after_oom: bool = True
    report: bool = True  # write the report at the end of the sweep
    checkpoints: bool = True  # keep each finished run's final weights (for gradients and speed --from)

    _split_grid = field_validator("seeds", "lrs", mode="before")(_split_commas)

    @field_validator("eval_lengths", mode="before")
    @classmethod
    def _eval_length_items(cls, values: Any) -> Any:
        values = _split_commas(values)
        if not isinstance(values, list):
            return values
        items = [str(v).strip() for v in values]
        for item in items:
            if not EVAL_LENGTH.fullmatch(item) or float(item.rstrip("x")) <= 0:
                raise ValueError(
                    f"each item is a multiple of the trained length like 2x or a length like 512; got {item!r}"
                )
        return _each_once(items)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str) -> str:
        if name not in PRESETS:
            raise ValueError(unknown_name("preset", name, PRESETS))
        return name

    @field_validator("lrs")
    @classmethod
    def _positive_lrs(cls, values: list[float]) -> list[float]:
        return _each_once(_positive(values))

    @field_validator("seeds")
    @classmethod
    def _non_negative(cls, values: list[int]) -> list[int]:
        if any(v < 0 for v in values):
            raise ValueError("every seed must be >= 0")
        return _each_once(values)

    @model_validator(mode="after")
    def _cross_field(self) -> SweepConfig:
        for limit in ("timeout_s", "memory_limit_mb"):  # enforced on a child process by its parent
            if getattr(self, limit) is not None and self.executor == "inline":
                raise ValueError(f"{limit}: needs each run in its own process: executor subprocess, ray or slurm")
        if self.executor == "inline" and (self.workers or 1) > 1:
            raise ValueError("workers: executor inline runs one run at a time; use executor subprocess")
        self._check_engine_flags()
        self._check_position_tables(self.checked_task(self.task_params))
        return self

    def eval_lengths_for(self, seq_len: int) -> tuple[int, ...]:
        """The lengths a model trained at ``seq_len`` is also tested at, longer ones only, sorted."""
        lengths = {round(float(i[:-1]) * seq_len) if i.endswith("x") else int(i) for i in self.eval_lengths}
        return tuple(sorted(n for n in lengths if n > seq_len))

    def _check_position_tables(self, task: tasks.Task) -> None:
        """A learned position table must cover every sequence the sweep will show it, trained or tested."""
        if "transformer" not in self.models:
            return
        options = models.parse_options("transformer", self.model_options.get("transformer", {}))
        longest = max(max(self.eval_lengths_for(n), default=n) for n in self.lengths)
        try:
            options.check_length(task.total_length(longest))
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


SPEED_DEFAULTS: dict[str, Any] = {
    "task": "copying",  # token inputs, a class at every step: the shape of language-model training
    "lengths": [256, 1024, 4096, 16384],
    "batch_size": 8,
    "params": PRESETS["quick"]["params"],
    "repeats": 5,
    "timeout_s": 300.0,
}


class SpeedConfig(_ComparisonConfig):
    """``python -m bench speed``: cost against length, no training to convergence."""

    repeats: int = Field(gt=0)
    stream_tokens: int = Field(default=1024, gt=0)
    precision: Literal["fp32", "bf16"] = "fp32"
    bare: bool = False
    generate: list[int] = Field(default_factory=list)  # generated lengths at which sampling cost is reported
    temperature: float = Field(default=1.0, gt=0.0)
    source: Path | None = None  # a results folder of `run`: sample from its trained models

    _split_generate = field_validator("generate", mode="before")(_split_commas)

    @field_validator("generate")
    @classmethod
    def _positive_generate(cls, values: list[int]) -> list[int]:
        return _each_once(_positive(values))

    @model_validator(mode="after")
    def _cross_field(self) -> SpeedConfig:
        spec = tasks.get_task(self.task).spec
        self.check_models_fit(spec)
        if self.generate and not (spec.input_kind == "tokens" and spec.output_kind == "classes"):
            raise ValueError(f"generate: needs a token task, whose outputs can be fed back in; {self.task} is not one")
        if self.source is not None and not self.generate:
            raise ValueError("source: trained models are used by --generate only; give --generate too")
        if self.source is not None:
            _check_source_task(self.source, self.task)
        if self.bare:
            self._check_bare_layouts()
        return self

    def _check_bare_layouts(self) -> None:
        """--bare times a recurrent model's single torch module: a residual or bidirectional stack has none."""
        for name in self.models:
            options = self.model_options.get(name, {})
            changed = [key for key in ("residual", "bidirectional") if options.get(key)]
            if changed:
                raise ValueError(f"bare: times {name}'s single torch module; not with option {changed[0]}=true")

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else Path("results") / f"speed-{self.resolved_device}"


class GradientsConfig(_ComparisonConfig):
    """``python -m bench gradients``: gradient norm against distance, at initialisation and trained."""

    task_params: dict[str, Any] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    source: Path | None = None  # a results folder of `run` with the trained runs; None: initialisation only
    report: bool = True

    _split_seeds = field_validator("seeds", mode="before")(_split_commas)

    @model_validator(mode="after")
    def _cross_field(self) -> GradientsConfig:
        self.checked_task(self.task_params)
        if self.source is not None:
            _check_source_task(self.source, self.task)
        return self

    @property
    def out_dir(self) -> Path:
        """Beside the trained runs by default, so their report shows the curves."""
        if self.out is not None:
            return self.out
        return self.source if self.source is not None else Path("results") / f"{self.task}-quick"


def load_gradients_config(cli: dict[str, Any]) -> GradientsConfig:
    """The flags given, else what the results folder's runs used, else the quick preset.

    The folder is ``--from``, else ``results/<task>-quick`` (where ``run`` writes by default) when it exists.
    """
    given = {k: v for k, v in cli.items() if v is not None}
    task = given.get("task")
    defaults: dict[str, Any] = {"batch_size": 64, "params": PRESETS["quick"]["params"]}
    if isinstance(task, str) and task in tasks.TASKS:
        quick = PRESETS["quick"]
        defaults.update(lengths=quick["lengths"].get(task, []), task_params=quick["task_params"].get(task, {}))
        default_source = Path("results") / f"{task}-quick"
        if "source" not in given and (default_source / "runs.jsonl").is_file():
            defaults["source"] = default_source
        defaults.update(_source_defaults(given.get("source", defaults.get("source")), task))
    try:
        return GradientsConfig(**{**defaults, **given})
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _source_defaults(folder: Path | None, task: str) -> dict[str, Any]:
    """The lengths, seeds, size and task parameters of the folder's finished runs of ``task`` that kept weights."""
    from bench.store import read_records

    if folder is None:
        return {}
    runs = [r for r in read_records(folder) if r.get("task") == task and r.get("checkpoint")]
    if not runs:
        return {}
    return {
        "lengths": sorted({r["seq_len"] for r in runs}),
        "seeds": sorted({r["seed"] for r in runs}),
        "params": runs[0]["target_params"],
        "task_params": runs[0]["task_params"],
    }


def _check_source_task(folder: Path, task: str) -> None:
    """A results folder of `run` holding runs of ``task``."""
    from bench.store import RUNS_FILE, read_records  # the store imports nothing of the config: no cycle

    if not (folder / RUNS_FILE).is_file():
        raise ValueError(f"source: no {RUNS_FILE} in {folder}; give a folder written by `python -m bench run`")
    held = sorted({r.get("task") for r in read_records(folder)} - {None})
    if task not in held:
        raise ValueError(f"source: {folder} holds runs of {', '.join(held) or 'no task'}, not {task}; give --task")


def parse_option_flags(flags: list[str] | None) -> dict[str, dict[str, Any]] | None:
    """``["ssm.kernel=vandermonde", "transformer.layers=4"]`` -> ``{"ssm": {"kernel": ...}, ...}``.

    Values are read as TOML values where they are one (numbers, booleans), else as strings.
    """
    if not flags:
        return None
    options: dict[str, dict[str, Any]] = {}
    for flag in flags:
        target, sep, value = flag.partition("=")
        model, dot, key = target.partition(".")
        if not (sep and dot and model and key and value):
            raise ConfigError(f"option: expected MODEL.KEY=VALUE, e.g. ssm.kernel=vandermonde (got {flag!r})")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value
        options.setdefault(model, {})[key] = parsed
    return options


def _merge_options(*sources: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Later sources override earlier ones key by key, within each model."""
    merged: dict[str, dict[str, Any]] = {}
    for source in sources:
        for model, options in (source or {}).items():
            merged[model] = {**merged.get(model, {}), **options} if isinstance(options, dict) else options
    return merged


def load_speed_config(cli: dict[str, Any]) -> SpeedConfig:
    """The defaults, then the flags the user gave (None = not given)."""
    try:
        return SpeedConfig(**{**SPEED_DEFAULTS, **{k: v for k, v in cli.items() if v is not None}})
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def load_config(cli: dict[str, Any], config_file: Path | None = None) -> SweepConfig:
    """Merge the preset, then the TOML file, then the flags the user gave (None = not given)."""
    file_values = _read_toml(config_file) if config_file is not None else {}
    given = {k: v for k, v in cli.items() if v is not None}
    preset = given.get("preset", file_values.get("preset", "quick"))
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ConfigError(f"preset: {unknown_name('preset', preset, PRESETS)}")
    task = given.get("task", file_values.get("task"))
    merged = {k: v for k, v in PRESETS[preset].items() if k not in ("lengths", "task_params")}
    if isinstance(task, str):  # any other value is reported by the task field's own validation
        merged["lengths"] = PRESETS[preset]["lengths"].get(task, [])
        merged["task_params"] = PRESETS[preset]["task_params"].get(task, {})
    merged.update(file_values)
    if isinstance(file_values.get("task_params"), dict):  # the file's keys over the preset's, key by key
        merged["task_params"] = {**merged.get("task_params", {}), **file_values["task_params"]}
    merged.update(given)
    if "model_options" in given and isinstance(file_values.get("model_options"), dict):
        merged["model_options"] = _merge_options(file_values["model_options"], given["model_options"])
    try:
        return SweepConfig(**merged)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    except ValueError as exc:  # raised by a registry inside a validator
        raise ConfigError(str(exc)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None


def _one_line(exc: ValidationError) -> str:
    """The first error, as 'field: message (got value)'."""
    err = exc.errors()[0]
    message = err["msg"].removeprefix("Value error, ")
    if not err["loc"]:  # a cross-field rule: its message names the fields itself
        return message
    field = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(SweepConfig.model_fields)
        return f"{field}: unknown key; allowed keys: {allowed}"
    if err["type"] == "missing":
        return f"{field}: required"
    got = repr(err["input"])
    if isinstance(err["input"], dict):  # a nested table: the message names the culprit already
        return f"{field}: {message}"
    return f"{field}: {message}" if got in message else f"{field}: {message} (got {got})"
