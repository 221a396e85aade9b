"""Recurrent families on PyTorch's fused modules: tanh RNN, LSTM and GRU.

``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` dispatch to cuDNN on GPU. On CPU only the LSTM
reaches oneDNN; GRU and tanh RNN run a C++ time loop, so the GRU is 2-3x slower than
the LSTM there. That is a dispatch effect we report, not hide (DESIGN.md §3).

Depth: 1 layer by default (``layers`` option). Streaming carries the hidden state
(and the LSTM's cell state) between steps.

Dimension letters: ``B`` batch, ``L`` length, ``D`` hidden width, ``N`` layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass(frozen=True)
class RNNOptions:
    layers: int = 1


class RNNBackbone(nn.Module):
    def __init__(self, cell: str, width: int, options: RNNOptions):
        super().__init__()
        self.rnn = CELLS[cell](width, width, num_layers=options.layers, batch_first=True)

    @staticmethod
    def width_multiple(options: RNNOptions) -> int:
        return 1

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(h)  # (B, L, D)
        return out

    def init_state(self, batch_size: int):
        weight = self.rnn.weight_hh_l0
        zeros = weight.new_zeros(self.rnn.num_layers, batch_size, self.rnn.hidden_size)  # (N, B, D)
        return (zeros, zeros.clone()) if isinstance(self.rnn, nn.LSTM) else zeros

    def step(self, h_t: torch.Tensor, state):
        out, state = self.rnn(h_t.unsqueeze(1), state)  # (B, 1, D)
        return out.squeeze(1), state
