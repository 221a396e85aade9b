"""The task contract shared by every synthetic task.

A task is a pure batch generator: all randomness comes from the CPU ``torch.Generator``
passed to ``sample``, so the same seed gives the same data on any machine and for any
device (the caller moves the batch to its device; ``Batch.to``). A task
declares its shapes in a ``TaskSpec`` so that models are sized from the spec alone,
and owns its loss, metrics, analytic baseline and "solved" threshold.

Dimension letters: ``B`` batch, ``L`` total sequence length, ``C`` input channels.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class TaskSpec:
    """What a model needs to know about a task's inputs and outputs."""

    input_kind: Literal["tokens", "real"]
    input_size: int  # vocabulary size for tokens, channel count for real inputs
    output_kind: Literal["classes", "regression"]
    output_size: int  # number of classes, or 1 for a scalar regression
    # Which positions the loss reads: the last, every one, the last few, or some that move (``Batch.mask`` says).
    scored: Literal["last", "all", "tail", "some"]
    # How many final steps hold the answer when it always sits at the end of the sequence (an encoder-decoder
    # decodes them); None when its place varies from sequence to sequence.
    answer_length: int | None = None


class Batch(NamedTuple):
    x: torch.Tensor  # (B, L) long tokens, or (B, L, C) float
    y: torch.Tensor  # (B, L) targets: long classes or float values
    mask: torch.Tensor  # (B, L) bool, the positions the loss reads

    def to(self, device: str | torch.device) -> Batch:
        return Batch(*(t.to(device) for t in self))


SOLVED_ACCURACY = 0.99  # every recall task: solved when 99% of the recalled tokens are right


def tail_metrics(output: torch.Tensor, y: torch.Tensor, n_scored: int) -> dict[str, torch.Tensor]:
    """Cross-entropy and accuracy over the last ``n_scored`` steps, the only ones a recall task scores."""
    scored, targets = output[:, -n_scored:], y[:, -n_scored:]  # (B, n, V), (B, n)
    loss = F.cross_entropy(scored.transpose(1, 2), targets)
    return {"loss": loss, "accuracy": (scored.argmax(dim=-1) == targets).float().mean()}


def tail_spec(vocab_size: int, n_scored: int) -> TaskSpec:
    """A token task whose answer is its last ``n_scored`` steps, classes over its own vocabulary."""
    return TaskSpec(
        input_kind="tokens",
        input_size=vocab_size,
        output_kind="classes",
        output_size=vocab_size,
        scored="tail",
        answer_length=n_scored,
    )


def tail_mask(like: torch.Tensor, n_scored: int) -> torch.Tensor:
    """(B, L) bool, true on the last ``n_scored`` steps."""
    mask = torch.zeros_like(like, dtype=torch.bool)
    mask[:, -n_scored:] = True
    return mask


class Task(ABC):
    """Base class for tasks; subclasses are frozen dataclasses of their parameters."""

    name: ClassVar[str]
    variant: ClassVar[str]
    version: ClassVar[int]
    min_length: ClassVar[int]
    # The metric the summary shows first, and which direction is better.
    primary_metric: ClassVar[str]
    higher_is_better: ClassVar[bool]
    solved_threshold: ClassVar[float]  # of the primary metric: below it (lower is better) or at least it
    solved_rule: ClassVar[str]  # the threshold in words, e.g. "MSE < 0.01"
    secondary_metric: ClassVar[str | None] = None  # shown next to the primary one (adding: accuracy beside MSE)
    strict_rule: ClassVar[str | None] = None  # a stricter bar beside the solved threshold, where one is used

    @property
    @abstractmethod
    def spec(self) -> TaskSpec: ...

    @property
    def variant_id(self) -> str:
        """The name recorded in every result, e.g. ``adding/halves@1``."""
        return f"{self.name}/{self.variant}@{self.version}"

    def params(self) -> dict:
        """The variant and the parameters: ``tasks.get_task(self.name, **self.params())`` rebuilds this task."""
        return {"variant": self.variant, **dataclasses.asdict(self)}  # type: ignore[call-overload]

    def facts(self) -> dict[str, object]:
        """What a reader of its results needs to know, stored in every record: the analysis reads these, never
        the task itself."""
        return {
            "metric": self.primary_metric,
            "higher_is_better": self.higher_is_better,
            "solved_rule": self.solved_rule,
            "solved_threshold": self.solved_threshold,
            "secondary_metric": self.secondary_metric,
            "strict_rule": self.strict_rule,
        }

    def solved_strictly(self, metrics: dict[str, float]) -> bool | None:
        """Whether the stricter bar (``strict_rule``) is met; None for a task without one."""
        return None

    def total_length(self, seq_len: int) -> int:
        """Number of time steps of a sequence whose task length parameter is ``seq_len``."""
        return seq_len

    @abstractmethod
    def sample(self, batch_size: int, seq_len: int, *, generator: torch.Generator) -> Batch: ...

    @abstractmethod
    def baseline(self, seq_len: int) -> dict[str, float]:
        """Analytic loss and metrics of the trivial model (docs/tasks.md)."""

    @abstractmethod
    def metrics(self, output: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """Loss (differentiable, key ``loss``) and metrics, each a mean over sequences."""

    def solved(self, metrics: dict[str, float]) -> bool:
        """The primary metric past the threshold: below it when lower is better, at least it otherwise."""
        value = metrics[self.primary_metric]
        return value >= self.solved_threshold if self.higher_is_better else value < self.solved_threshold

    def check_length(self, seq_len: int) -> None:
        if seq_len < self.min_length:
            raise ValueError(f"{self.name} needs seq_len >= {self.min_length}, got {seq_len}")

    def check_sample(self, seq_len: int, generator: torch.Generator) -> None:
        """Every ``sample`` starts here: a length the task allows, and a CPU generator (a device's generator is
        another algorithm: the same seed would give other data on another device)."""
        self.check_length(seq_len)
        if generator.device.type != "cpu":
            raise ValueError(f"{self.name} draws its data on the CPU; got a {generator.device.type} generator")


class RecallTask(Task):
    """A token task scored by how many of the tokens it must recall are right; solved at SOLVED_ACCURACY."""

    primary_metric = "accuracy"
    higher_is_better = True
    solved_threshold = SOLVED_ACCURACY
