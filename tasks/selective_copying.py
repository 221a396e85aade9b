"""Selective copying (Gu & Dao 2023, "Mamba", §4.1 and Table 1; docs/tasks.md).

Copying with the data tokens scattered: a model must pick them out of noise by content,
not by position, which a time-invariant model (a diagonal LTI SSM, a fixed convolution)
cannot do, while attention and selective (input-dependent) models can.

Alphabet: 0 noise, ``1 .. vocab_size - 2`` data symbols, ``vocab_size - 1`` the delimiter.
For a length ``T`` a sequence has ``T + 1 + n_symbols`` steps: ``T`` steps of noise holding
``n_symbols`` data tokens (i.i.d. uniform symbols) at distinct random positions, in order;
the delimiter; ``n_symbols`` noise steps, during which the data tokens are due, in order.

Loss: cross-entropy over the ``n_symbols`` recall steps only (the S4/Mamba convention), so
the memoryless baseline is ``ln D`` with ``D = vocab_size - 2`` data symbols and its recall
accuracy is ``1/D``. Solved: recall accuracy >= 0.99. Defaults are the paper's (16 tokens,
vocabulary 16 including noise: here noise, 14 symbols and the delimiter); the ``quick``
preset uses 4 tokens over 6 symbols.

Worked example (run as a doctest)::

    >>> task = SelectiveCopyingTask(n_symbols=2, vocab_size=5)
    >>> b = task.sample(1, 5, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                       # 2 symbols from 1..3 among 5 noise steps, delimiter 4, 2 noise steps
    tensor([3, 1, 0, 0, 0, 4, 0, 0])
    >>> b.y[0, -2:]                  # the symbols, in order
    tensor([3, 1])
    >>> b.mask[0]
    tensor([False, False, False, False, False, False,  True,  True])
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
    vocab_size: int = 16  # noise + data symbols + delimiter

    name = "selective_copying"
    variant = "mamba"
    version = 1
    solved_rule = f"recall accuracy >= {SOLVED_ACCURACY}"

    def __post_init__(self) -> None:
        if self.n_symbols < 1:
            raise ValueError(f"selective_copying n_symbols must be >= 1, got {self.n_symbols}")
        if self.vocab_size < 3:
            raise ValueError(
                f"selective_copying vocab_size must be >= 3 (noise, a symbol, delimiter), got {self.vocab_size}"
            )

    @property
    def min_length(self) -> int:  # the data tokens need distinct positions
        return self.n_symbols

    @property
    def data_symbols(self) -> int:
        return self.vocab_size - 2

    @property
    def delimiter(self) -> int:
        return self.vocab_size - 1

    @property
    def spec(self) -> TaskSpec:
        return tail_spec(self.vocab_size, self.n_symbols)

    def total_length(self, seq_len: int) -> int:
        return seq_len + 1 + self.n_symbols

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        B, T, S, dev = batch_size, seq_len, self.n_symbols, generator.device
        data = torch.randint(1, self.data_symbols + 1, (B, S), generator=generator, device=dev)  # (B, S)
        # S distinct positions per row, in increasing order: the first S of a random permutation, sorted.
        positions = torch.rand(B, T, generator=generator, device=dev).argsort(dim=1)[:, :S].sort(dim=1).values
        x = torch.full((B, self.total_length(T)), NOISE, dtype=torch.long, device=dev)  # (B, L)
        x.scatter_(1, positions, data)
        x[:, T] = self.delimiter
        y = torch.full_like(x, NOISE)
        y[:, -S:] = data
        return Batch(x, y, tail_mask(x, S))

    def baseline(self, seq_len: int) -> dict[str, float]:
        return {"loss": math.log(self.data_symbols), "accuracy": 1.0 / self.data_symbols}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        return tail_metrics(output, batch.y, self.n_symbols)
