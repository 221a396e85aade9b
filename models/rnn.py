"""Recurrent families on PyTorch's fused modules: tanh RNN, LSTM and GRU.

``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` dispatch to cuDNN on GPU. On CPU only the LSTM
reaches oneDNN; GRU and tanh RNN run a C++ time loop, so the GRU is 2-3x slower than
the LSTM there. That is a dispatch effect we report, not hide (docs/design.md, measured facts).

Options (all three families):

- ``layers`` (default 1): stacked recurrent layers.
- ``residual`` (default false): the ``layers`` are separate single-layer modules with
  ``h <- h + layer(h)`` between them (residual stacked LSTMs: Wu et al. 2016, GNMT;
  width is constant, so the add needs no projection). ``residual=true, layers=1`` is one
  residual layer. Without it, one torch module with ``num_layers=layers`` (``self.rnn``,
  the ``core_layer`` that ``bench speed --bare`` times alone).
- ``bidirectional`` (default false): each layer also runs backwards in time (Schuster &
  Paliwal 1997); its (B, L, 2D) output goes back to D through a Linear, so the head and
  residual adds are unchanged (without ``residual``, torch passes the 2D output between its
  stacked layers and one Linear follows the last). Not causal: allowed only on tasks scored
  at the last step (``check_spec``), and it does not stream.

LSTM only (gate order in torch: input i, forget f, cell g, output o; the gate bias is
``b_ih + b_hh``), applied to every layer and direction:

- ``forget_bias`` (default 0: torch's init): the forget-gate bias starts at this constant
  (Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever 2015 use 1.0).
- ``chrono`` (default 0: off): T_max of the chrono initialisation (Tallec & Ollivier 2018,
  "Can recurrent neural networks warp time?"): ``b_f = log(u), u ~ U[1, T_max - 1]``,
  ``b_i = -b_f``, every other bias zero, so the forget gates start with memory time scales
  spread up to about T_max.

Streaming carries the hidden state (and the LSTM's cell state) of every module.

Dimension letters: ``B`` batch, ``L`` length, ``D`` hidden width, ``N`` layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.base import MAX_LAYERS, bounded
from tasks.base import TaskSpec

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
SCORED_AT = {"all": "at every step", "tail": "at its last steps", "some": "at steps spread through it"}
NO_STREAMING = "a bidirectional RNN cannot stream: its backward direction reads the whole sequence first"


@dataclass(frozen=True)
class RNNOptions:
    layers: int = bounded(1, 1, MAX_LAYERS)
    bidirectional: bool = False  # not causal: only for tasks scored at the last step
    residual: bool = False  # h <- h + layer(h) between separate single-layer modules

    def __post_init__(self) -> None:
        if self.layers < 1:
            raise ValueError(f"option layers must be >= 1, got {self.layers}")


@dataclass(frozen=True)
class LSTMOptions(RNNOptions):
    forget_bias: float = 0.0  # the forget gate's initial bias; 0 keeps torch's init
    chrono: int = bounded(0, 0, 2**20)  # T_max of the chrono initialisation; 0 is off (at most MAX_LENGTH)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.chrono and self.chrono < 3:
            raise ValueError(f"option chrono must be 0 (off) or a T_max >= 3, got {self.chrono}")
        if self.chrono and self.forget_bias:
            raise ValueError("options forget_bias and chrono cannot be combined: both set the forget-gate bias")

    def traits(self) -> set[str]:
        """Traits these options add to the family's: chrono initialisation is a long-memory start."""
        return {"long_memory_init"} if self.chrono else set()


def check_spec(cell: str, spec: TaskSpec, options: RNNOptions) -> None:
    """A bidirectional RNN sees the future: refused where any step but the last is scored."""
    if options.bidirectional and spec.scored != "last":
        raise ValueError(
            f"{cell} option bidirectional=true: allowed only on tasks scored at the last step (e.g. adding); "
            f"this task is scored {SCORED_AT[spec.scored]}, where the backward direction would see the answer"
        )


