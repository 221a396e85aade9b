"""``python -m bench speed --generate``: the cost of sampling, one token at a time, as the generated length grows.

``--generate 256,1024,4096`` (token tasks only) adds a sampling job per model, mode ``generate``: after
a prompt of ``PROMPT_TOKENS`` random tokens, ``batch_size`` sequences sample max(generate) tokens, each
drawn from softmax(logits / ``--temperature``) and fed back through ``step`` (``bench.commands.generation``). At
each requested generated length n one row (``seq_len`` = n) gives ``token_ms``, the median latency of a
token over the last 10% of the tokens before n (at least 8; ``token_ms_iqr`` their interquartile range),
``tokens_per_s``, all sequences' first n tokens over the time they took, the streaming state's size
(``state_kb``; the KV cache grows with n, a recurrent state does not) and the peak memory so far. The
tokens are timed once (``--repeats`` does not apply: the spread is over the window's tokens). A job
stops itself at 90% of ``--timeout-s`` and an out-of-memory error ends it: the lengths it reached keep
their figures, the others get the status (``timeout``, ``oom``). A model that cannot stream gets rows of
status ``unavailable``.

Weights: freshly initialised at ``--params`` by default (the cost of a step does not depend on the
weights' values). ``--from DIR`` samples from the trained models of a ``python -m bench run`` folder
instead: per model, of the folder's task variant, the chosen run that kept its weights at the longest
trained length, with the lowest validation loss over seeds (``ResultsFolder.longest_trained_run``),
rebuilt from its checkpoint at its own width and options; the rows name it (``run_key``,
``trained_seq_len``, ``trained_lr``). A model with no such run gets rows of status ``unavailable``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

import models
import tasks
from bench.checkpoints import record_task, trained_model_of
from bench.commands.generation import CannotSample, check_can_sample, decode, prefill, window_figures
from bench.commands.workload import random_batch, warm_up
from bench.config.speed import SpeedConfig
from bench.engines.job import Context
from bench.measure.environment import environment
from bench.measure.memory import PeakMemory
from bench.measure.timing import timed, timed_call
from bench.measure.torch_setup import configure_torch, failure_status
from bench.store.files import SCHEMAS, SPEED_FILE
from bench.store.folder import ResultsFolder
from tasks.base import TaskSpec

PROMPT_TOKENS = 16  # random tokens fed before sampling starts; timed apart (prompt_ms)
SOFT_LIMIT = 0.9  # a sampling job stops itself at this fraction of timeout_s, keeping the lengths it reached


@dataclass(frozen=True)
class GenerationJob:
    """One model's sampling: max(lengths) tokens after a prompt, figures read at each of ``lengths``."""

    model: str
    task: str
    lengths: tuple[int, ...]  # generated lengths, ascending
    batch_size: int
    params: int
    temperature: float
    device: str
    threads: int | None
    timeout_s: float | None
    model_options: dict = field(default_factory=dict)
    precision: str = "fp32"
    source_dir: str | None = None  # a results folder of `run` (--from); None: freshly initialised weights
    run: dict | None = None  # the record of the run sampled from; None with a source_dir: it holds none
    numerics: str = "portable"  # the CPU kernel paths (bench.measure.numerics)
    task_params: dict = field(default_factory=dict)  # the task's variant and parameters (fresh weights)

    mode = "generate"  # not a field: as SpeedJob.mode, for the rows and the progress bar

    def describe(self) -> str:
        return f"{self.model} generate n={self.lengths[-1]}"

    def identities(self) -> list[dict]:
        return [{**self.identity(), "seq_len": n} for n in self.lengths]

    def measure(self, context: Context) -> list[dict]:
        if self.source_dir is not None and self.run is None:
            return self.rows("unavailable", f"{self.source_dir} holds no finished run of {self.model} on {self.task}")
        return measure_generation(self)

    def identity(self) -> dict:
        """The fields every row of this job carries, whatever its outcome."""
        run = self.run or {}
        return {
            "schema": SCHEMAS[SPEED_FILE], "model": self.model, "label": self.model, "task": self.task,
            "mode": self.mode, "batch_size": self.batch_size, "params": self.params, "device": self.device,
            "threads": self.threads, "timeout_s": self.timeout_s, "model_options": self.model_options,
            "precision": self.precision,
            "temperature": self.temperature, "prompt_tokens": PROMPT_TOKENS, "generate": list(self.lengths),
            "source": "initialised" if self.source_dir is None else "trained", "source_dir": self.source_dir,
            "run_key": run.get("run_key"), "trained_seq_len": run.get("seq_len"), "trained_lr": run.get("lr"),
            "trained_seed": run.get("seed"), "numerics": self.numerics,
        }  # fmt: skip

    def rows(self, status: str, error: str | None, figures: dict | None = None) -> list[dict]:
        """One row per generated length, all with this outcome."""
        return [{**identity, "status": status, "error": error, **(figures or {})} for identity in self.identities()]


