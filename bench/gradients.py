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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import models
import tasks
from bench.checkpoints import initial_model, initial_model_of, trained_model_of
from bench.config import GradientsConfig
from bench.runner import configure_torch, failure_status
from bench.seeds import split_generator
from bench.store import append_record, latest_by_key, locked, read_records
from bench.summary import select_best_lr

GRADIENTS_FILE = "gradients.jsonl"
STATES = ("init", "trained")


@dataclass(frozen=True)
class GradientJob:
    """One curve to measure: a model at a length and seed, at initialisation or trained."""

    model: str
    model_options: dict
    seq_len: int
    seed: int
    state: str
    target_params: int
    run: dict | None = None  # the trained run's record; None for a model measured at initialisation only

    def build(self, task: tasks.Task, out_dir: Path | None) -> models.SequenceModel:
        if self.run is None:
            size, options = self.target_params, self.model_options
            return initial_model(self.model, task.spec, seed=self.seed, target_params=size, options=options)
        return initial_model_of(self.run) if self.state == "init" else trained_model_of(self.run, out_dir)


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


def measure(job: GradientJob, task: tasks.Task, batch_size: int, source: Path | None) -> dict:
    """One curve as a record; a failure is recorded with its status, never raised."""
    record = _identity(job, task, batch_size)
    try:
        model = job.build(task, source).double().eval()  # float64: decay measured past float32 underflow
        test_stream = split_generator(job.seed, "test", task.variant_id, job.seq_len, "cpu")
        norms = gradient_by_distance(model, _as_float64(task.sample(batch_size, job.seq_len, generator=test_stream)))
        record.update(
            status="ok", n_params=models.count_parameters(model), grad_norm=norms.tolist(), **curve_summary(norms)
        )
    except Exception as exc:  # noqa: BLE001 - one curve failing must not lose the others
        record.update(status=failure_status(exc), error=f"{type(exc).__name__}: {exc}")
    return record


def _as_float64(batch: tasks.Batch) -> tasks.Batch:
    """Real inputs and targets in float64, as the model is; tokens and classes stay integers."""
    x, y = (t.double() if t.is_floating_point() else t for t in (batch.x, batch.y))
    return tasks.Batch(x, y, batch.mask)


def _identity(job: GradientJob, task: tasks.Task, batch_size: int) -> dict:
    """What the curve measures, with a failure status until it is measured."""
    return {
        "task": task.name,
        "variant": task.variant_id,
        "task_params": task.params(),
        "model": job.model,
        "model_options": job.model_options,
        "seq_len": job.seq_len,
        "total_length": task.total_length(job.seq_len),
        "seed": job.seed,
        "state": job.state,
        "n_sequences": batch_size,
        "trained_run_key": job.run["run_key"] if job.run else None,
        "clipped_frac": job.run.get("clipped_frac") if job.run and job.state == "trained" else None,
        "status": "error",
        "error": None,
    }


# ---- which curves -------------------------------------------------------------------------------


def plan_jobs(config: GradientsConfig) -> tuple[list[GradientJob], list[str]]:
    """Init and trained curves for every model with a trained run at the length and seed; init only for the
    rest. Returns the jobs and, for the user, the (model, length) cells that had no trained run."""
    trained = _trained_runs(config)
    jobs, untrained = [], []
    for model in config.models:
        options = models.full_options(model, config.model_options.get(model, {}))
        for seq_len in sorted(config.lengths):
            for seed in config.seeds:
                run = trained.get((model, seq_len, seed))
                if run is None:
                    untrained.append(f"{model} T={seq_len} seed {seed}")
                    jobs.append(GradientJob(model, options, seq_len, seed, "init", config.params))
                    continue
                jobs += [
                    GradientJob(model, run["model_options"], seq_len, seed, state, run["target_params"], run)
                    for state in STATES
                ]
    return jobs, untrained


