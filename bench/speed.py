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
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
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
    _warm_up(job, spec)
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
            if not job.bare:
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


class _BareRNN(torch.nn.Module):
    """A torch RNN module called as it would be without the harness: output sequence only."""

    def __init__(self, rnn: torch.nn.RNNBase):
        super().__init__()
        self.rnn = rnn

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.rnn(h)[0]


def _bare_module(model: models.SequenceModel, x: torch.Tensor):
    """The model's core layer alone, fed (B, L, D) floats, scored by the mean square of its output."""
    bare = model.backbone.blocks[0].ssm if isinstance(model.backbone, SSMBackbone) else _BareRNN(model.backbone.rnn)
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
            out = model(x)
            loss = F.cross_entropy(out.flatten(0, 1), y.flatten()) if classes else F.mse_loss(out, y)
        loss.backward()
        optimizer.step()

    return step


def _time_calls(call: Callable[[], object], job: SpeedJob) -> dict:
    first = _timed(call, job.device)
    _timed(call, job.device)  # warm-up: caches, allocator, thread pool
    stats = timing_stats([_timed(call, job.device) for _ in range(job.repeats)])
    return {"first_call_ms": first * 1e3, "median_ms": stats.median * 1e3, "iqr_ms": stats.iqr * 1e3}


def _timed(call: Callable[[], object], device: str) -> float:
    synchronize(device)
    start = time.perf_counter()
    call()
    synchronize(device)
    return time.perf_counter() - start


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
        "state_kb": _tensor_bytes(state) / 1024,
    }


def _tensor_bytes(state: object) -> int:
    if hasattr(state, "filled"):  # a cache with spare capacity (the KV cache): count what it holds
        return _tensor_bytes(state.filled())
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, list | tuple):
        return sum(_tensor_bytes(item) for item in state)
    if isinstance(state, dict):
        return sum(_tensor_bytes(item) for item in state.values())
    return 0


def _warm_up(job: SpeedJob, spec: TaskSpec) -> None:
    """A tiny step of the same family first, so one-time library loading is not charged to the figures."""
    model = models.build_model(job.model, spec, width=8, **job.model_options).to(job.device)
    x, y = random_batch(spec, 2, 4, job.device)
    autocast = torch.autocast(job.device, dtype=torch.bfloat16, enabled=job.precision == "bf16")
    _training_step(model, spec, x, y, autocast)()


# ---- in the parent ---------------------------------------------------------------------------------


def run_speed(config: SpeedConfig, *, progress: bool = True) -> Path:
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan_jobs(config)
    rows = []
    with locked(out_dir):
        failed = ShortestFailure()  # per (model, mode): longer lengths would fail too
        bar = tqdm(jobs, desc="speed", unit="config", disable=None if progress else True)
        for job in bar:
            bar.set_postfix_str(f"{job.model} {job.mode} L={job.seq_len}")
            row = _run_or_skip(job, failed.blocking(job.series, job.seq_len), config.timeout_s)
            if row["status"] != "ok":
                failed.add(job.series, job.seq_len)
            append_record(out_dir, row, SPEED_FILE)
            rows.append(row)
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


# ---- tables ------------------------------------------------------------------------------------------

COLUMNS = {  # (mode, column) -> (table title, cell format)
    ("train", "median_ms"): ("Training step, ms (median ± IQR)", "{median_ms:.1f} ± {iqr_ms:.1f}"),
    ("train", "peak_mem_mb"): ("Training peak memory, MB", "{peak_mem_mb:.0f}"),
    ("infer", "median_ms"): ("Inference forward, ms (median ± IQR)", "{median_ms:.1f} ± {iqr_ms:.1f}"),
    ("infer", "peak_mem_mb"): ("Inference peak memory, MB", "{peak_mem_mb:.0f}"),
    ("infer", "stream_token_ms"): ("Streaming, ms per token (state KB)", "{stream_token_ms:.3f} ({state_kb:.0f})"),
}
EXPONENT_COLUMNS = {
    "train time": ("train", "median_ms"),
    "train memory": ("train", "peak_mem_mb"),
    "infer time": ("infer", "median_ms"),
    "infer memory": ("infer", "peak_mem_mb"),
}


def render_speed(rows: list[dict]) -> str:
    parts = []
    for title, table in speed_tables(pd.DataFrame(rows)):
        parts += [title, table.to_markdown(floatfmt=".2f"), ""]
    return "\n".join(parts).rstrip()


def speed_tables(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(title, table) for each cost the speed command measures, the harness overhead and the exponents."""
    frame = with_labels(frame)
    tables = []
    for (mode, column), (title, cell) in COLUMNS.items():
        if column not in frame:
            continue
        measured = (frame["mode"] == mode) & ~((frame["status"] == "ok") & frame[column].isna())
        tables.append((title, _table(frame[measured], cell)))
    overhead = harness_overhead(frame)
    if not overhead.empty:
        tables.append(
            ("Full model / its bare core layer, training step time (for the RNNs: what the harness adds)", overhead)
        )
    title = "Scaling exponent k in cost ~ L^k (least-squares fit of log cost on log L over the lengths that ran)"
    return [*tables, (title, scaling_exponents(frame))]


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows written before bare modules existed carry no label: theirs is the model's name."""
    if "label" not in frame:
        return frame.assign(label=frame["model"])
    return frame.assign(label=frame["label"].fillna(frame["model"]))


def _table(rows: pd.DataFrame, cell: str) -> pd.DataFrame:
    cells: dict[str, dict[str, str]] = {}
    for row in rows.to_dict("records"):
        text = cell.format(**row) if row["status"] == "ok" else row["status"]
        cells.setdefault(row["label"], {})[f"L={row['seq_len']}"] = text
    return pd.DataFrame.from_dict(cells, orient="index")


def harness_overhead(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model with a bare row, the ratio of training step times at each length."""
    if "bare" not in frame:
        return pd.DataFrame()
    train = frame[(frame["mode"] == "train") & (frame["status"] == "ok")]
    times = train.pivot_table(index=["model", "seq_len"], columns="bare", values="median_ms")
    if True not in times or False not in times:
        return pd.DataFrame()
    ratio = (times[False] / times[True]).dropna()
    return ratio.unstack("seq_len").rename(columns=lambda n: f"L={n}")


def scaling_exponents(frame: pd.DataFrame) -> pd.DataFrame:
    """Per row label (model), the slope of log(cost) on log(length), where at least two lengths ran."""
    frame = with_labels(frame)
    exponents: dict[str, dict[str, float]] = {}
    for model in dict.fromkeys(frame["label"]):
        for name, (mode, column) in EXPONENT_COLUMNS.items():
            ok = frame[(frame["label"] == model) & (frame["mode"] == mode) & (frame["status"] == "ok")]
            ok = ok[ok[column].notna() & (ok[column] > 0)] if column in ok else ok.iloc[0:0]
            slope = float("nan")
            if len(ok) >= 2:
                slope = float(np.polyfit(np.log(ok["seq_len"]), np.log(ok[column].astype(float)), 1)[0])
            exponents.setdefault(model, {})[name] = slope
    return pd.DataFrame.from_dict(exponents, orient="index")
