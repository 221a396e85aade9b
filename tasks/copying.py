"""The copying memory task (docs/tasks.md), in three published layouts.

Alphabet: 0 blank, 1..8 data symbols, 9 delimiter. For a delay ``T`` a sequence has ``T + 2S``
steps (S = ``n_symbols``, 10 in the literature), S symbols drawn i.i.d. from 1..8 first, and the
target is blanks until the same S symbols, in order, at the recall.

- ``copying/arjovsky@1`` (Arjovsky, Shah & Bengio 2016's code): the symbols, ``T - 1`` blanks, the
  delimiter, ``S`` blanks; the recall is due the ``S`` steps after the delimiter, the last ``S``.
- ``copying/variable@1`` (Henaff, Szlam & LeCun 2016): each sequence draws its delay from ``1 .. T``;
  the recall follows its delimiter, and blanks pad the sequence to ``T + 2S`` steps, so a model must
  watch for the delimiter instead of counting.
- ``copying/tcn@1`` (Bai, Kolter & Koltun 2018's repository, the setting of their Table 1): the
  symbols, ``T - 1`` blanks, then ``S + 1`` delimiters; the recall is due during the last ``S``.

Loss: cross-entropy at every step, averaged over all ``T + 2S`` steps. The memoryless baseline
(blanks with certainty, then uniform over 8 symbols) scores ``S ln 8 / (T + 2S)``; for the variable
layout that is the loss of a predictor told where the recall is (a memoryless model, not told, does
worse). Accuracy is read on the S recalled symbols only (chance 1/8); accuracy over all positions
would be >= 98% for a useless model at large T. Solved: recall accuracy >= 0.99.

Worked examples, with ``n_symbols=3`` to keep them short (run as doctests)::

    >>> b = CopyingTask(n_symbols=3).sample(1, 2, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                       # 3 symbols, T-1 = 1 blank, delimiter, 3 blanks
    tensor([5, 8, 6, 0, 9, 0, 0, 0])
    >>> b.y[0]                       # T + 3 = 5 blanks, then the symbols
    tensor([0, 0, 0, 0, 0, 5, 8, 6])
    >>> b = TCNCopyingTask(n_symbols=3).sample(1, 2, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                       # 3 symbols, 1 blank, then 4 delimiters
    tensor([5, 8, 6, 0, 9, 9, 9, 9])
    >>> b.y[0]
    tensor([0, 0, 0, 0, 0, 5, 8, 6])
    >>> b = VariableCopyingTask(n_symbols=3).sample(1, 4, generator=torch.Generator().manual_seed(4))
    >>> b.x[0]                       # T = 4, but this sequence's delay is 2: its delimiter comes early
    tensor([3, 7, 8, 0, 9, 0, 0, 0, 0, 0])
    >>> b.y[0]                       # the recall follows the delimiter; blanks pad to T + 2S
    tensor([0, 0, 0, 0, 0, 3, 7, 8, 0, 0])
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


@dataclass(frozen=True)
class CopyingTask(RecallTask):
    n_symbols: int = 10  # how many symbols to memorise; the literature uses 10

    name = "copying"
    variant = "arjovsky"
    version = 1
    min_length = 1
    solved_rule = f"recall accuracy >= {SOLVED_ACCURACY}"
    fixed_recall = True  # the recall is always the last S steps (an encoder-decoder decodes them)

    def __post_init__(self) -> None:
        if self.n_symbols < 1:
            raise ValueError(f"copying n_symbols must be >= 1, got {self.n_symbols}")

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            input_kind="tokens",
            input_size=VOCAB_SIZE,
            output_kind="classes",
            output_size=VOCAB_SIZE,
            scored="all",
            answer_length=self.n_symbols if self.fixed_recall else None,
        )

    def total_length(self, seq_len: int) -> int:
        return seq_len + 2 * self.n_symbols

    def delays(self, batch_size: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
        """(B,) each sequence's delay: T for the fixed layouts."""
        return torch.full((batch_size,), seq_len)

    def after_delimiter(self) -> int:
        """The input at the recall steps: blanks after the delimiter."""
        return BLANK

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        S = self.n_symbols
        data = torch.randint(1, N_DATA_SYMBOLS + 1, (batch_size, S), generator=generator)  # (B, S)
        delays = self.delays(batch_size, seq_len, generator)  # (B,)
        x = torch.full((batch_size, self.total_length(seq_len)), BLANK, dtype=torch.long)  # (B, L)
        x[:, :S] = data
        x[:, seq_len + S :] = self.after_delimiter()  # the fixed layouts' recall steps
        x[torch.arange(batch_size), S + delays - 1] = DELIMITER  # after S symbols and delay - 1 blanks
        y = torch.full_like(x, BLANK)
        y.scatter_(1, recall_positions(x, S), data)
        return Batch(x, y, torch.ones_like(x, dtype=torch.bool))

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


@dataclass(frozen=True)
class VariableCopyingTask(CopyingTask):
    variant = "variable"
    fixed_recall = False  # the recall moves with each sequence's delay

    def delays(self, batch_size: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(1, seq_len + 1, (batch_size,), generator=generator)


@dataclass(frozen=True)
class TCNCopyingTask(CopyingTask):
    variant = "tcn"

    def after_delimiter(self) -> int:
        return DELIMITER  # S + 1 delimiters in all: the last S of them during the recall


def recall_positions(x: torch.Tensor, n_symbols: int) -> torch.Tensor:
    """(B, S): the steps after each sequence's first delimiter, where its symbols are due."""
    delimiter = (x == DELIMITER).int().argmax(dim=1)  # (B,) the first delimiter
    return delimiter[:, None] + 1 + torch.arange(n_symbols, device=x.device)
