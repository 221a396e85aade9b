"""A GRU encoder-decoder (Cho et al. 2014; Sutskever, Vinyals & Le 2014) behind the one model interface.

How it maps onto ``(B, L, ...) -> (B, L, D_out)``. A task whose answer sits in its last ``K`` steps
(``spec.answer_length``: copying's recall, selective copying's, associative recall's queries, the
adding problem's sum) is read as a source, the first ``L - K`` steps, and a target, the last ``K``.

- The encoder GRU reads the source. Its output at each source step goes through the shared head,
  as a single-stream model's would: those are the steps the task may score there (copying's blanks).
  Its final state starts the decoder.
- The decoder GRU produces the ``K`` answer steps. Its input at answer step ``k`` is the shared
  embedding of the task's own input there (associative recall's query key; copying's blank) plus an
  embedding of the previous answer: a start symbol at ``k = 0``, then the true previous answer
  (teacher forcing) or the model's own greedy prediction (argmax).
- Training: the trainer passes the batch's targets (``forward(x, targets)``); each answer step is
  teacher-forced with probability ``teacher_forcing`` per sequence (1.0: always, and the decoder runs
  as one fused GRU call; below 1: scheduled sampling, Bengio et al. 2015, one step at a time).
  Test: no targets, greedy decoding.

Depth: one layer each by default (``layers``); the decoder starts from the encoder's final state, layer by
layer. Both GRUs and the answer embedding count in the parameter budget; the width is solved as for every
family. The model does not stream (``streams = False``): the decoder must know where the source ends,
which one step at a time it cannot. Regression answers are not fed back, so a regression task is
accepted only with ``K = 1`` (the adding problem: one decoder step from the start symbol).

Dimension letters: ``B`` batch, ``L`` length, ``S`` source steps (L - K), ``K`` answer steps, ``D`` width,
``V`` output classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.base import MAX_LAYERS, SequenceModel, bounded
from tasks.base import TaskSpec


@dataclass(frozen=True)
class Seq2SeqOptions:
    layers: int = bounded(1, 1, MAX_LAYERS)  # of the encoder GRU and of the decoder GRU, each
    teacher_forcing: float = 1.0  # probability that a training answer step is fed the true previous answer

    def __post_init__(self) -> None:
        if self.layers < 1:
            raise ValueError(f"seq2seq option layers must be >= 1, got {self.layers}")
        if not 0.0 <= self.teacher_forcing <= 1.0:
            raise ValueError(f"seq2seq option teacher_forcing must be in [0, 1], got {self.teacher_forcing}")


def check_spec(spec: TaskSpec, options: Seq2SeqOptions) -> None:
    if spec.answer_length is None:
        raise ValueError(
            "seq2seq needs a task whose answer sits in its last steps (adding, copying with a fixed delay, "
            "selective_copying, associative_recall); this task's answer moves from sequence to sequence"
        )
    if spec.output_kind == "regression" and spec.answer_length > 1:
        raise ValueError("seq2seq feeds back class answers only; a regression answer must be one step long")


class Seq2SeqBackbone(nn.Module):
    """The two GRUs; the model around them routes the source and the answer steps."""

    streams = False

    def __init__(self, width: int, options: Seq2SeqOptions):
        super().__init__()
        self.options = options
        self.encoder_rnn = nn.GRU(width, width, num_layers=options.layers, batch_first=True)
        self.decoder_rnn = nn.GRU(width, width, num_layers=options.layers, batch_first=True)

    @staticmethod
    def width_multiple(options: Seq2SeqOptions) -> int:
        return 1

    def init_state(self, batch_size: int):
        raise RuntimeError("seq2seq does not stream: its decoder must know where the source ends")

    step = init_state


class Seq2SeqModel(SequenceModel):
    """Shared encoder and head around an encoder GRU and a decoder GRU (see the module docstring)."""

    backbone: Seq2SeqBackbone

    def __init__(self, spec: TaskSpec, backbone: Seq2SeqBackbone, width: int):
        super().__init__(spec, backbone, width)
        self.answers = spec.answer_length
        self.classes = spec.output_kind == "classes"
        self.start = spec.output_size if self.classes else 0  # the start symbol's row of the answer embedding
        self.answer_embedding = nn.Embedding(self.start + 1, width)
        # Scheduled sampling draws its coins here, seeded from the global RNG at construction, that is from
        # the run's initialisation seed: training is reproducible without touching the global RNG. A shapes-only
        # build on the meta device (the width solve) must not draw, or it would shift the real build's weights.
        meta = self.answer_embedding.weight.is_meta
        self.coins = torch.Generator().manual_seed(0 if meta else int(torch.randint(2**62, ())))

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        K = self.answers
        if x.shape[1] <= K:
            raise ValueError(f"seq2seq needs a source before the {K} answer steps; got {x.shape[1]} steps in all")
        h = self.encoder(x)  # (B, L, D)
        source_out, state = self.backbone.encoder_rnn(h[:, :-K])  # (B, S, D), (layers, B, D)
        answer_inputs = h[:, -K:]  # (B, K, D)
        if targets is None or not self.training:
            answer_out = self._decode_stepwise(answer_inputs, state, None)
        elif self.backbone.options.teacher_forcing == 1.0:
            answer_out = self._decode_forced(answer_inputs, state, targets[:, -K:])
        else:
            answer_out = self._decode_stepwise(answer_inputs, state, targets[:, -K:])
        return torch.cat([self.head(source_out), answer_out], dim=1)  # (B, L, D_out)

    def _previous_answers(self, answers: torch.Tensor) -> torch.Tensor:
        """(B, K) true answers -> (B, K) symbols fed to each step: start, then each true answer but the last.
        A regression answer is not fed back (K = 1): the start symbol alone, whatever the targets' trailing shape."""
        B, K = answers.shape[:2]
        start = torch.full((B, 1), self.start, dtype=torch.long, device=answers.device)
        return torch.cat([start, answers[:, :-1].long()], dim=1) if self.classes else start.expand(B, K)

    def _decode_forced(self, answer_inputs: torch.Tensor, state: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
        fed = answer_inputs + self.answer_embedding(self._previous_answers(answers))  # (B, K, D)
        out, _ = self.backbone.decoder_rnn(fed, state)  # (B, K, D)
        return self.head(out)  # (B, K, D_out)

    def _decode_stepwise(
        self, answer_inputs: torch.Tensor, state: torch.Tensor, answers: torch.Tensor | None
    ) -> torch.Tensor:
        """One answer step at a time, each fed the previous answer: the true one where a coin says so
        (training, teacher_forcing < 1), else the model's own argmax."""
        B = answer_inputs.shape[0]
        previous = torch.full((B,), self.start, dtype=torch.long, device=answer_inputs.device)  # (B,)
        outputs = []
        for k, step_input in enumerate(answer_inputs.unbind(dim=1)):  # unbind once: no quadratic backward
            out, state = self.backbone.decoder_rnn((step_input + self.answer_embedding(previous))[:, None], state)
            logits = self.head(out[:, 0])  # (B, D_out)
            outputs.append(logits)
            if self.classes:
                previous = logits.argmax(dim=-1)
                if answers is not None:
                    forced = torch.rand(B, generator=self.coins) < self.backbone.options.teacher_forcing
                    previous = torch.where(forced.to(previous.device), answers[:, k].long(), previous)
        return torch.stack(outputs, dim=1)  # (B, K, D_out)
