"""One training loop for every model: the budget's optimiser (AdamW by default), its schedule after a linear
warm-up (cosine decay by default), and clipping after backward (or none).

The loop never asks which model it holds. Every ``eval_every`` steps the model is scored
on the fixed validation set; the first evaluation that meets the task's threshold gives
``steps_to_solve``. A non-finite loss or gradient norm stops the run as diverged.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from bench.measure.timing import synchronize
from bench.train.budget import Budget
from bench.train.evaluate import evaluate
from tasks import Batch, Task


@dataclass
class TrainResult:
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, validation loss)
    steps_to_solve: int | None = None
    seconds_to_solve: float | None = None
    step_seconds: list[float] = field(default_factory=list)
    clipped_steps: int = 0
    diverged_step: int | None = None
    last_val: dict[str, float] | None = None  # metrics of the last validation, at the last step


def make_optimizer(
    model: nn.Module, lr: float, weight_decay: float, budget: Budget | None = None
) -> torch.optim.Optimizer:
    """The budget's optimiser (AdamW when none is given). Decay matrices only; vectors, norms and parameters tagged
    ``_no_weight_decay`` are left alone (for Adam, RMSprop and SGD the decay is torch's L2 term, for AdamW it is
    decoupled). Parameters tagged ``_lr_cap`` (``models.base.lr_cap``: the S4D recipe's A and dt) train at
    min(lr, cap), undecayed."""
    params = [p for p in model.parameters() if p.requires_grad]
    caps = sorted({p._lr_cap for p in params if hasattr(p, "_lr_cap")})
    capped = [[p for p in params if getattr(p, "_lr_cap", None) == cap] for cap in caps]
    free = [p for p in params if not hasattr(p, "_lr_cap")]
    decay = [p for p in free if p.ndim >= 2 and not getattr(p, "_no_weight_decay", False)]
    decay_ids = {id(p) for p in decay}
    rest = [p for p in free if id(p) not in decay_ids]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    groups += [{"params": g, "weight_decay": 0.0, "lr": min(lr, cap)} for g, cap in zip(capped, caps, strict=True)]
    kind = budget.optimizer if budget is not None else "adamw"
    if kind in ("adamw", "adam"):
        betas, eps = (budget.betas, budget.eps) if budget is not None else ((0.9, 0.999), 1e-8)
        return (torch.optim.AdamW if kind == "adamw" else torch.optim.Adam)(groups, lr=lr, betas=betas, eps=eps)
    assert budget is not None
    if kind == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=budget.alpha, eps=budget.eps, momentum=budget.momentum)
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=budget.momentum)
    raise ValueError(f"optimizer: unknown {kind!r}")  # the config allows only OPTIMIZERS


def lr_factor(step: int, budget: Budget) -> float:
    """The schedule's learning-rate factor at ``step`` (from 0): linear warm-up to 1 over ``warmup_frac`` of the
    steps, then cosine decay towards 0, a constant 1, or a decay by ``step_gamma`` every ``step_every`` steps."""
    if budget.schedule == "cosine":
        return warmup_cosine(step, budget.steps, budget.warmup_frac)
    warmup = round(budget.warmup_frac * budget.steps)
    if step < warmup:
        return (step + 1) / warmup
    if budget.schedule == "constant":
        return 1.0
    assert budget.step_every is not None  # the config requires it with the step schedule
    return budget.step_gamma ** ((step - warmup) // budget.step_every)


def clip_threshold(budget: Budget) -> float:
    """The clipping norm; infinite without clipping, so ``clip_grad_norm_`` only measures the norm."""
    return math.inf if budget.clip_norm is None else budget.clip_norm


def warmup_cosine(step: int, steps: int, warmup_frac: float) -> float:
    """Learning-rate factor: linear warm-up to 1, then cosine decay towards 0 (reached one step past the last)."""
    warmup = max(1, round(warmup_frac * steps))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def train(
    model: nn.Module,
    task: Task,
    budget: Budget,
    *,
    lr: float,
    seq_len: int,
    data: torch.Generator,
    val_set: list[Batch],
    device: str,
    progress: bool = True,
    compiled: bool = False,
) -> TrainResult:
    """Train ``model`` for the budget's steps; ``compiled``: its forward (and so its backward) through
    torch.compile, evaluation eager (a compiled graph per mode would compile twice for the same numbers)."""
    optimizer = make_optimizer(model, lr, budget.weight_decay, budget)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, budget))
    result = TrainResult()
    train_seconds = 0.0
    model.train()
    forward = torch.compile(model) if compiled else model
    bar = tqdm(range(1, budget.steps + 1), desc="  steps", leave=False, disable=None if progress else True)
    for step in bar:
        start = time.perf_counter()
        batch = task.sample(budget.batch_size, seq_len, generator=data).to(device)  # drawn on the CPU
        loss = task.metrics(forward(batch.x, targets=batch.y), batch)["loss"]  # targets: for teacher forcing
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), clip_threshold(budget))  # after backward
        optimizer.step()
        schedule.step()
        loss_value, norm_value = loss.item(), grad_norm.item()  # a sync point on GPU
        synchronize(device)
        result.step_seconds.append(time.perf_counter() - start)
        train_seconds += result.step_seconds[-1]
        result.clipped_steps += norm_value > clip_threshold(budget)
        if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
            result.diverged_step = step
            break
        if step % budget.eval_every == 0 or step == budget.steps:
            record_eval(result, model, task, val_set, step, train_seconds)
            bar.set_postfix(val_loss=f"{result.curve[-1][1]:.4g}")
    bar.close()
    return result


def record_eval(
    result: TrainResult, model: nn.Module, task: Task, val_set: list[Batch], step: int, train_seconds: float
) -> None:
    metrics = evaluate(model, task, val_set)
    result.last_val = metrics
    result.curve.append((step, metrics["loss"]))
    if result.steps_to_solve is None and task.solved(metrics):
        result.steps_to_solve = step
        result.seconds_to_solve = train_seconds
