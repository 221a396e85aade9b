"""The record models of ``speed.jsonl`` and ``gradients.jsonl`` (``bench.store.schemas`` says which reads what)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from bench.store.records import LEGACY_TRAITS
from bench.store.schema_base import Count, JobStatus, Number, Positive, Record, SpeedStatus, _require_numbers

# ---- speed.jsonl ---------------------------------------------------------------------------------------------------


class SpeedRow(Record):
    """One model, mode and length of ``python -m bench speed`` (``bench.commands.speed``), or one generated length
    of ``speed --generate`` (``bench.commands.sampling``)."""

    model: str
    label: str | None = None  # rows before bare modules: the model's name
    mode: Literal["train", "infer", "packed", "generate"]  # packed: speed --pack
    seq_len: Positive
    status: SpeedStatus
    error: str | None = None
    bare: bool | None = None
    batch_size: Positive | None = None
    params: Positive | None = None
    threads: Positive | None = None
    device: str | None = None
    device_name: str | None = None
    cpu_model: str | None = None  # the machine by name (bench.measure.environment.machine); absent before
    cpu_count: Positive | None = None
    cpu_capability: str | None = None
    gpu_name: str | None = None
    compiled: bool | None = None  # speed --compile (training rows); absent before
    precision: str | None = None
    git_sha: str | None = None
    git_dirty: bool | None = None
    median_ms: Number | None = None
    iqr_ms: Number | None = None
    first_call_ms: Number | None = None
    peak_mem_mb: Number | None = None
    tokens_per_s: Number | None = None
    stream_token_ms: Number | None = None
    state_kb: Number | None = None
    pack: Positive | None = None  # members trained together (mode packed); 1 otherwise
    flops: Number | None = None  # of one timed call (bench.measure.flops)
    flops_per_s: Number | None = None
    peak_flops_per_s: Number | None = None
    # --generate
    temperature: Number | None = None
    token_ms: Number | None = None
    token_ms_iqr: Number | None = None
    source: str | None = None
    run_key: str | None = None
    trained_seq_len: Positive | None = None
    trained_lr: Number | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SpeedRow:
        ok = self.status == "ok"
        if ok and self.mode in ("train", "infer", "packed"):
            _require_numbers(self, "median_ms", "iqr_ms", "tokens_per_s", because=f"in a finished {self.mode} row")
        if self.mode == "packed":
            _require_numbers(self, "pack", because="in a packed row")
        if self.stream_token_ms is not None:
            _require_numbers(self, "state_kb", because="beside stream_token_ms")
        if self.mode == "generate":
            _require_numbers(self, "temperature", "batch_size", because="in a --generate row")
            if ok:
                needed = ("token_ms", "token_ms_iqr", "tokens_per_s", "state_kb")
                _require_numbers(self, *needed, because="in a finished --generate row")
            if self.source == "trained" and self.run_key is not None:
                _require_numbers(self, "trained_seq_len", "trained_lr", because="in a row sampled from a trained run")
        return self


class SpeedRowV0(SpeedRow):
    """Written before rows carried a schema."""


class SpeedRowV1(SpeedRow):
    schema_: Literal[1] = Field(alias="schema")


# ---- gradients.jsonl -----------------------------------------------------------------------------------------------


class GradientCurve(Record):
    """One model, length, seed and state of ``python -m bench gradients`` (``bench.commands.gradients``)."""

    task: str
    variant: str
    task_params: dict[str, Any] | None = None
    model: str
    model_options: dict[str, Any] | None = None
    model_traits: list[str] | None = None
    seq_len: Positive
    total_length: Positive | None = None
    seed: Count
    state: Literal["init", "trained"]
    n_sequences: Positive
    status: JobStatus
    error: str | None = None
    trained_run_key: str | None = None
    clipped_frac: Number | None = None
    grad_norm: list[Number | None] | None = None
    decay: Number | None = None
    fit_r2: Number | None = None
    reach: Number | None = None
    n_params: Count | None = None
    cpu_model: str | None = None  # the machine by name (bench.measure.environment.machine); absent before
    cpu_count: Positive | None = None
    gpu_name: str | None = None
    git_sha: str | None = None
    git_dirty: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> GradientCurve:
        fields = self.model_fields_set
        if self.status == "ok":
            missing = [name for name in ("grad_norm", "decay", "fit_r2", "reach", "clipped_frac") if name not in fields]
            if missing or not self.grad_norm:
                raise ValueError(f"{(missing or ['grad_norm'])[0]}: required in a finished curve")
        elif "error" not in fields:
            raise ValueError(f"error: required in a curve of status {self.status} (why it failed, or null)")
        return self


class GradientCurveV0(GradientCurve):
    """Written before curves carried a schema and the model's traits (``with_facts`` fills in the traits of the
    families that existed then)."""

    @model_validator(mode="after")
    def _traits_known(self) -> GradientCurveV0:
        if self.model_traits is None and self.model not in LEGACY_TRAITS:
            raise ValueError(f"model_traits: required (no traits are known for {self.model!r} in curves this old)")
        return self


class GradientCurveV1(GradientCurve):
    schema_: Literal[1] = Field(alias="schema")
    model_traits: list[str]