def measure_generation(job: GenerationJob) -> list[dict]:
    """The job's rows: figures at each generated length it reached, the reason at the others; never raises."""
    deadline = time.monotonic() + SOFT_LIMIT * job.timeout_s if job.timeout_s else float("inf")
    common: dict = {}
    reached: dict[int, dict] = {}
    failure: tuple[str, str] | None = None
    try:
        configure_torch(job.device, job.threads)
        common, reached, failure = _sample_timed(job, deadline)
    except CannotSample as exc:
        failure = ("unavailable", str(exc))
    except Exception as exc:  # noqa: BLE001 - a failing configuration is a row, not a crash
        failure = (failure_status(exc), f"{type(exc).__name__}: {exc}")
    rows = []
    for row in job.rows("ok", None, {**common, **environment(job.device)}):
        if row["seq_len"] in reached:
            rows.append({**row, **reached[row["seq_len"]]})
        else:  # not reached: there was a failure
            status, error = failure or ("error", "sampling ended early")
            rows.append({**row, "status": status, "error": error})
    return rows


def _sample_timed(job: GenerationJob, deadline: float) -> tuple[dict, dict[int, dict], tuple[str, str] | None]:
    """Sample max(lengths) tokens one at a time: figures common to the job, figures at each length reached,
    and the failure that stopped it early (None if it did not)."""
    spec = record_task(job.run).spec if job.run else tasks.get_task(job.task, **job.task_params).spec
    check_can_sample(models.build_model(job.model, spec, width=8, **job.model_options))  # before any cost
    warm_up(job, spec)
    memory = PeakMemory(job.device, fresh_process=True)
    memory.start()
    model = _sampling_model(job, spec).to(job.device).eval()
    common = {"n_params": models.count_parameters(model), "mem_method": memory.method}
    prompt = random_batch(spec, job.batch_size, PROMPT_TOKENS, job.device)[0]  # (B, P)
    generator = torch.Generator(job.device).manual_seed(0)
    autocast = torch.autocast(job.device, dtype=torch.bfloat16, enabled=job.precision == "bf16")
    seconds: list[float] = []
    reached: dict[int, dict] = {}
    with torch.inference_mode(), autocast:
        (logits, state), prompt_s = timed_call(lambda: prefill(model, prompt), job.device)
        common["prompt_ms"] = prompt_s * 1e3
        stream = decode(model, logits, state, temperature=job.temperature, generator=generator)
        try:
            for (_, state), elapsed in timed(stream, job.device):
                seconds.append(elapsed)
                n = len(seconds)
                if n in job.lengths:
                    state_kb = models.state_bytes(state) / 1024
                    figures = window_figures(seconds, n, job.batch_size)
                    reached[n] = {**figures, "state_kb": state_kb, "peak_mem_mb": memory.stop()}
                if n == job.lengths[-1]:
                    return common, reached, None
                if time.monotonic() > deadline:
                    limit = f"stopped at {SOFT_LIMIT:.0%} of the {job.timeout_s:g} s time limit (timeout_s)"
                    return common, reached, ("timeout", f"{limit} after {n} tokens")
        except Exception as exc:  # noqa: BLE001 - the lengths reached before it keep their figures
            return common, reached, (failure_status(exc), f"{type(exc).__name__}: {exc} (after {len(seconds)} tokens)")
    raise AssertionError("decode() is endless")


def _sampling_model(job: GenerationJob, spec: TaskSpec) -> models.SequenceModel:
    """The trained run's weights (--from), or fresh ones at the parameter target, seeded like the other jobs."""
    if job.run is not None:
        return trained_model_of(job.run, Path(job.source_dir))
    torch.manual_seed(0)
    return models.build_model(job.model, spec, target_params=job.params, **job.model_options)


# ---- in the parent ---------------------------------------------------------------------------------


def plan_generation(config: SpeedConfig) -> list[GenerationJob]:
    """A sampling job per model (none without --generate); with --from, each names the run it samples."""
    if not config.generate:
        return []
    runs = _trained_runs(config) if config.source is not None else {}
    source = str(config.source) if config.source is not None else None
    jobs = []
    for model in config.models:
        run = runs.get(model)  # a trained model keeps its own size and options, whatever the flags say
        jobs.append(
            GenerationJob(
                model=model,
                task=config.task,
                lengths=tuple(sorted(config.generate)),
                batch_size=config.batch_size,
                params=run["target_params"] if run else config.params,
                temperature=config.temperature,
                device=config.resolved_device,
                threads=config.threads,
                timeout_s=config.timeout_s,
                model_options=run["model_options"] if run else config.options_of(model),
                precision=config.precision,
                source_dir=source,
                run=run,
                numerics=config.numerics[0],  # sampling runs under the first --numerics given
                task_params=config.task_arguments,
            )
        )
    return jobs


def _trained_runs(config: SpeedConfig) -> dict[str, dict]:
    """Per model, the trained run to sample from: of the folder's one variant of the task (the loader refuses a
    folder of several); a model given options must have been trained with them."""
    folder = ResultsFolder(config.source)
    held = folder.task_parameters(config.task, config.variant)
    if not held:
        return {}
    ((variant, params),) = held  # the loader refused a folder of several
    given = {model: config.options_of(model) for model in config.models}
    options = {model: models.full_options(model, opts) if opts else None for model, opts in given.items()}
    return folder.longest_trained_run(variant, params, options)