class RNNBackbone(nn.Module):
    def __init__(self, cell: str, width: int, options: RNNOptions):
        super().__init__()
        make = CELLS[cell]
        self.cell = cell
        kwargs = {"batch_first": True, "bidirectional": options.bidirectional}
        self.residual = options.residual
        if options.residual:
            self.stack = nn.ModuleList(make(width, width, **kwargs) for _ in range(options.layers))
        else:
            self.rnn = make(width, width, num_layers=options.layers, **kwargs)
        # Both directions' (B, L, 2D) output back to D, once per module (before each residual add).
        merges = len(self.modules_in_order()) if options.bidirectional else 0
        self.merge = nn.ModuleList(nn.Linear(2 * width, width) for _ in range(merges))
        self.streams = not options.bidirectional
        if isinstance(options, LSTMOptions):
            for lstm in self.modules_in_order():
                init_gate_biases(lstm, options)

    @staticmethod
    def width_multiple(options: RNNOptions) -> int:
        return 1

    def core_layer(self) -> nn.RNNBase:
        """The single torch module, timed alone by ``bench speed --bare``; a residual or bidirectional stack has
        none."""
        changed = [name for name, on in (("residual", self.residual), ("bidirectional", not self.streams)) if on]
        if changed:
            raise ValueError(f"times {self.cell}'s single torch module; not with option {changed[0]}=true")
        return self.rnn

    def modules_in_order(self) -> list[nn.RNNBase]:
        return list(self.stack) if self.residual else [self.rnn]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for i, rnn in enumerate(self.modules_in_order()):
            out, _ = rnn(h)  # (B, L, D), or (B, L, 2D) bidirectional
            out = self.merge[i](out) if self.merge else out  # (B, L, D)
            h = h + out if self.residual else out
        return h

    def init_state(self, batch_size: int) -> list:
        """One state per torch module: (N_module, B, D) hidden, paired with the cell state for the LSTM."""
        if not self.streams:
            raise RuntimeError(NO_STREAMING)
        states = []
        for rnn in self.modules_in_order():
            zeros = rnn.weight_hh_l0.new_zeros(rnn.num_layers, batch_size, rnn.hidden_size)  # (N, B, D)
            states.append((zeros, zeros.clone()) if isinstance(rnn, nn.LSTM) else zeros)
        return states

    def step(self, h_t: torch.Tensor, state: list) -> tuple[torch.Tensor, list]:
        if not self.streams:
            raise RuntimeError(NO_STREAMING)
        h, new_states = h_t.unsqueeze(1), []  # (B, 1, D)
        for rnn, module_state in zip(self.modules_in_order(), state, strict=True):
            out, module_state = rnn(h, module_state)  # (B, 1, D)
            h = h + out if self.residual else out
            new_states.append(module_state)
        return h.squeeze(1), new_states


@torch.no_grad()
def init_gate_biases(lstm: nn.LSTM, options: LSTMOptions) -> None:
    """Forget-gate constant or chrono initialisation, on every layer and direction of ``lstm``."""
    if not (options.forget_bias or options.chrono):
        return
    width = lstm.hidden_size
    forget, inputs = slice(width, 2 * width), slice(0, width)  # torch's gate order: i, f, g, o
    for name, bias in lstm.named_parameters():
        if options.chrono and name.startswith("bias_"):
            bias.zero_()  # chrono: every bias zero but b_f and b_i
        if name.startswith("bias_hh"):
            bias[forget] = 0.0  # the forget gate's whole bias lives in b_ih
        elif name.startswith("bias_ih") and options.chrono:
            u = torch.empty(width, device=bias.device).uniform_(1, options.chrono - 1)  # global RNG, seeded per run
            bias[forget], bias[inputs] = u.log(), -u.log()
        elif name.startswith("bias_ih"):
            bias[forget] = options.forget_bias
