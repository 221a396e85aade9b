"""Packed training: the runs of one model and length that differ only in seed and learning rate, trained as one
program (``run --pack``).

The members' parameters are stacked (``torch.func.stack_module_state``) and one forward and backward
serve them all (``vmap`` over ``functional_call``): on a GPU, where a step of a small model waits on
kernel launches rather than arithmetic, G members cost about one launch sequence instead of G. Each
member keeps what makes it its own run: its initialisation and data stream (from its seed), its
learning rate, its gradient clipping (its own gradient norm), its evaluations, and its divergence (a
member whose loss or gradient norm is not finite stops alone; the others go on). The optimiser is
AdamW written out for stacked parameters, in the order of operations torch's single-tensor AdamW
uses, so a member follows the unpacked run's trajectory to within float rounding.

Families built on torch's fused RNN modules (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``) cannot be packed:
those ops have no vmap batching rule. Their runs train unpacked (``models.packable``).

Dimension letters: ``G`` members, ``B`` batch, ``L`` length.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from bench.measure.timing import synchronize
from bench.train.budget import Budget
from bench.train.loop import TrainResult, clip_threshold, lr_factor, record_eval
from tasks import Task

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.AdamW's defaults, which the unpacked runs use


class PackedAdamW:
    """AdamW over stacked parameters (G, ...), with a learning rate per member; torch's single-tensor AdamW step,
    operation for operation. Parameter groups follow the trainer's tags: weight decay on matrices only, none
    on ``_no_weight_decay``, and min(lr, cap) without decay on ``_lr_cap`` (read from the first member)."""

    def __init__(self, params: dict[str, torch.Tensor], template: nn.Module, lrs: list[float], weight_decay: float):
        tags = dict(template.named_parameters())
        self.params = params
        self.lrs = lrs
        self.decay = {name: 0.0 if _undecayed(tags[name]) else weight_decay for name in params}
        self.caps = {name: getattr(tags[name], "_lr_cap", None) for name in params}
        self.exp_avg = {name: torch.zeros_like(p) for name, p in params.items()}
        self.exp_avg_sq = {name: torch.zeros_like(p) for name, p in params.items()}
        self.steps = 0

    def _per_member(self, values: list[float], like: torch.Tensor) -> torch.Tensor:
        """(G, 1, ..., 1) float32 from per-member Python floats, as torch turns a scalar into the tensor's dtype."""
        return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *([1] * (like.ndim - 1)))

    @torch.no_grad()
    def step(self, factor: float, active: list[bool]) -> None:
        """One step of every active member at learning rate lr * ``factor`` (the schedule's)."""
        self.steps += 1
        beta1, beta2 = BETAS
        bias1, bias2 = 1 - beta1**self.steps, 1 - beta2**self.steps
        for name, param in self.params.items():
            cap = self.caps[name]
            lrs = [(min(lr, cap) if cap is not None else lr) * factor if on else 0.0
                   for lr, on in zip(self.lrs, active, strict=True)]  # fmt: skip
            grad = param.grad
            exp_avg, exp_avg_sq = self.exp_avg[name], self.exp_avg_sq[name]
            if self.decay[name]:
                param.mul_(self._per_member([1 - lr * self.decay[name] for lr in lrs], param))
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (exp_avg_sq.sqrt() / bias2**0.5).add_(EPS)
            param.add_(exp_avg / denom * self._per_member([-lr / bias1 for lr in lrs], param))


def packs(budget: Budget) -> bool:
    """Whether runs of this budget can train packed: ``PackedAdamW`` is AdamW at torch's default betas and eps; runs
    of any other optimiser train unpacked, as those of torch's fused RNNs do."""
    return budget.optimizer == "adamw" and tuple(budget.betas) == BETAS and budget.eps == EPS


def _undecayed(param: nn.Parameter) -> bool:
    return param.ndim < 2 or getattr(param, "_no_weight_decay", False) or hasattr(param, "_lr_cap")


def member_grad_norms(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """(G,) each member's total gradient norm, as ``clip_grad_norm_`` computes it over one model's parameters."""
    norms = [p.grad.flatten(1).norm(dim=1) for p in params.values()]  # each (G,)
    return torch.stack(norms, dim=1).norm(dim=1)


@torch.no_grad()
def clip_members(params: dict[str, torch.Tensor], norms: torch.Tensor, max_norm: float) -> None:
    """Scale each member's gradient by min(1, max_norm / (norm + 1e-6)), as ``clip_grad_norm_`` does."""
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)  # (G,)
    for p in params.values():
        p.grad.mul_(coef.view(-1, *([1] * (p.ndim - 1))))


