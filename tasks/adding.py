"""The adding problem (docs/tasks.md), in two published forms.

``adding/halves@1`` (Arjovsky, Shah & Bengio 2016's code; also the S4 and scoRNN code): input
``(T, 2)``, channel 0 i.i.d. U[0, 1] values, channel 1 zero except two 1s, the first at a uniform
position in ``[0, T//2)`` and the second in ``[T//2, T)``. The target is the sum of the two marked
values, read at the last step only; loss MSE.

``adding/tcn@1`` (Bai, Kolter & Koltun 2018's repository, the setting of their Table 1): the same,
with the two markers at two distinct uniform positions anywhere in the sequence.

Trivial baseline of both: always predict 1, MSE = Var(U1 + U2) = 1/6. Solved: MSE < 0.01. The
accuracy is the fraction of sequences with |error| < 0.04 (Hochreiter & Schmidhuber 1997), and the
strict tier asks for 95% of them within it.

Worked examples (run as doctests)::

    >>> task = AddingTask()
    >>> b = task.sample(1, 4, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                       # (T, 2): value, marker; one marker in each half
    tensor([[0.4963, 0.0000],
            [0.7682, 1.0000],
            [0.0885, 0.0000],
            [0.1320, 1.0000]])
    >>> b.y[0, -1]                   # 0.7682 + 0.1320
    tensor(0.9003)
    >>> b.mask[0]
    tensor([False, False, False,  True])
    >>> b = TCNAddingTask().sample(1, 4, generator=torch.Generator().manual_seed(3))
    >>> b.x[0]                       # both markers may fall in one half
    tensor([[0.0043, 1.0000],
            [0.1056, 1.0000],
            [0.2858, 0.0000],
            [0.0270, 0.0000]])
    >>> b.y[0, -1]                   # 0.0043 + 0.1056
    tensor(0.1098)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tasks.base import Batch, Task, TaskSpec

SOLVED_MSE = 0.01
ACCURACY_TOLERANCE = 0.04
STRICT_ACCURACY = 0.95


@dataclass(frozen=True)
class AddingTask(Task):
    name = "adding"
    variant = "halves"
    version = 1
    min_length = 2
    primary_metric = "loss"
    higher_is_better = False
    solved_threshold = SOLVED_MSE
    solved_rule = f"MSE < {SOLVED_MSE}"
    secondary_metric = "accuracy"  # shown next to the MSE: the share of sequences within the tolerance
    strict_rule = f"accuracy >= {STRICT_ACCURACY} (|error| < {ACCURACY_TOLERANCE})"

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            input_kind="real", input_size=2, output_kind="regression", output_size=1, scored="last", answer_length=1
        )

    def marker_positions(self, batch_size: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
        """(B, 2): one position in each half of the sequence."""
        half = seq_len // 2
        first = torch.randint(0, half, (batch_size,), generator=generator)  # (B,)
        second = torch.randint(half, seq_len, (batch_size,), generator=generator)  # (B,)
        return torch.stack([first, second], dim=1)

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        B, T = batch_size, seq_len
        values = torch.rand(B, T, generator=generator)  # (B, T)
        positions = self.marker_positions(B, T, generator)  # (B, 2)
        markers = torch.zeros(B, T).scatter_(1, positions, 1.0)  # (B, T)
        x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        y = torch.zeros(B, T)
        y[:, -1] = values.gather(1, positions).sum(dim=1)
        mask = torch.zeros(B, T, dtype=torch.bool)
        mask[:, -1] = True
        return Batch(x, y, mask)

    def baseline(self, seq_len: int) -> dict[str, float]:
        # Predicting 1 = E[U1 + U2]: MSE = Var(U1 + U2) = 2/12. Accuracy: P(|U1 + U2 - 1| < tol),
        # the triangular density of the sum around its mode: 1 - (1 - tol)^2.
        return {"loss": 1.0 / 6.0, "accuracy": 1.0 - (1.0 - ACCURACY_TOLERANCE) ** 2}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        prediction = output[:, -1, 0]  # (B,) the last step is the only scored one
        error = prediction - batch.y[:, -1]
        return {
            "loss": error.pow(2).mean(),
            "accuracy": (error.abs() < ACCURACY_TOLERANCE).float().mean(),
        }

    def solved_strictly(self, metrics: dict[str, float]) -> bool:
        return metrics["accuracy"] >= STRICT_ACCURACY


@dataclass(frozen=True)
class TCNAddingTask(AddingTask):
    variant = "tcn"

    def marker_positions(self, batch_size: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
        """(B, 2): two distinct positions anywhere, in random order."""
        return torch.rand(batch_size, seq_len, generator=generator).argsort(dim=1)[:, :2]