def _trained_runs(config: GradientsConfig) -> dict[tuple[str, int, int], dict]:
    """(model, length, seed) -> the chosen (best validation loss) finished run that kept its weights."""
    if config.source is None:
        return {}
    runs = pd.DataFrame(list(latest_by_key(read_records(config.source)).values()))
    if runs.empty or "checkpoint" not in runs:
        return {}
    task = tasks.get_task(config.task, **config.task_params)
    same_task = (runs["variant"] == task.variant_id) & runs["task_params"].map(lambda kept: kept == task.params())
    runs = runs[same_task & runs["checkpoint"].notna()]
    chosen = select_best_lr(runs).to_dict("records")
    # A run trained with other options is another model: --option asks for the model it names, at init only.
    wanted = {model: models.full_options(model, config.model_options.get(model, {})) for model in config.models}
    return {
        (r["model"], int(r["seq_len"]), int(r["seed"])): r
        for r in chosen
        if r["model"] in wanted and r["model_options"] == wanted[r["model"]]
    }


def run_gradients(config: GradientsConfig, *, progress: bool = True) -> Path:
    configure_torch("cpu", config.threads)
    task = tasks.get_task(config.task, **config.task_params)
    jobs, untrained = plan_jobs(config)
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir):
        for job in tqdm(jobs, desc="gradients", disable=None if progress else True):
            append_record(out_dir, measure(job, task, config.batch_size, config.source), GRADIENTS_FILE)
    records = read_gradients(out_dir)
    print(render_gradient_summary(records[records["variant"] == task.variant_id], untrained, config))
    if config.report:
        from bench.report import write_report

        write_report(out_dir)
    return out_dir


def render_gradient_summary(records: pd.DataFrame, untrained: list[str], config: GradientsConfig) -> str:
    table = gradient_table(records)
    lines = ["", table.to_markdown(index=False, floatfmt=".3g") if not table.empty else "No curve was measured."]
    lines += ["", *(f"- {v['claim']}: **{v['verdict']}** ({v['evidence']})" for v in gradient_verdicts(records))]
    failed = records[records["status"] != "ok"].to_dict("records")
    lines += [f"Failed: {r['model']} T={r['seq_len']} {r['state']}: {r['status']}, {r['error']}" for r in failed]
    if untrained:
        where = config.source or "the results folder"
        lines += ["", f"At initialisation only (no trained run with weights in {where}): {', '.join(untrained)}."]
        lines += [f"Train them with `python -m bench run --task {config.task}` for the trained curves."]
    lines += ["", f"Curves: {config.out_dir / GRADIENTS_FILE}"]
    return "\n".join(lines)


# ---- tables and verdicts (also used by the report) ------------------------------------------------