def load_member(model: nn.Module, params: dict[str, torch.Tensor], g: int) -> nn.Module:
    """Copy member g's weights into ``model`` (to evaluate it, or keep it as a checkpoint)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(params[name][g])
    return model


class PackedStep:
    """One training step of every member at once: forward and backward under ``vmap``, each member's loss,
    gradient norm and clipping, then AdamW. ``losses(out, y)`` gives the (G,) losses of the stacked outputs."""

    def __init__(self, models: list[nn.Module], lrs: list[float], *, weight_decay: float, clip_norm: float,
                 losses: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 autocast: contextlib.AbstractContextManager | None = None):  # fmt: skip
        self.params, self.buffers = stack_module_state(models)  # each (G, ...)
        base = copy.deepcopy(models[0]).to("meta")  # shapes only: the stacked tensors are passed in

        def forward(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return functional_call(base, (p, b), (x,), {"targets": y})

        self.forward = vmap(forward)
        self.losses = losses
        self.optimizer = PackedAdamW(self.params, models[0], lrs, weight_decay)
        self.clip_norm = clip_norm
        self.autocast = autocast if autocast is not None else contextlib.nullcontext()

    def __call__(self, x: torch.Tensor, y: torch.Tensor, factor: float, active: list[bool]):
        """Step the active members on their batches x, y (G, B, L, ...); their (G,) losses and gradient norms."""
        with self.autocast, warnings.catch_warnings():
            # On CPU, torch has no vmap rule for its fused attention kernel and runs it member by member (correct,
            # slower); it warns on every step. The CUDA kernels have rules.
            warnings.filterwarnings("ignore", message="There is a performance drop because we have not yet")
            losses = self.losses(self.forward(self.params, self.buffers, x, y), y)
        for p in self.params.values():
            p.grad = None
        torch.where(torch.tensor(active, device=losses.device), losses, 0.0).sum().backward()
        norms = member_grad_norms(self.params)
        clip_members(self.params, norms, self.clip_norm)  # after backward, or it is a no-op
        self.optimizer.step(factor, active)
        return losses.detach(), norms


def train_packed(
    models: list[nn.Module],
    task: Task,
    budget: Budget,
    *,
    lrs: list[float],
    seq_len: int,
    data: list[torch.Generator],
    val_sets: list[list],
    device: str,
    progress: bool = True,
) -> list[TrainResult]:
    """Train the members together; each member's result as ``train`` would give it. ``models`` hold each member's
    initial weights on entry and its final ones on return."""
    batches: list = []  # this step's, one per member: the task scores each member on its own batch

    def losses(out: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
        return torch.stack([task.metrics(out[g], batch)["loss"] for g, batch in enumerate(batches)])

    if not packs(budget):  # pack_jobs keeps such runs apart
        raise ValueError("packed training implements AdamW at torch's default betas and eps only")
    packed = PackedStep(models, lrs, weight_decay=budget.weight_decay, clip_norm=clip_threshold(budget), losses=losses)
    results = [TrainResult() for _ in models]
    active = [True] * len(models)
    train_seconds = 0.0
    for model in models:
        model.train()
    bar = tqdm(range(1, budget.steps + 1), desc="  packed steps", leave=False, disable=None if progress else True)
    for step in bar:
        start = time.perf_counter()
        batches[:] = [task.sample(budget.batch_size, seq_len, generator=d).to(device) for d in data]  # on the CPU
        x, y = torch.stack([b.x for b in batches]), torch.stack([b.y for b in batches])
        losses_now, norms = packed(x, y, lr_factor(step - 1, budget), active)
        loss_values, norm_values = losses_now.tolist(), norms.tolist()  # a sync point on GPU
        synchronize(device)
        seconds = time.perf_counter() - start
        train_seconds += seconds
        for g, result in enumerate(results):
            if active[g]:
                member = lambda g=g: load_member(models[g], packed.params, g)  # noqa: E731 - built only to evaluate
                _member_step(result, g, step, seconds, train_seconds, loss_values[g], norm_values[g], active, member,
                             task, val_sets[g], budget)  # fmt: skip
        if not any(active):
            break
    bar.close()
    for g, model in enumerate(models):
        load_member(model, packed.params, g)
    return results


def _member_step(result: TrainResult, g: int, step: int, seconds: float, train_seconds: float, loss: float,
                 norm: float, active: list[bool], member: Callable[[], nn.Module], task: Task, val_set: list,
                 budget: Budget) -> None:  # fmt: skip
    """What ``train`` records of a step, for one member; a member that diverges stops here."""
    result.step_seconds.append(seconds)
    result.clipped_steps += norm > clip_threshold(budget)
    if not (math.isfinite(loss) and math.isfinite(norm)):
        result.diverged_step = step
        active[g] = False
        return
    if step % budget.eval_every == 0 or step == budget.steps:
        record_eval(result, member(), task, val_set, step, train_seconds)
