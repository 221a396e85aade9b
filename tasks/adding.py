"""The adding problem, modern variant (Arjovsky, Shah & Bengio 2016; docs/tasks.md).

Input ``(T, 2)``: channel 0 holds i.i.d. U[0, 1] values; channel 1 is all zeros except
two 1s, the first at a uniform position in ``[0, T//2)`` and the second in ``[T//2, T)``.
The target is the sum of the two marked values, read at the last step only; loss MSE.

Trivial baseline: always predict 1, MSE = Var(U1 + U2) = 1/6. Solved: MSE < 0.01.
Accuracy: fraction of sequences with |error| < 0.04 (Hochreiter & Schmidhuber 1997).

Worked example (run as a doctest)::

    >>> task = AddingTask()
    >>> b = task.sample(1, 4, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                       # (T, 2): value, marker
    tensor([[0.4963, 0.0000],
            [0.7682, 1.0000],
            [0.0885, 0.0000],
            [0.1320, 1.0000]])
    >>> b.y[0, -1]                   # 0.7682 + 0.1320
    tensor(0.9003)
    >>> b.mask[0]
    tensor([False, False, False,  True])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tasks.base import Batch, Task, TaskSpec

SOLVED_MSE = 0.01
ACCURACY_TOLERANCE = 0.04


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

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            input_kind="real", input_size=2, output_kind="regression", output_size=1, scored="last", answer_length=1
        )

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        B, T, dev = batch_size, seq_len, generator.device
        values = torch.rand(B, T, generator=generator, device=dev)  # (B, T)
        half = T // 2
        first = torch.randint(0, half, (B,), generator=generator, device=dev)  # (B,)
        second = torch.randint(half, T, (B,), generator=generator, device=dev)  # (B,)
        rows = torch.arange(B, device=dev)
        markers = torch.zeros(B, T, device=dev)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        y = torch.zeros(B, T, device=dev)
        y[:, -1] = values[rows, first] + values[rows, second]
        mask = torch.zeros(B, T, dtype=torch.bool, device=dev)
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
