"""What a stored record must hold to be read: one pydantic model per file and schema version.

``runs.jsonl`` holds records of schema 1 and 2, ``speed.jsonl`` and ``gradients.jsonl`` rows written before rows
carried a ``schema`` (read as version 0) and at schema 1 (``bench.store.files.SCHEMAS``). Each model requires, and
type-checks, what the analysis and the report rely on; every other field is allowed as it is (records gain fields
without a schema bump). A record that fails its model is not read: ``bench.store.jsonl.read_records`` keeps it out
and says which file and line, and why, and the report lists it (``Unreadable records``) instead of failing on it.

The run records' models are here; the rows of ``speed.jsonl`` and ``gradients.jsonl`` are in
``bench.store.row_schemas``, and what both build on in ``bench.store.schema_base``.

Types are strict: a number stored as a string, a count stored as a float or a flag stored as 0 is a record written
by something else than this harness, and is refused rather than guessed at. No float is NaN or infinite: the writer
stores those as null (``bench.store.jsonl.finite``). Records are read, never rewritten: the model only says yes or
no, and the record is used as stored.

What records written before a field existed lack (task facts, model traits) is filled in by
``bench.store.records.with_facts``; where its tables cannot fill it, the models here require the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from bench.store.files import GRADIENTS_FILE, RUNS_FILE, SPEED_FILE
from bench.store.records import LEGACY_TASK_FACTS
from bench.store.row_schemas import GradientCurveV0, GradientCurveV1, SpeedRowV0, SpeedRowV1  # speed, gradients
from bench.store.schema_base import (  # noqa: F401 - the statuses re-exported: readers of records import them here
    JOB_STATUSES,
    RUN_STATUSES,
    SPEED_STATUSES,
    Count,
    Number,
    Positive,
    Record,
    RunStatus,
    _is_number,
    _is_number_or_null,
    _numbers,
    _shown,
)

# ---- runs.jsonl ----------------------------------------------------------------------------------------------------


class LengthResult(Record):
    """One entry of ``eval_lengths_results``: a longer length a trained model was tested at."""

    seq_len: Positive
    status: RunStatus
    error: str | None = None

    @model_validator(mode="after")
    def _metrics_are_numbers(self) -> LengthResult:
        for key, value in self.extras().items():
            if not _is_number_or_null(value):
                raise ValueError(f"{key}: a number or null, got {_shown(value)}")
        return self


class RunRecord(Record):
    """What every training run's record holds, finished or not (``bench.sweep.training.identity_record``)."""

    run_key: str = Field(min_length=1)
    task: str
    variant: str
    task_params: dict[str, Any]
    model: str
    model_options: dict[str, Any] | None = None
    seq_len: Positive
    seed: Count
    lr: Number
    status: RunStatus
    error: str | None = None
    # the budget
    steps: Positive | None = None
    batch_size: Positive | None = None
    target_params: Positive | None = None
    warmup_frac: Number | None = None
    weight_decay: Number | None = None
    clip_norm: Number | None = None  # null: no clipping (or a record written before it could be chosen)
    eval_every: Positive | None = None
    val_size: Positive | None = None
    test_size: Positive | None = None
    # the rest of the training recipe (bench.train.budget); absent from records written before it could be chosen,
    # which trained with its defaults (AdamW, warm-up then cosine)
    optimizer: Literal["adamw", "adam", "rmsprop", "sgd"] | None = None
    betas: list[Number] | None = None
    eps: Number | None = None
    alpha: Number | None = None
    momentum: Number | None = None
    schedule: Literal["cosine", "constant", "step"] | None = None
    step_every: Positive | None = None
    step_gamma: Number | None = None
    fixed_width: Positive | None = None  # the width the run fixed instead of sizing for target_params
    # the task's facts (tasks.Task.facts): all four or none
    metric: str | None = None
    higher_is_better: bool | None = None
    solved_rule: str | None = None
    solved_threshold: Number | None = None
    secondary_metric: str | None = None
    strict_rule: str | None = None
    model_traits: list[str] | None = None
    # what a finished run measured
    val_loss: Number | None = None
    solved: bool | None = None
    solved_strict: bool | None = None
    steps_to_solve: Count | None = None
    seconds_to_solve: Number | None = None
    diverged_step: Count | None = None
    steps_run: Count | None = None
    width: Count | None = None
    n_params: Count | None = None
    params_embedding: Count | None = None
    params_core: Count | None = None
    params_head: Count | None = None
    total_length: Positive | None = None
    curve: list[list[Number | None]] | None = None  # [step, validation loss] pairs
    eval_lengths_results: list[LengthResult] | None = None
    train_step_ms: Number | None = None
    train_tokens_per_s: Number | None = None
    infer_tokens_per_s: Number | None = None
    peak_mem_mb: Number | None = None
    train_s: Number | None = None
    clipped_frac: Number | None = None
    checkpoint: str | None = None
    packed_with: list[str] | None = None  # run --pack: the run keys trained together, this one's included
    # where it ran
    device: str | None = None
    device_name: str | None = None
    cpu_model: str | None = None  # the machine by name (bench.measure.environment.machine); absent before
    cpu_count: Positive | None = None
    cpu_capability: str | None = None
    gpu_name: str | None = None
    torch: str | None = None
    python: str | None = None
    threads: Positive | None = None
    concurrent_runs: Positive | None = None
    numerics_in_effect: str | None = None
    compiled: bool | None = None  # run --compile; absent before
    git_sha: str | None = None
    git_dirty: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RunRecord:
        _numbers(self, ("test_", "val_", "baseline_"))
        facts = [self.metric, self.higher_is_better, self.solved_rule, self.solved_threshold]
        if any(fact is not None for fact in facts) and any(fact is None for fact in facts):
            raise ValueError(
                "metric, higher_is_better, solved_rule, solved_threshold: the task's facts come together "
                f"(got {', '.join(_shown(f) for f in facts)})"
            )
        for point in self.curve or []:
            if len(point) != 2 or not _is_number(point[0]):
                raise ValueError(f"curve: each point is [step, validation loss], got {_shown(point)}")
        if self.status == "ok" and self.val_loss is not None:  # a run the analysis may choose: it reads these
            metric = self.metric_name()
            if f"test_{metric}" not in self.extras():
                raise ValueError(f"test_{metric}: required in a finished run (its task's metric is {metric})")
            if self.solved is None:
                raise ValueError("solved: required in a finished run (true or false)")
        return self

    def metric_name(self) -> str:
        """The task's metric: stored, else from the legacy table, else the loss (bench.analysis.facts)."""
        if self.metric is not None:
            return self.metric
        return LEGACY_TASK_FACTS.get(self.task, {}).get("metric", "loss")


