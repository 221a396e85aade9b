"""``TrainingJob``: one planned run as a job. In its worker it trains, evaluates and measures the model and
returns one flat record, whatever happens inside.

A failure is a result: out of memory, a diverged loss or any exception becomes a record with its
status, so a sweep never loses its other runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch

import models
import tasks
from bench.checkpoints import initial_model, save_checkpoint
from bench.engines.job import Context
from bench.measure.environment import environment
from bench.measure.memory import PeakMemory, cap_address_space
from bench.measure.seeds import make_generator, split_generator
from bench.measure.timing import synchronize, timing_stats
from bench.measure.torch_setup import configure_torch, failure_status
from bench.store.files import RUNS_FILE, SCHEMAS
from bench.sweep.plan import RunSpec
from bench.train.budget import budget_record
from bench.train.evaluate import evaluate, make_eval_set
from bench.train.loop import TrainResult, train
from models import plugins as model_plugins
from models.base import parameter_split
from tasks.plugins import relative_to


@dataclass(frozen=True)
class TrainingJob:
    spec: RunSpec

    @property
    def timeout_s(self) -> float | None:
        return self.spec.timeout_s

    @property
    def series(self) -> str:  # a model out of memory at one length runs out at longer ones too
        return self.spec.model

    @property
    def length(self) -> int:
        return self.spec.seq_len

    @property
    def numerics(self) -> str:
        return self.spec.numerics

    def describe(self) -> str:
        return f"{self.spec.model} T={self.spec.seq_len} lr={self.spec.lr:g}"

    def identities(self) -> list[dict]:
        return [identity_record(self.spec)]

    def measure(self, context: Context) -> list[dict]:
        with relative_to(self.spec.plugin_root):  # a plugin file named relative to where the sweep was started
            return [run_one(self.spec, fresh_process=context.fresh_process, progress=context.progress)]


def identity_record(spec: RunSpec) -> dict:
    """The fields every record of the run has, whether it finished or not: what it computes, what its task's
    results mean (the task's facts) and what kind of model it trains (the family's traits)."""
    task = tasks.get_task(spec.task, **spec.task_params)
    return {
        "schema": SCHEMAS[RUNS_FILE],
        "run_key": spec.run_key,
        **spec.identity(),
        **budget_record(spec.budget),  # the whole training recipe, defaults included (the key leaves those out)
        **task.facts(),
        **{f"baseline_{name}": value for name, value in task.baseline(spec.seq_len).items()},
        "model_traits": _traits(spec),
        "device": spec.device,
        "numerics": spec.numerics,
        "compiled": spec.compiled,
    }


def _traits(spec: RunSpec) -> list[str]:
    """The model's traits; options that do not parse leave none here, and the run fails on them, saying why."""
    try:
        return models.model_traits(spec.model, spec.model_options)
    except (TypeError, ValueError):
        return []


def run_one(spec: RunSpec, *, fresh_process: bool = False, progress: bool = True) -> dict:
    started_at, clock = datetime.now(UTC), time.perf_counter()
    record = {**identity_record(spec), "status": "error", "error": None}
    try:
        record.update(_train_and_measure(spec, fresh_process, progress))
    except Exception as exc:  # noqa: BLE001 - any failure of one run is recorded, never fatal to the sweep
        record.update(status=failure_status(exc), error=f"{type(exc).__name__}: {exc}")
    return finish_record(record, spec, started_at, clock)


def finish_record(record: dict, spec: RunSpec, started_at: datetime, clock: float) -> dict:
    """The record with its status (from its figures, unless it failed) and its environment and timestamps."""
    if record.get("diverged_step") is not None or "steps_run" in record:
        record["status"] = "diverged" if record["diverged_step"] is not None else "ok"
    record.update(environment(spec.device))
    record["flush_denormal"] = spec.device == "cpu"
    record["concurrent_runs"] = spec.concurrent_runs
    record["started_at"] = started_at.isoformat()
    record["finished_at"] = datetime.now(UTC).isoformat()
    record["wall_s"] = time.perf_counter() - clock
    return record


def data_stream(spec: RunSpec, split: str, seq_len: int | None = None) -> torch.Generator:
    """The CPU generator of one split's data at ``seq_len`` (default: the run's): train, validation and test never
    share a stream, every model of a comparison sees the same ones (the model is not part of the seed), and the
    device is not part of it either (batches are drawn on the CPU, then moved)."""
    length = spec.seq_len if seq_len is None else seq_len
    return split_generator(spec.seed, split, spec.variant, length)


def _warm_up(spec: RunSpec, task: tasks.Task) -> None:
    """One tiny training step of the same family, so one-time library loading is not charged to the run."""
    model = models.build_model(spec.model, task.spec, width=8, **spec.model_options).to(spec.device)
    batch = task.sample(2, max(task.min_length, 1), generator=make_generator(0)).to(spec.device)
    task.metrics(model(batch.x), batch)["loss"].backward()
    torch.optim.AdamW(model.parameters()).step()


def open_run(spec: RunSpec, fresh_process: bool) -> tuple[tasks.Task, PeakMemory]:
    """The job's torch settings, its task, a warm-up, its memory cap; the peak-memory measurement started."""
    configure_torch(spec.device, spec.threads)
    task = tasks.get_task(spec.task, **spec.task_params)
    with torch.random.fork_rng(devices=[]):  # the global RNG is left as found
        _warm_up(spec, task)
    if spec.memory_limit_mb is not None:  # the config allows it only in a run's own process
        cap_address_space(spec.memory_limit_mb)
    memory = PeakMemory(spec.device, fresh_process)
    memory.start()
    return task, memory


