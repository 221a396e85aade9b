"""Induction heads with length extrapolation (Gu & Dao 2023, "Mamba", §4.1.2 and Table 2; docs/tasks.md).

A model reads random tokens in which a special token appears once, followed by some token; at the very end the
special token appears again, and the model must answer with the token that followed its first appearance: it
must find the earlier occurrence of the current token and copy what came next (an "induction head", Olsson et
al. 2022). Trained at one length and tested at longer ones, it tells which models find the match by content,
whatever the distance, and which learned the distances they were trained at.

Alphabet: ``0 .. vocab_size - 2`` ordinary tokens, ``vocab_size - 1`` the special token (16 in all by default,
the paper's vocabulary). A sequence of ``T`` steps: ordinary tokens drawn i.i.d. uniformly, the special token at
a uniform position ``p`` in ``[0, T - 3]`` (so its follower ``x[p + 1]`` is an ordinary token before the last
step), and the special token again at the last step, where the answer ``x[p + 1]`` is due. Loss: cross-entropy
at the last step only; memoryless baseline ``ln(vocab_size - 1)``, accuracy ``1 / (vocab_size - 1)``. Solved:
accuracy >= 0.99.

Worked example (runs as a doctest)::

    >>> task = InductionHeadsTask(vocab_size=5)
    >>> b = task.sample(1, 8, generator=torch.Generator().manual_seed(0))
    >>> b.x[0]                         # the special token (4) at step 1 and at the end; 1 followed it
    tensor([0, 4, 1, 0, 3, 3, 3, 4])
    >>> b.y[0, -1]                     # the answer: what followed the special token's first appearance
    tensor(1)
    >>> b.mask[0]
    tensor([False, False, False, False, False, False, False,  True])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tasks.base import SOLVED_ACCURACY, Batch, RecallTask, TaskSpec, tail_mask


@dataclass(frozen=True)
class InductionHeadsTask(RecallTask):
    vocab_size: int = 16  # ordinary tokens + the special token

    name = "induction_heads"
    variant = "mamba"
    version = 1
    min_length = 3  # the special token, its follower, the special token again
    solved_rule = f"accuracy >= {SOLVED_ACCURACY}"

    def __post_init__(self) -> None:
        if self.vocab_size < 3:
            raise ValueError(f"induction_heads vocab_size must be >= 3 (two ordinary tokens, the special token), "
                             f"got {self.vocab_size}")  # fmt: skip

    @property
    def special(self) -> int:
        return self.vocab_size - 1

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(input_kind="tokens", input_size=self.vocab_size, output_kind="classes",
                        output_size=self.vocab_size, scored="last", answer_length=1)  # fmt: skip

    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch:
        self.check_sample(seq_len, generator)
        x = torch.randint(0, self.special, (batch_size, seq_len), generator=generator)  # (B, T) ordinary tokens
        first = torch.randint(0, seq_len - 2, (batch_size, 1), generator=generator)  # (B, 1) in [0, T - 3]
        x.scatter_(1, first, self.special)
        x[:, -1] = self.special
        y = torch.zeros_like(x)
        y[:, -1] = x.gather(1, first + 1).squeeze(1)
        return Batch(x, y, tail_mask(x, 1))

    def baseline(self, seq_len: int) -> dict[str, float]:
        return {"loss": math.log(self.special), "accuracy": 1.0 / self.special}

    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        last, target = output[:, -1], batch.y[:, -1]  # (B, V), (B,)
        return {"loss": F.cross_entropy(last, target), "accuracy": (last.argmax(dim=-1) == target).float().mean()}
