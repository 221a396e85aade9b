"""What "identical" means within one comparison: every model gets this budget (docs/design.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    steps: int
    batch_size: int
    target_params: int
    warmup_frac: float
    weight_decay: float
    clip_norm: float
    eval_every: int
    val_size: int
    test_size: int
