"""``python -m bench speed``: training, inference and streaming cost against sequence length.

Each (model, length, mode) is a job, measured in a process of its own, so its peak memory is its
own (``ru_maxrss`` growth on CPU, ``max_memory_allocated`` on CUDA). Within it: one first call (timed
and reported apart: it pays lazy initialisation), one untimed warm-up call, then ``repeats`` timed
calls with a device synchronisation after each; median and interquartile range are reported.

Modes:
- ``train``: one optimiser step (forward, loss, backward, AdamW step) on a random batch.
- ``infer``: one forward pass without autograd; then streaming, one token at a time through
  ``init_state``/``step`` for ``stream_tokens`` tokens, with the median latency of a token
  and the size of the streaming state at the end.
- ``packed`` (``--pack G``): one step of G members trained together as ``run --pack`` trains them
  (``bench.train.pack``), to set against G sequential ``train`` steps: the packing speed-up.

Every timed call is also counted in FLOPs (``bench.measure.flops``) and set against the device's measured
matmul rate at the same precision and threads. ``--cuda-graphs`` replays the training step from a captured
CUDA graph (``bench.commands.workload.captured``), so kernel launches cost one replay.

Inputs are random tokens (or reals) of the task's spec at exactly the given length
(``bench.commands.workload``).

``--bare`` adds, for each family with a core layer (its ``core_layer`` hook: the torch ``nn.LSTM``
etc., or one ``S4DLayer``), the same figures for that layer alone at the same width, batch and
length, fed random (B, L, D) floats, loss the mean square of its output: for the RNNs the gap to the
full model is what the harness adds; for the SSM it isolates the layer whose kernel options are compared. ``--precision
bf16`` runs every forward pass (and the loss) under bf16 autocast.

``--generate`` adds sampling jobs (``bench.commands.sampling``); the tables are in ``bench.analysis.speed``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

import models
import tasks
from bench.commands.sampling import plan_generation
from bench.commands.workload import captured, member_losses, random_batch, training_step, warm_up
from bench.config.speed import SpeedConfig
from bench.engines.job import Context, Job
from bench.engines.local import LocalEngine
from bench.engines.pipeline import SkipRule, run_jobs
from bench.measure.environment import environment, invocation
from bench.measure.flops import count_flops, matmul_peak
from bench.measure.memory import PeakMemory
from bench.measure.timing import synchronize, timed_call, timing_stats
from bench.measure.torch_setup import configure_torch
from bench.store.files import SCHEMAS, SPEED_FILE
from bench.store.jsonl import append_invocation, append_record, locked
from bench.train.pack import PackedStep
from tasks.base import TaskSpec

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
    bare: str | None = None  # the core layer's class name: time it alone, without encoder, head, blocks and loss
    timeout_s: float | None = None
    numerics: str = "portable"  # the CPU kernel paths (bench.measure.numerics)
    tag: str = ""  # added to the label where rows would otherwise share one (several --numerics)
    task_params: dict = dataclasses.field(default_factory=dict)  # the task's variant and parameters
    pack: int = 1  # members trained together (mode "packed")
    cuda_graphs: bool = False  # replay the training step from a captured CUDA graph
    compiled: bool = False  # the training step's forward and backward through torch.compile

    @property
    def label(self) -> str:
        """The table's row name: the model, or its bare core layer, and the tag."""
        name = f"{self.model} (bare {self.bare})" if self.bare else self.model
        return name + (" [compiled]" if self.compiled else "") + self.tag

    @property
    def series(self) -> tuple[str, str]:
        """What a failure at one length predicts for the longer ones: the same label and mode."""
        return self.label, self.mode

    @property
    def length(self) -> int:
        return self.seq_len

    def describe(self) -> str:
        return f"{self.label} {self.mode} L={self.seq_len}"

    def identities(self) -> list[dict]:
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("timeout_s", "tag")}
        return [{"schema": SCHEMAS[SPEED_FILE], **fields, "bare": self.bare is not None, "label": self.label}]

    def measure(self, context: Context) -> list[dict]:
        """One configuration's figures; its process is its own (peak memory)."""
        configure_torch(self.device, self.threads)
        (identity,) = self.identities()
        return [{**identity, "status": "ok", "error": None, **_measure(self), **environment(self.device)}]


def plan_jobs(config: SpeedConfig) -> list[SpeedJob]:
    """Model by model, mode by mode, short lengths first: so a failure can skip the longer ones. With several
    --numerics, every configuration under each, tagged ``[native]``, ``[portable]``."""
    spec = tasks.get_task(config.task, **config.task_arguments).spec
    variants: list[tuple[str, str | None]] = [(model, None) for model in config.models]
    if config.bare:
        layers = {model: models.core_layer_name(model, spec, config.options_of(model)) for model in config.models}
        variants += [(model, layer) for model, layer in layers.items() if layer is not None]
    tagged = len(config.numerics) > 1
    modes = [*MODES, "packed"] if config.pack > 1 else list(MODES)
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
            config.options_of(model),
            config.precision,
            bare,
            config.timeout_s,
            numerics,
            f" [{numerics}]" if tagged else "",
            config.task_arguments,
            config.pack if mode == "packed" else 1,
            config.cuda_graphs and mode == "train",
            config.compile and mode == "train",
        )  # fmt: skip
        for numerics in config.numerics
        for model, bare in variants
        for mode in modes
        if not (mode == "packed" and (bare or not models.packable(model)))  # torch's fused RNNs have no vmap rule
        for length in sorted(config.lengths)
    ]