def build_model_and_data(spec: RunSpec, task: tasks.Task) -> tuple[torch.nn.Module, list, list]:
    """The run's initial model on its device, and its validation and test sets."""
    model = initial_model(spec.model, task.spec, seed=spec.seed, target_params=spec.budget.target_params,
                          options=spec.model_options, width=spec.fixed_width)  # fmt: skip
    model.to(spec.device)
    val_set = make_eval_set(task, spec.budget.val_size, spec.seq_len, data_stream(spec, "val"), spec.device)
    test_set = make_eval_set(task, spec.budget.test_size, spec.seq_len, data_stream(spec, "test"), spec.device)
    return model, val_set, test_set


def check_origins(spec: RunSpec) -> None:
    """A plugin file changed since the sweep was planned would train under the old file's run key: refused."""
    for kind, planned, now in (("model", spec.model_origin, model_plugins.origin(spec.model)),
                               ("task", spec.task_origin, tasks.task_origin(spec.task))):  # fmt: skip
        if planned != now:
            name = spec.model if kind == "model" else spec.task
            raise RuntimeError(f"{kind} {name} changed since the sweep was planned ({planned} -> {now}); run again")


def _train_and_measure(spec: RunSpec, fresh_process: bool, progress: bool) -> dict:
    check_origins(spec)
    task, memory = open_run(spec, fresh_process)
    model, val_set, test_set = build_model_and_data(spec, task)
    result = train(
        model,
        task,
        spec.budget,
        lr=spec.lr,
        seq_len=spec.seq_len,
        data=data_stream(spec, "train"),
        val_set=val_set,
        device=spec.device,
        progress=progress,
        compiled=spec.compiled,
    )
    return measure_trained(spec, task, model, result, val_set, test_set, memory)


def measure_trained(spec: RunSpec, task: tasks.Task, model: torch.nn.Module, result: TrainResult, val_set: list,
             test_set: list, memory: PeakMemory) -> dict:  # fmt: skip
    """The record's figures of a trained run: final validation and test metrics, costs, checkpoint."""
    finished = result.diverged_step is None  # then the last validation ran after the last step
    val = result.last_val if finished and result.last_val is not None else evaluate(model, task, val_set)
    test_start = time.perf_counter()
    test = evaluate(model, task, test_set)
    synchronize(spec.device)
    test_seconds = time.perf_counter() - test_start
    peak_mem = memory.stop()
    longer = [_evaluate_at(model, task, spec, n) for n in spec.eval_lengths]  # after the memory peak: not a cost
    kept = finished and spec.checkpoint_dir is not None  # a diverged run's weights are not worth keeping

    length = task.total_length(spec.seq_len)
    return {
        "total_length": length,
        "n_params": models.count_parameters(model),
        **{f"params_{part}": count for part, count in parameter_split(model).items()},
        "width": model.width,
        **{f"val_{name}": value for name, value in val.items()},
        **{f"test_{name}": value for name, value in test.items()},
        "solved": result.diverged_step is None and task.solved(test),
        "solved_strict": result.diverged_step is None and task.solved_strictly(test),
        **_training_summary(result, spec, length),
        "infer_tokens_per_s": spec.budget.test_size * length / test_seconds,
        "peak_mem_mb": peak_mem,
        "mem_method": memory.method,
        **({"eval_lengths_results": longer} if spec.eval_lengths else {}),
        **(_keep_weights(model, spec) if kept else {"checkpoint": None}),
    }


def _keep_weights(model: torch.nn.Module, spec: RunSpec) -> dict:
    """The checkpoint's name; a failure to write it (a full disk) is recorded, not allowed to lose the run."""
    try:
        return {"checkpoint": save_checkpoint(model, Path(spec.checkpoint_dir), spec.run_key)}
    except OSError as exc:
        return {"checkpoint": None, "checkpoint_error": f"{type(exc).__name__}: {exc}"}


def _evaluate_at(model: torch.nn.Module, task: tasks.Task, spec: RunSpec, seq_len: int) -> dict:
    """Test metrics at a length the model was not trained at; a failure there is recorded, not raised."""
    try:
        stream = data_stream(spec, "test", seq_len)
        test_set = make_eval_set(task, spec.budget.test_size, seq_len, stream, spec.device)
        return {"seq_len": seq_len, "status": "ok", **evaluate(model, task, test_set)}
    except Exception as exc:  # noqa: BLE001 - one length out of memory must not lose the trained run
        return {"seq_len": seq_len, "status": failure_status(exc), "error": f"{type(exc).__name__}: {exc}"}


def _training_summary(result: TrainResult, spec: RunSpec, length: int) -> dict:
    # The first step pays for lazy initialisation; it is reported apart from the steady state.
    steady = result.step_seconds[1:] or result.step_seconds
    stats = timing_stats(steady)
    return {
        "steps_run": len(result.step_seconds),
        "steps_to_solve": result.steps_to_solve,
        "seconds_to_solve": result.seconds_to_solve,
        "diverged_step": result.diverged_step,
        "clipped_frac": result.clipped_steps / max(1, len(result.step_seconds)),
        "curve": result.curve,
        "train_step_ms": stats.median * 1e3,
        "train_step_ms_iqr": stats.iqr * 1e3,
        "first_step_ms": result.step_seconds[0] * 1e3,
        "train_tokens_per_s": spec.budget.batch_size * length / stats.median,
        "train_s": sum(result.step_seconds),
    }
