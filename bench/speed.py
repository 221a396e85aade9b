"""``python -m bench speed``: training, inference and streaming cost against sequence length.

Each (model, length, mode) is measured in a process of its own, forked from the executor's
server, so its peak memory is its own (DESIGN.md §3: ``ru_maxrss`` growth on CPU,
``max_memory_allocated`` on CUDA). Within it: one first call (timed and reported apart:
it pays lazy initialisation), one untimed warm-up call, then ``repeats`` timed calls with a
device synchronisation after each; median and interquartile range are reported.

Modes:
- ``train``: one optimiser step (forward, loss, backward, AdamW step) on a random batch.
- ``infer``: one forward pass without autograd; then streaming, one token at a time through
  ``init_state``/``step`` for ``stream_tokens`` tokens, with the median latency of a token
  and the size of the streaming state at the end.

Inputs are random tokens (or reals) of the task's spec at exactly the given length; the
values do not change the cost, except through denormals, which are flushed on CPU.

``--bare`` adds, for each recurrent model and the SSM, the same figures for its core layer alone
(the torch ``nn.LSTM`` etc., or one ``S4DLayer``, at the same width, batch and length, fed random
(B, L, D) floats, loss the mean square of its output): for the RNNs the gap to the full model is
what the harness adds; for the SSM it isolates the layer whose kernel options are compared. ``--precision
bf16`` runs every forward pass (and the loss) under bf16 autocast.

``--generate`` adds sampling jobs (``bench.speed_sampling``); the tables are in ``bench.speed_tables``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import models
import tasks
from bench.config import SpeedConfig
from bench.cutoff import ShortestFailure
from bench.env import environment
from bench.executor import Failure, call_isolated
from bench.measure import PeakMemory, synchronize, timing_stats
from bench.runner import configure_torch, failure_status
from bench.speed_tables import render_speed
from bench.store import append_record, locked
from models.rnn import CELLS
from models.ssm import S4DLayer, SSMBackbone
from tasks.base import TaskSpec

SPEED_FILE = "speed.jsonl"
MODES = ("train", "infer")


@dataclass(frozen=True)
class SpeedJob:
    model: str
    task: str
    mode: str
    seq_len: int
    batch_size: int
    params: int
    repeats: int
    stream_tokens: int
    device: str
    threads: int | None
    model_options: dict = dataclasses.field(default_factory=dict)
    precision: str = "fp32"
    bare: bool = False  # time the model's core layer alone, without encoder, head, other blocks and loss

    @property
    def label(self) -> str:
        """The table's row name: the model, or its bare core layer."""
        return f"{self.model} (bare {BARE_LAYERS[self.model].__name__})" if self.bare else self.model

    @property
    def series(self) -> tuple[str, str]:
        """What a failure at one length predicts for the longer ones: the same label and mode."""
        return self.label, self.mode


def plan_jobs(config: SpeedConfig) -> list[SpeedJob]:
    """Model by model, mode by mode, short lengths first: so a failure can skip the longer ones."""
    variants = [(model, False) for model in config.models]
    if config.bare:
        variants += [(model, True) for model in config.models if model in BARE_LAYERS]
    return [
        SpeedJob(
            model,
            config.task,
            mode,
            length,
            config.batch_size,
            config.params,
            config.repeats,
            config.stream_tokens,
            config.resolved_device,
            config.threads,
            config.model_options.get(model, {}),
            config.precision,
            bare,
        )  # fmt: skip
        for model, bare in variants
        for mode in MODES
        for length in sorted(config.lengths)
    ]


# ---- in the child process ----------------------------------------------------------------------


def measure_job(job: SpeedJob) -> dict:
    """One configuration's figures, or its failure as a record; never raises."""
    record = {**dataclasses.asdict(job), "label": job.label, "status": "ok", "error": None}
    try:
        configure_torch(job.device, job.threads)
        record.update(_measure(job))
    except Exception as exc:  # noqa: BLE001 - a failing configuration is a row, not a crash
        record.update(status=failure_status(exc), error=f"{type(exc).__name__}: {exc}")
    record.update(environment(job.device))
    return record