# ---- in the child process ----------------------------------------------------------------------


def _measure(job: SpeedJob) -> dict:
    spec = tasks.get_task(job.task, **job.task_params).spec
    warm_up(job, spec)
    memory = PeakMemory(job.device, fresh_process=True)
    memory.start()
    torch.manual_seed(0)
    model = models.build_model(job.model, spec, target_params=job.params, **job.model_options).to(job.device)
    x, y = random_batch(spec, job.batch_size, job.seq_len, job.device)
    if job.bare:
        model, x, y, spec = _bare_module(model, x)
    autocast = torch.autocast(job.device, dtype=torch.bfloat16, enabled=job.precision == "bf16")
    if job.mode == "packed":
        step = _packed_step(job, spec, model, x, y, autocast)
        figures = _time_calls(step, job)
        figures["peak_mem_mb"] = memory.stop()
    elif job.mode == "train":
        step = training_step(model, spec, x, y, autocast, capturable=job.cuda_graphs)
        if job.compiled:  # the first call compiles; the FLOPs are counted on the eager twin (the same operations)
            timed = training_step(torch.compile(model), spec, x, y, autocast)
        else:
            timed = captured(step) if job.cuda_graphs else step
        figures = _time_calls(timed, job, counted=step)
        figures["peak_mem_mb"] = memory.stop()
    else:
        model.eval()
        with torch.inference_mode(), autocast:
            figures = _time_calls(lambda: model(x), job)
            figures["peak_mem_mb"] = memory.stop()
            if not job.bare and model.streams:  # a family that cannot stream keeps its forward figures
                figures.update(_streaming(model, x, job))
    tokens = job.batch_size * job.seq_len * job.pack
    peak = matmul_peak(job.device, torch.bfloat16 if job.precision == "bf16" else torch.float32)
    return {
        **figures,
        "n_params": models.count_parameters(model),
        "tokens_per_s": tokens / (figures["median_ms"] / 1e3),
        "flops_per_s": figures["flops"] / (figures["median_ms"] / 1e3),
        "peak_flops_per_s": peak,
        "mem_method": memory.method,
    }


def _packed_step(job: SpeedJob, spec: TaskSpec, first: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                 autocast: torch.autocast) -> Callable[[], object]:  # fmt: skip
    """One step of ``job.pack`` members (``first`` and more of its size, each from its own seed), each on the
    same batch: the cost does not depend on the data."""
    members = [first]
    for seed in range(1, job.pack):
        torch.manual_seed(seed)
        members.append(models.build_model(job.model, spec, target_params=job.params, **job.model_options))
    members = [m.to(job.device) for m in members]
    step = PackedStep(members, [1e-4] * job.pack, weight_decay=0.01, clip_norm=1.0, losses=member_losses(spec),
                      autocast=autocast)  # fmt: skip
    xs, ys = (t.expand(job.pack, *t.shape).contiguous() for t in (x, y))
    active = [True] * job.pack
    return lambda: step(xs, ys, 1.0, active)


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
    bare = _Bare(model.core_layer())
    h = torch.randn(*x.shape[:2], model.width, generator=torch.Generator().manual_seed(0)).to(x.device)
    return bare, h, torch.zeros_like(h), TaskSpec("real", model.width, "regression", model.width, "all")


def _time_calls(call: Callable[[], object], job: SpeedJob, counted: Callable[[], object] | None = None) -> dict:
    """First call, warm-up, then the timed repeats; the FLOPs of ``counted`` (default: the call itself; a graph
    replay shows the counter no operations, so the captured step's eager twin is counted)."""
    _, first = timed_call(call, job.device)
    timed_call(call, job.device)  # warm-up: caches, allocator, thread pool
    flops = count_flops(counted or call)  # untimed: the counter slows the call down
    stats = timing_stats([timed_call(call, job.device)[1] for _ in range(job.repeats)])
    return {"first_call_ms": first * 1e3, "median_ms": stats.median * 1e3, "iqr_ms": stats.iqr * 1e3, "flops": flops}


def _streaming(model: models.SequenceModel, x: torch.Tensor, job: SpeedJob) -> dict:
    """Median latency of one token through ``step``, and the state's size after the last one."""
    tokens = x[:, : job.stream_tokens].unbind(1)  # unbind once: indexing x[:, t] per step makes backward quadratic
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
        "state_kb": models.state_bytes(state) / 1024,
    }


# ---- in the parent ---------------------------------------------------------------------------------


def run_speed(config: SpeedConfig, *, progress: bool = True) -> list[dict]:
    """Every configuration, one at a time (timings of one job alone); returns the rows written."""
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs: list[Job] = [*plan_jobs(config), *plan_generation(config)]
    rows: list[dict] = []
    failed = SkipRule(
        predicts=lambda records: records[0]["status"] != "ok",  # longer lengths of the same model and mode too
        reason=lambda job, length: f"failed at L={length}",
    )
    with locked(out_dir):
        append_invocation(out_dir, invocation("speed", config.model_dump(mode="json"), config.resolved_device))
        bar = tqdm(total=len(jobs), desc="speed", unit="config", disable=None if progress else True)

        def store(job: Job, records: list[dict]) -> None:
            for record in records:
                append_record(out_dir, record, SPEED_FILE)
            rows.extend(records)
            bar.update()
            bar.set_postfix_str(job.describe())

        try:
            run_jobs(jobs, LocalEngine(1, config.resolved_device, progress=False), store, failed)
        finally:
            bar.close()
    return rows
