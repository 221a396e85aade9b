"""Multi-query associative recall (Arora et al. 2023, "Zoology"; Ba et al. 2016; docs/tasks.md), two forms.

A sequence lists key-value pairs, then asks for the values of keys it listed: a model must store an
association per key and look it up by content, the operation attention does directly and a
fixed-size recurrent state must compress.

``associative_recall/zoology@1``, after Zoology's ``multiquery_ar`` generator and its defaults: a
vocabulary of ``vocab_size`` (8192), keys from its lower half and values from its upper half, each
drawn without replacement within a sequence; ``n_pairs`` pairs ``k1 v1 k2 v2 ...``, then the rest of
the sequence, of total length ``T`` (Zoology's ``input_seq_len``), holds one query of every key, at
even offsets drawn without replacement with power-law weights ``(g + 1)^(power_a - 1)`` (most queries
soon after the pairs, a few far), and random tokens everywhere else (``random_non_queries``). The
value is due at its query's own step; the loss reads the queries only. Memoryless baseline: a uniform
guess among the values, ``ln(vocab_size / 2)``, accuracy ``2 / vocab_size``.

``associative_recall/mqar-small@1``, this harness's first, small form (recorded before as
``associative_recall/mqar@1``): ``n_pairs`` pairs over ``n_keys`` keys and ``n_values`` values (values
repeat), ``T`` noise steps, then ``n_queries`` of the keys, bunched at the end. Baseline ``ln
n_values``, accuracy ``1 / n_values``. It keeps a CPU sweep small, but it removes most of the
state-capacity pressure that Zoology's form puts on a model: its numbers are not Zoology's.

Solved, both: query accuracy >= 0.99.

Worked examples (run as doctests)::

    >>> task = MQARSmallTask(n_pairs=2, n_queries=2, n_keys=4, n_values=4)
    >>> b = task.sample(1, 1, generator=torch.Generator().manual_seed(2))
    >>> b.x[0]                       # pairs (k, v), one noise step, then the queried keys
    tensor([2, 7, 4, 8, 0, 4, 2])
    >>> b.y[0, -2:]                  # their values
    tensor([8, 7])
    >>> task = ZoologyMQARTask(vocab_size=16, n_pairs=2, random_non_queries=False)
    >>> b = task.sample(1, 12, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                       # k v k v, then each key queried once at an even offset, 0 elsewhere
    tensor([ 3, 13,  4, 14,  3,  0,  0,  0,  4,  0,  0,  0])
    >>> b.y[0][b.mask[0]]            # each query's value, due at the query's step
    tensor([13, 14])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tasks.base import SOLVED_ACCURACY, Batch, RecallTask, TaskSpec, tail_mask, tail_metrics, tail_spec

NOISE = 0


@dataclass(frozen=True)
class ZoologyMQARTask(RecallTask):
    vocab_size: int = 8192
    n_pairs: int = 8
    power_a: float = 0.01  # the power law of the query gaps: 1 is uniform, small puts most queries early
    random_non_queries: bool = True  # random tokens between the queries (else noise, 0)

    name = "associative_recall"
    variant = "zoology"
    version = 1
    solved_rule = f"query accuracy >= {SOLVED_ACCURACY}"

    def __post_init__(self) -> None:
        if self.n_pairs < 1:
            raise ValueError(f"associative_recall n_pairs must be >= 1, got {self.n_pairs}")
        if self.vocab_size < 2 * self.n_pairs + 2:
            raise ValueError(
                f"associative_recall vocab_size must hold n_pairs distinct keys and values in its two halves, "
                f"got {self.vocab_size} for {self.n_pairs} pairs"
            )
        if not 0 < self.power_a <= 1:
            raise ValueError(f"associative_recall power_a must be in (0, 1], got {self.power_a}")

    @property
    def min_length(self) -> int:  # the pairs, and room for one query of each key at an even offset
        return 4 * self.n_pairs

    @property
    def spec(self) -> TaskSpec:
        # The queries are scattered: scored at some steps only, and their place moves from sequence to sequence.
        return TaskSpec("tokens", self.vocab_size, "classes", self.vocab_size, scored="some", answer_length=None)

    def check_length(self, seq_len: int) -> None:
        super().check_length(seq_len)
        if seq_len % 2:  # the queries sit at even offsets after the pairs, as in Zoology's generator
            raise ValueError(f"associative_recall (zoology) needs an even length, got {seq_len}")

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        B, P, half = batch_size, self.n_pairs, self.vocab_size // 2
        keys = torch.rand(B, half - 1, generator=generator).argsort(dim=1)[:, :P] + 1  # (B, P) from 1 .. half-1
        values = torch.rand(B, self.vocab_size - half, generator=generator).argsort(dim=1)[:, :P] + half  # (B, P)
        space = (seq_len - 2 * P) // 2  # even offsets the queries may take
        weights = (torch.arange(space) + 1.0) ** (self.power_a - 1)  # (space,) the power law of the gap
        gaps = torch.multinomial(weights.expand(B, space), P, replacement=False, generator=generator)  # (B, P)
        queries = 2 * P + 2 * gaps  # (B, P) each key's query step
        x = torch.full((B, seq_len), NOISE, dtype=torch.long)  # (B, L)
        x[:, 0 : 2 * P : 2], x[:, 1 : 2 * P : 2] = keys, values
        x.scatter_(1, queries, keys)
        mask = torch.zeros_like(x, dtype=torch.bool).scatter_(1, queries, True)
        if self.random_non_queries:
            filler = torch.randint(self.vocab_size, (B, seq_len), generator=generator)
            x = torch.where(x == NOISE, filler, x)
        y = torch.full_like(x, NOISE).scatter_(1, queries, values)
        return Batch(x, y, mask)

    def baseline(self, seq_len: int) -> dict[str, float]:
        values = self.vocab_size - self.vocab_size // 2
        return {"loss": math.log(values), "accuracy": 1.0 / values}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        scored, targets = output[batch.mask], batch.y[batch.mask]  # (B * P, V), (B * P,)
        return {"loss": F.cross_entropy(scored, targets), "accuracy": (scored.argmax(-1) == targets).float().mean()}


@dataclass(frozen=True)
class MQARSmallTask(RecallTask):
    n_pairs: int = 8
    n_queries: int = 8
    n_keys: int = 16
    n_values: int = 16

    name = "associative_recall"
    variant = "mqar-small"
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
        B, P, Q = batch_size, self.n_pairs, self.n_queries
        keys = torch.rand(B, self.n_keys, generator=generator).argsort(dim=1)[:, :P] + 1  # (B, P) distinct
        values = torch.randint(1, self.n_values + 1, (B, P), generator=generator) + self.n_keys  # (B, P)
        asked = torch.rand(B, P, generator=generator).argsort(dim=1)[:, :Q]  # (B, Q) which pairs
        x = torch.full((B, self.total_length(seq_len)), NOISE, dtype=torch.long)  # (B, L)
        x[:, 0 : 2 * P : 2], x[:, 1 : 2 * P : 2] = keys, values
        x[:, -Q:] = keys.gather(1, asked)
        y = torch.full_like(x, NOISE)
        y[:, -Q:] = values.gather(1, asked)
        return Batch(x, y, tail_mask(x, Q))

    def baseline(self, seq_len: int) -> dict[str, float]:
        return {"loss": math.log(self.n_values), "accuracy": 1.0 / self.n_values}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return tail_metrics(output, batch.y, self.n_queries)