def _measure(job: SpeedJob) -> dict:
    spec = tasks.get_task(job.task).spec
    warm_up(job, spec)
    memory = PeakMemory(job.device, fresh_process=True)
    memory.start()
    torch.manual_seed(0)
    model = models.build_model(job.model, spec, target_params=job.params, **job.model_options).to(job.device)
    x, y = random_batch(spec, job.batch_size, job.seq_len, job.device)
    if job.bare:
        model, x, y, spec = _bare_module(model, x)
    autocast = torch.autocast(job.device, dtype=torch.bfloat16, enabled=job.precision == "bf16")
    if job.mode == "train":
        figures = _time_calls(_training_step(model, spec, x, y, autocast), job)
        figures["peak_mem_mb"] = memory.stop()
    else:
        model.eval()
        with torch.inference_mode(), autocast:
            figures = _time_calls(lambda: model(x), job)
            figures["peak_mem_mb"] = memory.stop()
            if not job.bare and model.streams:  # a family that cannot stream keeps its forward figures
                figures.update(_streaming(model, x, job))
    tokens = job.batch_size * job.seq_len
    return {
        **figures,
        "n_params": models.count_parameters(model),
        "tokens_per_s": tokens / (figures["median_ms"] / 1e3),
        "mem_method": memory.method,
    }