def gradient_table(records: pd.DataFrame) -> pd.DataFrame:
    """One row per model x length x state, averaged over seeds, models in registry order."""
    ok = records[records["status"] == "ok"] if not records.empty else records
    if ok.empty:
        return pd.DataFrame()
    rows = []
    for (model, seq_len, state), group in ok.groupby(["model", "seq_len", "state"], sort=False):
        rows.append(
            {"model": model, "T": int(seq_len), "state": state, "seeds": len(group),
             "decades lost / 100 steps": group["decay"].mean(), "exponential fit R²": group["fit_r2"].mean(),
             "reach (log10 far/near)": group["reach"].mean(), "clipped steps": group["clipped_frac"].mean()}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    table["clipped steps"] = table["clipped steps"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")  # trained only
    order = {name: i for i, name in enumerate(models.MODELS)}
    table = table.sort_values(["T", "state", "model"], key=lambda c: c.map(order) if c.name == "model" else c)
    return table.reset_index(drop=True)


# What the literature expects, judged on the longest length measured. A "reach" of -2 is a gradient 100x
# weaker at the far end than near the output; less than 10x weaker (reach > -1) counts as no decay.
DECAYS, FLAT = -2.0, 1.0


def gradient_verdicts(records: pd.DataFrame) -> list[dict[str, str]]:
    """confirmed / contradicted / unclear / not measured for each expected behaviour, per state."""
    if records.empty or not (records["status"] == "ok").any():
        return []
    ok = records[records["status"] == "ok"]
    longest = ok[ok["seq_len"] == ok["seq_len"].max()]
    verdicts = []
    for state in [s for s in STATES if s in set(longest["state"])]:
        at = longest[longest["state"] == state].groupby("model")[["decay", "fit_r2", "reach"]].mean()
        T = int(longest["seq_len"].max())
        verdicts += [
            _rnn_decays(at, state, T),
            _gated_slower(at, state, T),
            _one_hop_no_decay(at, state, T),
        ]
    return verdicts


def _verdict(claim: str, verdict: str, evidence: str) -> dict[str, str]:
    return {"claim": claim, "verdict": verdict, "evidence": evidence}


def _rnn_decays(at: pd.DataFrame, state: str, T: int) -> dict[str, str]:
    claim = f"tanh RNN: exponential decay ({state}, T={T})"
    if "rnn" not in at.index:
        return _verdict(claim, "not measured", "no rnn curve")
    reach, r2 = at.loc["rnn", "reach"], at.loc["rnn", "fit_r2"]
    evidence = f"reach {reach:.2g}, R² {r2:.2f}"
    if reach < DECAYS and r2 >= 0.8:
        return _verdict(claim, "confirmed", evidence)
    return _verdict(claim, "contradicted" if reach > -FLAT else "unclear", evidence)


def _gated_slower(at: pd.DataFrame, state: str, T: int) -> dict[str, str]:
    claim = f"LSTM and GRU: decay far slower than the tanh RNN ({state}, T={T})"
    gated = [m for m in ("lstm", "gru") if m in at.index]
    if "rnn" not in at.index or not gated:
        return _verdict(claim, "not measured", "needs rnn and lstm or gru")
    evidence = ", ".join(f"{m} {at.loc[m, 'decay']:.2g}" for m in ["rnn", *gated]) + " decades / 100 steps"
    rnn = at.loc["rnn", "decay"]
    if all(at.loc[m, "decay"] <= rnn / 3 for m in gated):
        return _verdict(claim, "confirmed", evidence)
    return _verdict(claim, "contradicted" if any(at.loc[m, "decay"] >= rnn for m in gated) else "unclear", evidence)


def _one_hop_no_decay(at: pd.DataFrame, state: str, T: int) -> dict[str, str]:
    # Flat, or rising: a trained model may put its gradient on the far step that holds the answer.
    claim = f"SSM and attention: no decay with distance ({state}, T={T})"
    one_hop = [m for m in ("ssm", "transformer") if m in at.index]
    if not one_hop:
        return _verdict(claim, "not measured", "no ssm or transformer curve")
    evidence = ", ".join(f"{m} reach {at.loc[m, 'reach']:.2g}" for m in one_hop)
    if all(at.loc[m, "reach"] > -FLAT for m in one_hop):
        return _verdict(claim, "confirmed", evidence)
    return _verdict(claim, "contradicted" if any(at.loc[m, "reach"] < DECAYS for m in one_hop) else "unclear", evidence)


def gradient_curves(records: pd.DataFrame) -> pd.DataFrame:
    """Long form for the figure: model, T, state, seed, distance, grad_norm."""
    rows = []
    for record in records[records["status"] == "ok"].to_dict("records"):
        for distance, norm in enumerate(record["grad_norm"]):
            rows.append(
                {"model": record["model"], "T": record["seq_len"], "state": record["state"], "seed": record["seed"],
                 "distance": distance, "grad_norm": norm}
            )  # fmt: skip
    return pd.DataFrame(rows)


CURVE = ["task", "variant", "task_params", "model", "model_options", "seq_len", "seed", "state"]


def read_gradients(out_dir: Path) -> pd.DataFrame:
    """The newest curve of each task, model, length, seed and state: one measured later (after training, with
    another batch size) replaces one measured before, instead of being averaged with it."""
    records = read_records(out_dir, GRADIENTS_FILE)
    newest = {json.dumps([r.get(field) for field in CURVE], sort_keys=True): r for r in records}
    return pd.DataFrame(list(newest.values()))
