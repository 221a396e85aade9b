"""Multi-query associative recall (Arora et al. 2023, "Zoology"; Ba et al. 2016; docs/tasks.md).

A sequence lists ``n_pairs`` key-value pairs, then, after a gap, asks for the values of
``n_queries`` of those keys: a model must store an association per key and look it up by
content, the operation attention does directly and a fixed-size recurrent state must compress.

Alphabet: 0 noise, keys ``1 .. n_keys``, values ``n_keys + 1 .. n_keys + n_values``. For a
length ``T`` (the gap) a sequence has ``2 n_pairs + T + n_queries`` steps: the pairs
``k1 v1 k2 v2 ...`` (distinct keys, i.i.d. values), ``T`` noise steps, then the queried keys
(distinct, drawn from the pairs' keys in random order). The value of each queried key is due
at the query's own step.

Loss: cross-entropy over the ``n_queries`` query steps only, so the memoryless baseline (a
uniform guess among the values) is ``ln n_values`` with accuracy ``1/n_values``. Solved:
query accuracy >= 0.99.

Worked example (run as a doctest)::

    >>> task = AssociativeRecallTask(n_pairs=2, n_queries=2, n_keys=4, n_values=4)
    >>> b = task.sample(1, 1, generator=torch.Generator().manual_seed(2))
    >>> b.x[0]                       # pairs (k, v), one noise step, then the queried keys
    tensor([2, 7, 4, 8, 0, 4, 2])
    >>> b.y[0, -2:]                  # their values
    tensor([8, 7])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tasks.base import SOLVED_ACCURACY, Batch, RecallTask, TaskSpec, tail_mask, tail_metrics, tail_spec

NOISE = 0


@dataclass(frozen=True)
class AssociativeRecallTask(RecallTask):
    n_pairs: int = 8
    n_queries: int = 8
    n_keys: int = 16
    n_values: int = 16

    name = "associative_recall"
    variant = "mqar"
    version = 1
    min_length = 0
    solved_rule = f"query accuracy >= {SOLVED_ACCURACY}"

    def __post_init__(self) -> None:
        for name in ("n_pairs", "n_queries", "n_keys", "n_values"):
            if getattr(self, name) < 1:
                raise ValueError(f"associative_recall {name} must be >= 1, got {getattr(self, name)}")
        if self.n_pairs > self.n_keys:
            raise ValueError(
                f"associative_recall needs n_pairs <= n_keys (distinct keys), got {self.n_pairs} > {self.n_keys}"
            )
        if self.n_queries > self.n_pairs:
            raise ValueError(f"associative_recall needs n_queries <= n_pairs, got {self.n_queries} > {self.n_pairs}")

    @property
    def spec(self) -> TaskSpec:
        return tail_spec(1 + self.n_keys + self.n_values, self.n_queries)

    def total_length(self, seq_len: int) -> int:
        return 2 * self.n_pairs + seq_len + self.n_queries

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        B, P, Q, dev = batch_size, self.n_pairs, self.n_queries, generator.device
        keys = torch.rand(B, self.n_keys, generator=generator, device=dev).argsort(dim=1)[:, :P] + 1  # (B, P) distinct
        values = torch.randint(1, self.n_values + 1, (B, P), generator=generator, device=dev) + self.n_keys  # (B, P)
        asked = torch.rand(B, P, generator=generator, device=dev).argsort(dim=1)[:, :Q]  # (B, Q) which pairs
        x = torch.full((B, self.total_length(seq_len)), NOISE, dtype=torch.long, device=dev)  # (B, L)
        x[:, 0 : 2 * P : 2], x[:, 1 : 2 * P : 2] = keys, values
        x[:, -Q:] = keys.gather(1, asked)
        y = torch.full_like(x, NOISE)
        y[:, -Q:] = values.gather(1, asked)
        return Batch(x, y, tail_mask(x, Q))

    def baseline(self, seq_len: int) -> dict[str, float]:
        return {"loss": math.log(self.n_values), "accuracy": 1.0 / self.n_values}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return tail_metrics(output, batch.y, self.n_queries)
