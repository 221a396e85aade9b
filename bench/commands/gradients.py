"""``python -m bench gradients``: how far back through time the loss gradient reaches.

What is measured. On a batch of test sequences, the loss of the final output (a step every task
scores) is differentiated with respect to the backbone's input at every step, ``h_t = encoder(x)_t``.
The norm ``||dℓ/dh_t||`` of each sequence, averaged over the batch, is reported against the distance
``d = L - 1 - t`` from the scored output. A vanishing gradient is an exponential decay in ``d``
(Bengio et al. 1994; Pascanu et al. 2013), a straight line on a log scale; a gated RNN carries the
gradient along its cell or update path; an SSM's kernel and attention reach every step in one hop.

Each model is measured at initialisation (a run's own initial weights, drawn again from its
init seed) and trained (its checkpoint); without a trained run in the results folder, at
initialisation only. The measurement runs in float64, so a decay is followed past float32's
underflow near 1e-38 instead of reading as an exact zero.

Summary of each curve:
- ``decay``: decades of gradient norm lost per 100 steps of distance (least-squares slope of log10 norm);
- ``fit_r2``: how exponential the decay is (1: a straight line on the log scale);
- ``reach``: log10 of the mean norm over the farthest tenth of the sequence over that of the nearest tenth;
  both leave out distance 0, where the output reads its own step's input directly;
- ``clipped_frac``: of the trained run, the fraction of its steps whose gradient norm was clipped.

Each curve is a job, run in a process of its own like every other; the table and the verdicts that
read the curves are in ``bench.analysis.gradients``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import models
import tasks
from bench.checkpoints import initial_model, initial_model_of, trained_model_of
from bench.config.gradients import GradientsConfig
from bench.engines.job import Context, Job
from bench.engines.local import LocalEngine
from bench.engines.pipeline import run_jobs
from bench.measure.environment import environment, invocation
from bench.measure.seeds import split_generator
from bench.measure.torch_setup import configure_torch
from bench.store.files import GRADIENTS_FILE, SCHEMAS
from bench.store.folder import ResultsFolder
from bench.store.jsonl import append_invocation, append_record, locked

STATES = ("init", "trained")


@dataclass(frozen=True)
class GradientJob:
    """One curve to measure: a model at a length and seed, at initialisation or trained."""

    task: str
    task_params: dict
    model: str
    model_options: dict
    seq_len: int
    seed: int
    state: str
    target_params: int
    batch_size: int
    threads: int | None = None
    source_dir: str | None = None  # the results folder of the trained run
    run: dict | None = None  # the trained run's record; None for a model measured at initialisation only
    timeout_s: float | None = None
    numerics: str = "portable"  # the CPU kernel paths (bench.measure.numerics)

    def describe(self) -> str:
        return f"{self.model} T={self.seq_len} seed {self.seed} {self.state}"

    def identities(self) -> list[dict]:
        """What the curve measures, whatever happens."""
        task = tasks.get_task(self.task, **self.task_params)
        return [{
            "schema": SCHEMAS[GRADIENTS_FILE], "task": task.name, "variant": task.variant_id,
            "task_params": task.params(), "model": self.model, "model_options": self.model_options,
            "model_traits": models.model_traits(self.model, self.model_options), "seq_len": self.seq_len,
            "total_length": task.total_length(self.seq_len), "seed": self.seed, "state": self.state,
            "n_sequences": self.batch_size, "trained_run_key": self.run["run_key"] if self.run else None,
            "clipped_frac": self.run.get("clipped_frac") if self.run and self.state == "trained" else None,
            "numerics": self.numerics,
        }]  # fmt: skip

    def build(self, task: tasks.Task) -> models.SequenceModel:
        if self.run is None:
            size, options = self.target_params, self.model_options
            return initial_model(self.model, task.spec, seed=self.seed, target_params=size, options=options)
        if self.state == "init":
            return initial_model_of(self.run)
        return trained_model_of(self.run, Path(self.source_dir))

    def measure(self, context: Context) -> list[dict]:
        configure_torch("cpu", self.threads)
        task = tasks.get_task(self.task, **self.task_params)
        model = self.build(task).double().eval()  # float64: decay measured past float32 underflow
        test_stream = split_generator(self.seed, "test", task.variant_id, self.seq_len)
        batch = _as_float64(task.sample(self.batch_size, self.seq_len, generator=test_stream))
        norms = gradient_by_distance(model, batch)
        (identity,) = self.identities()
        return [{
            **identity, "status": "ok", "error": None, "n_params": models.count_parameters(model),
            "grad_norm": norms.tolist(), **curve_summary(norms), **environment("cpu"),
        }]  # fmt: skip


# ---- the measurement ----------------------------------------------------------------------------


def final_step_loss(output: torch.Tensor, y: torch.Tensor, spec: tasks.TaskSpec) -> torch.Tensor:
    """The loss of each sequence's final output, summed over sequences, so each sequence's gradient is its own."""
    last = output[:, -1]  # (B, D_out)
    if spec.output_kind == "classes":
        return F.cross_entropy(last, y[:, -1], reduction="sum")
    return (last[:, 0] - y[:, -1]).pow(2).sum()


def gradient_by_distance(model: models.SequenceModel, batch: tasks.Batch) -> np.ndarray:
    """(L,) mean over sequences of ||dℓ/dh_t||, indexed by the distance d = L - 1 - t from the final output."""
    captured: list[torch.Tensor] = []
    hook = model.encoder.register_forward_hook(lambda module, args, output: captured.append(output))
    try:
        output = model(batch.x)  # (B, L, D_out)
    finally:
        hook.remove()
    (embedded,) = captured  # (B, L, D): the backbone's input
    (grad,) = torch.autograd.grad(final_step_loss(output, batch.y, model.spec), embedded)
    return grad.norm(dim=-1).mean(dim=0).flip(0).detach().cpu().numpy()  # (L,) by distance


def curve_summary(norms: np.ndarray) -> dict[str, float | None]:
    """Decay rate, how exponential it is, and how much of the gradient reaches the far end.

    Distance 0 is left out: there every model's output reads its own step's input directly (a residual
    connection, the SSM's skip term), a spike that says nothing about reaching back through time.
    """
    distance = np.arange(1, len(norms))
    through_time = norms[1:]
    usable = np.isfinite(through_time) & (through_time > 0)
    summary: dict[str, float | None] = {"decay": None, "fit_r2": None, "reach": None}
    if usable.sum() >= 3:
        log_norm = np.log10(through_time[usable])
        slope, intercept = np.polyfit(distance[usable], log_norm, 1)
        residual = log_norm - (slope * distance[usable] + intercept)
        spread = ((log_norm - log_norm.mean()) ** 2).sum()
        summary["decay"] = float(-100 * slope)
        summary["fit_r2"] = float(1 - (residual**2).sum() / spread) if spread > 0 else 1.0
    tenth = max(1, len(through_time) // 10)
    near, far = through_time[:tenth].mean(), through_time[-tenth:].mean()
    if near > 0:  # a far end that underflowed even float64 reads as its floor: a bound, still a decay
        summary["reach"] = float(np.log10(max(far, np.finfo(np.float64).tiny) / near))
    return summary


def _as_float64(batch: tasks.Batch) -> tasks.Batch:
    """Real inputs and targets in float64, as the model is; tokens and classes stay integers."""
    x, y = (t.double() if t.is_floating_point() else t for t in (batch.x, batch.y))
    return tasks.Batch(x, y, batch.mask)


# ---- which curves, and running them ---------------------------------------------------------------


def plan_jobs(config: GradientsConfig) -> tuple[list[GradientJob], list[str]]:
    """Init and trained curves for every model with a trained run at the length and seed; init only for the
    rest. Returns the jobs and, for the user, the (model, length) cells that had no trained run."""
    task = tasks.get_task(config.task, **config.task_arguments)
    # A run trained with other options is another model: --option asks for the model it names, at init only.
    wanted = {model: models.full_options(model, config.options_of(model)) for model in config.models}
    trained = ResultsFolder(config.source).trained_runs(task.variant_id, task.params(), wanted) if config.source else {}
    common = {"task": config.task, "task_params": task.params(), "batch_size": config.batch_size,
              "threads": config.threads, "source_dir": str(config.source) if config.source else None,
              "numerics": config.numerics}  # fmt: skip
    jobs, untrained = [], []
    for model in config.models:
        for seq_len in sorted(config.lengths):
            for seed in config.seeds:
                run = trained.get((model, seq_len, seed))
                if run is None:
                    untrained.append(f"{model} T={seq_len} seed {seed}")
                    jobs.append(GradientJob(model=model, model_options=wanted[model], seq_len=seq_len, seed=seed,
                                            state="init", target_params=config.params, **common))  # fmt: skip
                    continue
                jobs += [
                    GradientJob(model=model, model_options=run["model_options"], seq_len=seq_len, seed=seed,
                                state=state, target_params=run["target_params"], run=run, **common)
                    for state in STATES
                ]  # fmt: skip
    return jobs, untrained


def run_gradients(config: GradientsConfig, *, progress: bool = True) -> tuple[list[dict], list[str]]:
    """Every curve, each in a process of its own; returns the folder's curves of this task variant (the newest of
    each) and the cells measured at initialisation only."""
    jobs, untrained = plan_jobs(config)
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir):
        append_invocation(out_dir, invocation("gradients", config.model_dump(mode="json"), "cpu"))
        bar = tqdm(total=len(jobs), desc="gradients", disable=None if progress else True)

        def store(job: Job, records: list[dict]) -> None:
            for record in records:
                append_record(out_dir, record, GRADIENTS_FILE)
            bar.update()

        try:
            run_jobs(jobs, LocalEngine(1, "cpu", progress=False), store)
        finally:
            bar.close()
    variant = tasks.get_task(config.task, **config.task_arguments).variant_id
    return [r for r in ResultsFolder(out_dir).gradient_curves() if r.get("variant") == variant], untrained
