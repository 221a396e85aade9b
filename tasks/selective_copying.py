"""Selective copying (Gu & Dao 2023, "Mamba", §3.1 and Table 1; docs/tasks.md), in two layouts.

Copying with the data tokens scattered among noise: a model must pick them out by content, not by
position, which a time-invariant model (a diagonal LTI SSM, a fixed convolution) cannot do, while
attention and selective (input-dependent) models can.

Alphabet: 0 noise, ``1 .. vocab_size - 2`` data symbols, ``vocab_size - 1`` the marker.

- ``selective_copying/mamba@2``, the generator of the S4 repository's copying data with
  ``variable=True``, which Mamba's Table 1 uses: ``n_symbols`` data tokens (i.i.d. uniform symbols)
  at distinct random positions, in order, among ``T + n_symbols`` steps (``T`` noise tokens), then
  ``n_symbols`` marker steps, during which the tokens are due in order. ``T + 2 n_symbols`` steps.
- ``selective_copying/delimited@1``, this harness's first layout: the tokens at random positions among
  ``T`` noise steps, one marker (a delimiter), then ``n_symbols`` noise steps during which the tokens
  are due. ``T + 1 + n_symbols`` steps. (It was recorded as ``selective_copying/mamba@1``, a name
  that claimed more than it was.)

Loss: cross-entropy over the recall steps only (the S4/Mamba convention), so the memoryless
baseline is ``ln D`` with ``D = vocab_size - 2`` data symbols and its recall accuracy is ``1/D``.
Solved: recall accuracy >= 0.99. Defaults are the paper's (16 tokens, vocabulary 16 with noise and
marker: 14 symbols); the ``quick`` preset uses 4 tokens over 6 symbols.

Worked examples (run as doctests)::

    >>> task = SelectiveCopyingTask(n_symbols=2, vocab_size=5)
    >>> b = task.sample(1, 4, generator=torch.Generator().manual_seed(3))
    >>> b.x[0]                       # 2 symbols from 1..3 among 4 + 2 steps, then 2 markers (4)
    tensor([0, 2, 0, 3, 0, 0, 4, 4])
    >>> b.y[0, -2:]                  # the symbols, in order, during the markers
    tensor([2, 3])
    >>> b.mask[0]
    tensor([False, False, False, False, False, False,  True,  True])
    >>> task = DelimitedSelectiveCopyingTask(n_symbols=2, vocab_size=5)
    >>> b = task.sample(1, 5, generator=torch.Generator().manual_seed(1))
    >>> b.x[0]                       # 2 symbols among 5 noise steps, one delimiter (4), 2 noise steps
    tensor([0, 0, 2, 0, 3, 4, 0, 0])
    >>> b.y[0, -2:]
    tensor([2, 3])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tasks.base import SOLVED_ACCURACY, Batch, RecallTask, TaskSpec, tail_mask, tail_metrics, tail_spec

NOISE = 0


@dataclass(frozen=True)
class SelectiveCopyingTask(RecallTask):
    n_symbols: int = 16  # data tokens to memorise
    vocab_size: int = 16  # noise + data symbols + marker

    name = "selective_copying"
    variant = "mamba"
    version = 2
    min_length = 1
    solved_rule = f"recall accuracy >= {SOLVED_ACCURACY}"

    def __post_init__(self) -> None:
        if self.n_symbols < 1:
            raise ValueError(f"selective_copying n_symbols must be >= 1, got {self.n_symbols}")
        if self.vocab_size < 3:
            raise ValueError(
                f"selective_copying vocab_size must be >= 3 (noise, a symbol, marker), got {self.vocab_size}"
            )

    @property
    def data_symbols(self) -> int:
        return self.vocab_size - 2

    @property
    def marker(self) -> int:
        return self.vocab_size - 1

    @property
    def spec(self) -> TaskSpec:
        return tail_spec(self.vocab_size, self.n_symbols)

    def total_length(self, seq_len: int) -> int:
        return seq_len + 2 * self.n_symbols

    def scattered(self, batch_size: int, span: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, span) noise holding the data tokens at distinct random positions, in order; and the tokens (B, S)."""
        S = self.n_symbols
        data = torch.randint(1, self.data_symbols + 1, (batch_size, S), generator=generator)  # (B, S)
        # S distinct positions per row, in increasing order: the first S of a random permutation, sorted.
        positions = torch.rand(batch_size, span, generator=generator).argsort(dim=1)[:, :S].sort(dim=1).values
        region = torch.full((batch_size, span), NOISE, dtype=torch.long).scatter_(1, positions, data)  # (B, span)
        return region, data

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        S = self.n_symbols
        region, data = self.scattered(batch_size, seq_len + S, generator)  # (B, T + S), (B, S)
        x = torch.cat([region, torch.full((batch_size, S), self.marker)], dim=1)  # (B, L)
        y = torch.full_like(x, NOISE)
        y[:, -S:] = data
        return Batch(x, y, tail_mask(x, S))

    def baseline(self, seq_len: int) -> dict[str, float]:
        return {"loss": math.log(self.data_symbols), "accuracy": 1.0 / self.data_symbols}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return tail_metrics(output, batch.y, self.n_symbols)


@dataclass(frozen=True)
class DelimitedSelectiveCopyingTask(SelectiveCopyingTask):
    variant = "delimited"
    version = 1

    @property
    def min_length(self) -> int:  # the data tokens need distinct positions among the T noise steps
        return self.n_symbols

    def total_length(self, seq_len: int) -> int:
        return seq_len + 1 + self.n_symbols

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        S = self.n_symbols
        region, data = self.scattered(batch_size, seq_len, generator)  # (B, T), (B, S)
        delimiter = torch.full((batch_size, 1), self.marker)
        x = torch.cat([region, delimiter, torch.full((batch_size, S), NOISE)], dim=1)  # (B, L)
        y = torch.full_like(x, NOISE)
        y[:, -S:] = data
        return Batch(x, y, tail_mask(x, S))
