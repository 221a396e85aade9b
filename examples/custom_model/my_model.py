"""A gated linear recurrence (in the spirit of HGRN and the LRU): a model of your own, compared with the built-in ones.

Each layer reads its input x_t (after a LayerNorm) and updates a state of width D elementwise:

    a_t = sigmoid(W_a x_t + b_a)           how much of the state it keeps: chosen by the input (selective)
    h_t = a_t * h_{t-1} + (1 - a_t) * W_v x_t
    y_t = x_t + W_o (h_t * silu(W_g x_t))  an output gate, and a residual add

Training scans the recurrence in parallel (models.scan.linear_scan); streaming carries h_t one step at a time.
Run `python -m bench check my_model.py:MyModel` to see it meet the contract the built-in families meet.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.scan import linear_scan


@dataclass(frozen=True)
class MyOptions:
    layers: int = 2
    keep_bias: float = 1.0  # initial bias of the keep gate a_t: sigmoid(1) = 0.73 of the state kept each step

    def __post_init__(self) -> None:
        if not 1 <= self.layers <= 64:
            raise ValueError(f"option layers must be between 1 and 64, got {self.layers}")


class GatedRecurrence(nn.Module):
    def __init__(self, width: int, keep_bias: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.gates = nn.Linear(width, 3 * width)  # keep gate a, value v, output gate g
        self.out = nn.Linear(width, width)
        with torch.no_grad():
            self.gates.bias[:width].fill_(keep_bias)

    def _parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, v, g = self.gates(self.norm(x)).chunk(3, dim=-1)
        a = torch.sigmoid(a)
        return a, (1 - a) * v, F.silu(g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, L, D), causal
        a, b, g = self._parts(x)
        return x + self.out(linear_scan(a, b) * g)

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (B, D), (B, D)
        a, b, g = self._parts(x_t)
        h = a * h + b
        return x_t + self.out(h * g), h


class MyModel(nn.Module):
    """gated linear recurrence (an example plugin: examples/custom_model)"""

    Options = MyOptions
    traits = {"recurrent", "gated", "selective", "linear_recurrence", "fixed_state"}

    def __init__(self, width: int, options: MyOptions):
        super().__init__()
        self.width = width
        self.layers = nn.ModuleList(GatedRecurrence(width, options.keep_bias) for _ in range(options.layers))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h)
        return h

    def init_state(self, batch_size: int) -> list[torch.Tensor]:
        weight = self.layers[0].out.weight
        return [weight.new_zeros(batch_size, self.width) for _ in self.layers]

    def step(self, h_t: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        new_state = []
        for layer, h in zip(self.layers, state, strict=True):
            h_t, h = layer.step(h_t, h)
            new_state.append(h)
        return h_t, new_state

    def core_layer(self) -> nn.Module:  # what `python -m bench speed --bare` times alone
        return self.layers[0]