def random_batch(spec: TaskSpec, batch_size: int, length: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of the spec's kinds: (B, L) tokens or (B, L, C) reals; (B, L) classes or (B, L, 1)."""
    generator = torch.Generator(device=device).manual_seed(0)
    if spec.input_kind == "tokens":
        x = torch.randint(spec.input_size, (batch_size, length), generator=generator, device=device)
    else:
        x = torch.rand(batch_size, length, spec.input_size, generator=generator, device=device)
    if spec.output_kind == "classes":
        y = torch.randint(spec.output_size, (batch_size, length), generator=generator, device=device)
    else:
        y = torch.rand(batch_size, length, spec.output_size, generator=generator, device=device)
    return x, y


BARE_LAYERS: dict[str, type[torch.nn.Module]] = {**CELLS, "ssm": S4DLayer}


class _Bare(torch.nn.Module):
    """A core layer called as the trainer calls a model (its targets unused): output sequence only."""

    def __init__(self, layer: torch.nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, h: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        out = self.layer(h)
        return out[0] if isinstance(out, tuple) else out  # a torch RNN returns (output, h_n)


def _bare_module(model: models.SequenceModel, x: torch.Tensor):
    """The model's core layer alone, fed (B, L, D) floats, scored by the mean square of its output."""
    bare = _Bare(model.backbone.blocks[0].ssm if isinstance(model.backbone, SSMBackbone) else model.backbone.rnn)
    h = torch.randn(*x.shape[:2], model.width, generator=torch.Generator(x.device).manual_seed(0), device=x.device)
    return bare, h, torch.zeros_like(h), TaskSpec("real", model.width, "regression", model.width, "all")


def _training_step(
    model: torch.nn.Module, spec: TaskSpec, x: torch.Tensor, y: torch.Tensor, autocast: torch.autocast
) -> Callable[[], None]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    classes = spec.output_kind == "classes"

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            out = model(x, targets=y)  # the trainer's call: an encoder-decoder reads the targets
            loss = F.cross_entropy(out.flatten(0, 1), y.flatten()) if classes else F.mse_loss(out, y)
        loss.backward()
        optimizer.step()

    return step


def _time_calls(call: Callable[[], object], job: SpeedJob) -> dict:
    _, first = timed_call(call, job.device)
    timed_call(call, job.device)  # warm-up: caches, allocator, thread pool
    stats = timing_stats([timed_call(call, job.device)[1] for _ in range(job.repeats)])
    return {"first_call_ms": first * 1e3, "median_ms": stats.median * 1e3, "iqr_ms": stats.iqr * 1e3}


def timed_call(call: Callable[[], object], device: str) -> tuple[object, float]:
    """The call's result and its wall seconds, the device synchronised before the clock starts and stops."""
    synchronize(device)
    start = time.perf_counter()
    result = call()
    synchronize(device)
    return result, time.perf_counter() - start


def _streaming(model: models.SequenceModel, x: torch.Tensor, job: SpeedJob) -> dict:
    """Median latency of one token through ``step``, and the state's size after the last one."""
    tokens = x[:, : job.stream_tokens].unbind(1)  # unbind once: indexing per step costs (DESIGN.md §3)
    state = model.init_state(job.batch_size)
    latencies = []
    for x_t in tokens:
        start = time.perf_counter()
        _, state = model.step(x_t, state)
        synchronize(job.device)
        latencies.append(time.perf_counter() - start)
    steady = latencies[1:] or latencies
    return {
        "stream_tokens_run": len(tokens),
        "stream_token_ms": timing_stats(steady).median * 1e3,
        "state_kb": tensor_bytes(state) / 1024,
    }


def tensor_bytes(state: object) -> int:
    if hasattr(state, "filled"):  # a cache with spare capacity (the KV cache): count what it holds
        return tensor_bytes(state.filled())
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, list | tuple):
        return sum(tensor_bytes(item) for item in state)
    if isinstance(state, dict):
        return sum(tensor_bytes(item) for item in state.values())
    return 0


def warm_up(job: SpeedJob, spec: TaskSpec) -> None:
    """A tiny step of the same family first, so one-time library loading is not charged to the figures."""
    model = models.build_model(job.model, spec, width=8, **job.model_options).to(job.device)
    x, y = random_batch(spec, 2, 4 + (spec.answer_length or 0), job.device)  # an encoder-decoder needs a source
    autocast = torch.autocast(job.device, dtype=torch.bfloat16, enabled=job.precision == "bf16")
    _training_step(model, spec, x, y, autocast)()


# ---- in the parent ---------------------------------------------------------------------------------


def run_speed(config: SpeedConfig, *, progress: bool = True) -> Path:
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    from bench.speed_sampling import GenerationJob, plan_generation, run_generation  # it builds on this module

    jobs = [*plan_jobs(config), *plan_generation(config)]
    rows = []
    with locked(out_dir):
        failed = ShortestFailure()  # per (model, mode): longer lengths would fail too
        bar = tqdm(jobs, desc="speed", unit="config", disable=None if progress else True)
        for job in bar:
            if isinstance(job, GenerationJob):  # one job, a row per generated length
                bar.set_postfix_str(f"{job.model} generate n={job.lengths[-1]}")
                new_rows = run_generation(job, config.timeout_s)
            else:
                bar.set_postfix_str(f"{job.model} {job.mode} L={job.seq_len}")
                new_rows = [_run_or_skip(job, failed.blocking(job.series, job.seq_len), config.timeout_s)]
                if new_rows[0]["status"] != "ok":
                    failed.add(job.series, job.seq_len)
            for row in new_rows:
                append_record(out_dir, row, SPEED_FILE)
            rows += new_rows
        bar.close()
    print(render_speed(rows))
    print(f"\nResults: {out_dir / SPEED_FILE} ({len(rows)} rows)")
    return out_dir


def _run_or_skip(job: SpeedJob, shorter_failure: int | None, timeout_s: float | None) -> dict:
    if shorter_failure is not None:
        outcome = Failure("skipped", f"failed at L={shorter_failure}")
    else:
        outcome = call_isolated(measure_job, job, timeout_s)
    if isinstance(outcome, Failure):
        return {**dataclasses.asdict(job), "label": job.label, "status": outcome.status, "error": outcome.error}
    return outcome