class RunRecordV1(RunRecord):
    """Schema 1: written before records carried the task's facts and the model's traits (``with_facts`` fills
    them in from its tables)."""

    schema_: Literal[1] = Field(alias="schema")


class RunRecordV2(RunRecord):
    """Schema 2: the task's facts and the model's traits stored in each record (a record without them is read as
    one of schema 1 is)."""

    schema_: Literal[2] = Field(alias="schema")


# ---- which model reads which record -----------------------------------------------------------------------------

MODELS: dict[str, dict[int | None, type[Record]]] = {  # file -> schema (None: no schema field) -> model
    RUNS_FILE: {1: RunRecordV1, 2: RunRecordV2},
    SPEED_FILE: {None: SpeedRowV0, 1: SpeedRowV1},
    GRADIENTS_FILE: {None: GradientCurveV0, 1: GradientCurveV1},
}


def problem(record: object, filename: str) -> str | None:
    """Why ``record``, one line of ``filename``, cannot be read; None when it can."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__} {_shown(record)}"
    versions = MODELS.get(filename)
    if versions is None:
        return None  # a file without a schema model: read as it is
    version = record.get("schema")  # None: no schema field (null is no version either)
    known_version = version is None if "schema" not in record else type(version) is int and version in versions
    if not known_version or version not in versions:
        known = " or ".join(str(v) for v in versions if v is not None)
        without = "without a schema field, or " if None in versions else ""
        return f"schema: {filename} holds records {without}of schema {known}; got {_shown(version)}"
    try:
        versions[version].model_validate(record)
    except ValidationError as exc:
        return describe(exc)
    return None


def describe(exc: ValidationError) -> str:
    """A validation error as one line: the first problem, 'field: message (got value)'."""
    err = exc.errors(include_url=False)[0]
    message = err["msg"].removeprefix("Value error, ")
    field = ".".join(str(part) for part in err["loc"])
    if err["type"] == "missing":
        return f"{field}: required"
    if not field:
        return message
    return f"{field}: {message}" if err["type"] == "value_error" else f"{field}: {message} (got {_shown(err['input'])})"
