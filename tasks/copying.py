"""The copying memory task, Arjovsky et al. (2016) layout (docs/tasks.md).

Alphabet: 0 blank, 1..8 data symbols, 9 delimiter. For a delay ``T`` a sequence has
``T + 20`` steps: 10 data symbols drawn i.i.d. from 1..8, then ``T - 1`` blanks, the
delimiter, and 10 blanks. The target is ``T + 10`` blanks followed by the 10 symbols
in order, the first due the step after the delimiter.

Loss: cross-entropy at every step, averaged over all ``T + 20`` steps (natural log).
The memoryless baseline (blanks with certainty, then uniform over 8 symbols) scores
``10 ln 8 / (T + 20)``. Accuracy is measured on the 10 recalled symbols only (chance
1/8); accuracy over all positions would be >= 98% for a useless model at large T.
Solved: recall accuracy >= 0.99.

Variant ``variable`` (``delay="variable"``; Henaff, Szlam & LeCun 2016): each sequence draws
its delay uniformly from ``1 .. T``; the recall follows its delimiter, then blanks pad the
sequence to the same ``T + 20`` steps, so a model must watch for the delimiter instead of
counting. Its ``baseline`` is the fixed layout's: the loss of a predictor told where the
recall is (a memoryless model, not told, does worse); recall accuracy at chance is still 1/8.

Worked example, with ``n_symbols=3`` to keep it short (run as a doctest)::

    >>> task = CopyingTask(n_symbols=3)
    >>> b = task.sample(1, 2, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                       # 3 symbols, T-1 = 1 blank, delimiter, 3 blanks
    tensor([5, 8, 6, 0, 9, 0, 0, 0])
    >>> b.y[0]                       # T + 3 = 5 blanks, then the symbols
    tensor([0, 0, 0, 0, 0, 5, 8, 6])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tasks.base import SOLVED_ACCURACY, Batch, RecallTask, TaskSpec

BLANK, DELIMITER = 0, 9
N_DATA_SYMBOLS = 8  # symbols 1..8
VOCAB_SIZE = 10
DELAYS = {"fixed": "arjovsky", "variable": "variable"}  # delay -> variant name


@dataclass(frozen=True)
class CopyingTask(RecallTask):
    n_symbols: int = 10  # how many symbols to memorise; the literature uses 10
    delay: str = "fixed"  # "fixed" (Arjovsky et al.) or "variable" (drawn per sequence from 1..T)

    name = "copying"
    variant = "arjovsky"
    version = 1
    min_length = 1
    solved_rule = f"recall accuracy >= {SOLVED_ACCURACY}"

    def __post_init__(self) -> None:
        if self.n_symbols < 1:
            raise ValueError(f"copying n_symbols must be >= 1, got {self.n_symbols}")
        if self.delay not in DELAYS:
            raise ValueError(f"copying delay must be one of {', '.join(DELAYS)}; got {self.delay!r}")

    @property
    def variant_id(self) -> str:
        return f"{self.name}/{DELAYS[self.delay]}@{self.version}"

    def params(self) -> dict:
        # The fixed delay is the original task: its parameters, and so its run keys, stay as they were.
        params = super().params()
        return {k: v for k, v in params.items() if k != "delay"} if self.delay == "fixed" else params

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            input_kind="tokens",
            input_size=VOCAB_SIZE,
            output_kind="classes",
            output_size=VOCAB_SIZE,
            scored="all",
            answer_length=self.n_symbols if self.delay == "fixed" else None,  # a variable delay moves the recall
        )

    def total_length(self, seq_len: int) -> int:
        return seq_len + 2 * self.n_symbols

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        S, dev = self.n_symbols, generator.device
        length = self.total_length(seq_len)
        data = torch.randint(1, N_DATA_SYMBOLS + 1, (batch_size, S), generator=generator, device=dev)  # (B, S)
        if self.delay == "variable":
            delays = torch.randint(1, seq_len + 1, (batch_size,), generator=generator, device=dev)  # (B,)
        else:
            delays = torch.full((batch_size,), seq_len, device=dev)
        x = torch.full((batch_size, length), BLANK, dtype=torch.long, device=dev)  # (B, L)
        x[:, :S] = data
        rows = torch.arange(batch_size, device=dev)
        x[rows, S + delays - 1] = DELIMITER  # after S symbols and delay - 1 blanks
        y = torch.full_like(x, BLANK)
        y.scatter_(1, recall_positions(x, S), data)
        mask = torch.ones_like(x, dtype=torch.bool)
        return Batch(x, y, mask)

    def baseline(self, seq_len: int) -> dict[str, float]:
        loss = self.n_symbols * math.log(N_DATA_SYMBOLS) / self.total_length(seq_len)
        return {"loss": loss, "accuracy": 1.0 / N_DATA_SYMBOLS}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        # output (B, L, V); cross_entropy wants the class dimension second.
        loss = F.cross_entropy(output.transpose(1, 2), batch.y)
        positions = recall_positions(batch.x, self.n_symbols)  # (B, S)
        recalled = output.argmax(dim=-1).gather(1, positions)  # (B, S)
        accuracy = (recalled == batch.y.gather(1, positions)).float().mean()
        return {"loss": loss, "accuracy": accuracy}


def recall_positions(x: torch.Tensor, n_symbols: int) -> torch.Tensor:
    """(B, S): the steps after each sequence's delimiter, where its symbols are due."""
    delimiter = (x == DELIMITER).int().argmax(dim=1)  # (B,) the first, and only, delimiter
    return delimiter[:, None] + 1 + torch.arange(n_symbols, device=x.device)
