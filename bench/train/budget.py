"""What "identical" means within one comparison: every model gets this budget (docs/design.md).

The training recipe is part of it: the optimiser and its parameters, the learning-rate schedule and the gradient
clipping. Their defaults (``RECIPE_DEFAULTS``: AdamW, warm-up then cosine decay) are what every run used before
they could be chosen; a run at those defaults leaves them out of its identity, so it keeps the run key it had.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

OPTIMIZERS = ("adamw", "adam", "rmsprop", "sgd")
SCHEDULES = ("cosine", "constant", "step")  # the shape after the linear warm-up (``warmup_frac``)
# The parameters of each optimiser besides the learning rate and weight decay; a parameter set for an optimiser
# that does not read it is refused (bench.config.run), so it can never change a run key without changing the run.
OPTIMIZER_PARAMS = {"adamw": ("betas", "eps"), "adam": ("betas", "eps"), "rmsprop": ("alpha", "eps", "momentum"),
                    "sgd": ("momentum",)}  # fmt: skip
SCHEDULE_PARAMS = {"cosine": (), "constant": (), "step": ("step_every", "step_gamma")}


@dataclass(frozen=True)
class Budget:
    steps: int
    batch_size: int
    target_params: int
    warmup_frac: float
    weight_decay: float
    clip_norm: float | None  # None: no clipping (the gradient norm is still measured, for divergence)
    eval_every: int
    val_size: int
    test_size: int
    optimizer: str = "adamw"
    betas: tuple[float, float] = (0.9, 0.999)  # Adam, AdamW
    eps: float = 1e-8  # Adam, AdamW, RMSprop
    alpha: float = 0.99  # RMSprop's smoothing constant (torch's default)
    momentum: float = 0.0  # SGD, RMSprop
    schedule: str = "cosine"
    step_every: int | None = None  # step schedule: steps between decays, counted after the warm-up
    step_gamma: float = 0.1  # step schedule: the factor of each decay


RECIPE_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Budget) if f.default is not dataclasses.MISSING}


def budget_identity(budget: Budget) -> dict:
    """The budget as a run's identity holds it: the recipe fields at their defaults left out, so the runs planned
    before they existed keep their keys."""
    fields = dataclasses.asdict(budget)
    return {k: v for k, v in fields.items() if k not in RECIPE_DEFAULTS or _differs(v, RECIPE_DEFAULTS[k])}


def budget_record(budget: Budget) -> dict:
    """Every field of the budget, as each record stores it (defaults included: a reader need not know them)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(budget).items()}


def _differs(value: object, default: object) -> bool:
    if isinstance(default, tuple):
        return list(value) != list(default)  # type: ignore[call-overload]
    return value != default
