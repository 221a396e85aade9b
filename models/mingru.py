"""Minimal RNNs: minGRU and minLSTM (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We
Needed?"), pure PyTorch.

The gates and the candidate see the input x_t only, never h_{t-1}, so the recurrence is linear in h and
every step's coefficients can be computed at once:

    minGRU:   z_t = sigmoid(Linear(x_t)),  h~_t = g(Linear(x_t)),
              h_t = (1 - z_t) h_{t-1} + z_t h~_t
    minLSTM:  f_t = sigmoid(Linear(x_t)),  i_t = sigmoid(Linear(x_t)),  h~_t = g(Linear(x_t)),
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t),
              h_t = f'_t h_{t-1} + i'_t h~_t

with the paper's ``g(x) = x + 1/2`` for x >= 0, ``sigmoid(x)`` below, which keeps h~ (hence h) positive
so that the recurrence can also run on logs. ``h_{-1} = 0``.

Three forms of the full-sequence forward (option ``path``), one map:

- ``scan`` (default): the coefficients ``(1 - z, z h~)`` (or ``(f', i' h~)``) of every step at once,
  through ``models.scan.linear_scan``.
- ``log_scan``: the paper's log-space form: log coefficients (``log(1 - z) = -softplus(k)``,
  ``log z = -softplus(-k)``, ``log g``; for minLSTM ``log f' = -softplus(d)``, ``log i' = -softplus(-d)``
  with ``d = softplus(-k_f) - softplus(-k_i) = log i - log f``) through ``models.scan.log_space_scan``
  (Heinsen 2023). Not the default, though it is the paper's: on CPU at L = 4096 (batch 8, 20k parameters,
  one thread) its training step took 2.9x as long as ``scan``'s (680 against 230 ms; torch's
  ``logcumsumexp`` alone is half of it), and rounding ``cumsum(log a)``, thousands in magnitude, to fp32
  left a relative error of 2e-4 in h, against 1e-7 for ``linear_scan``. The linear recurrence needs no
  logs to be stable: it never divides, and a product of gates that underflows to 0 is a decayed memory.
- ``recurrence``: the same coefficients one step at a time (``models.scan.sequential_scan``), to measure
  what the scans buy and to check them.

Streaming carries h alone, (B, H) per block, with the ``scan`` coefficients.

A block is pre-norm and residual, ``h + out_proj(minRNN(RMSNorm(h)))``, the minimal RNN H = expand x D
wide and out_proj taking H back to D. Defaults: 2 blocks, expand 1 (at 20k parameters on the copying
task that gives D = H = 55 for minGRU, 48 for minLSTM; a wider H would leave the model narrower, and the
paper's point is the cell itself).

Dimension letters: ``B`` batch, ``L`` length, ``D`` model width, ``H`` = expand x D hidden width,
``G`` the gates and candidate (2 H for minGRU, 3 H for minLSTM).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from models.base import MAX_LAYERS, bounded, step_blocks
from models.scan import at_least_fp32, linear_scan, log_space_scan, sequential_scan

PATHS = ("scan", "log_scan", "recurrence")


@dataclass(frozen=True)
class MinRNNOptions:
    family: ClassVar[str] = "mingru"
    layers: int = bounded(2, 1, MAX_LAYERS)
    expand: int = bounded(1, 1, 16)  # H = expand x D
    path: str = "scan"  # full-sequence forward: "scan" (linear_scan), "log_scan" (log_space_scan) or "recurrence"

    def __post_init__(self) -> None:
        for name in ("layers", "expand"):
            if getattr(self, name) < 1:
                raise ValueError(f"{self.family} option {name} must be >= 1, got {getattr(self, name)}")
        if self.path not in PATHS:
            raise ValueError(f"{self.family} option path must be one of {', '.join(PATHS)}; got {self.path!r}")


@dataclass(frozen=True)
class MinGRUOptions(MinRNNOptions):
    family: ClassVar[str] = "mingru"


@dataclass(frozen=True)
class MinLSTMOptions(MinRNNOptions):
    family: ClassVar[str] = "minlstm"


def g(x: torch.Tensor) -> torch.Tensor:
    """x + 1/2 for x >= 0, sigmoid(x) below: positive, continuous, growing linearly."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), without taking the log of a sigmoid: -softplus(-x) below 0."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


class MinRNN(nn.Module):
    """minGRU (``cell="gru"``) or minLSTM (``cell="lstm"``): (B, L, D) -> (B, L, H)."""

    def __init__(self, cell: str, width: int, hidden: int, path: str):
        super().__init__()
        self.cell = cell
        self.hidden = hidden
        gates = {"gru": 1, "lstm": 2}[cell]
        self.proj = nn.Linear(width, (gates + 1) * hidden)  # the gates and the candidate, from x_t only
        self.path = path

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a and b of ``h_t = a_t h_{t-1} + b_t``: (..., D) -> (..., H) each."""
        k = self.proj(x)  # (..., G)
        if self.cell == "gru":
            k_z, k_h = k.split(self.hidden, dim=-1)  # (..., H) each
            return torch.sigmoid(-k_z), torch.sigmoid(k_z) * g(k_h)  # 1 - z, z h~
        k_f, k_i, k_h = k.split(self.hidden, dim=-1)  # (..., H) each
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)  # (..., H) each
        total = f + i
        return f / total, i / total * g(k_h)  # f', i' h~

    def log_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log a and log b, as the paper's log-space form computes them: (..., D) -> (..., H) each."""
        k = self.proj(x)  # (..., G)
        if self.cell == "gru":
            k_z, k_h = k.split(self.hidden, dim=-1)  # (..., H) each
            return -F.softplus(k_z), -F.softplus(-k_z) + log_g(k_h)  # log(1 - z), log z + log h~
        k_f, k_i, k_h = k.split(self.hidden, dim=-1)  # (..., H) each
        d = F.softplus(-k_f) - F.softplus(-k_i)  # log i - log f
        return -F.softplus(d), -F.softplus(-d) + log_g(k_h)  # log f', log i' + log h~

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # fp32 under bf16 autocast too: the scan accumulates over thousands of steps.
        with torch.autocast(x.device.type, enabled=False):
            x = at_least_fp32(x)
            if self.path == "log_scan":
                return log_space_scan(*self.log_coefficients(x))  # (B, L, H)
            scan = sequential_scan if self.path == "recurrence" else linear_scan
            return scan(*self.coefficients(x))  # (B, L, H)

    def init_state(self, batch_size: int) -> torch.Tensor:
        return self.proj.weight.new_zeros(batch_size, self.hidden)  # (B, H): h_{-1} = 0

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(x_t.device.type, enabled=False):
            a, b = self.coefficients(at_least_fp32(x_t))  # (B, H) each
            h = torch.addcmul(b, a, h)  # (B, H)
        return h, h


class MinRNNBlock(nn.Module):
    def __init__(self, cell: str, width: int, options: MinRNNOptions):
        super().__init__()
        hidden = options.expand * width
        self.norm = nn.RMSNorm(width)
        self.rnn = MinRNN(cell, width, hidden, options.path)
        self.out_proj = nn.Linear(hidden, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.out_proj(self.rnn(self.norm(h)))  # (B, L, D)

    def step(self, h_t: torch.Tensor, state: torch.Tensor):
        y, state = self.rnn.step(self.norm(h_t), state)
        return h_t + self.out_proj(y), state


class MinRNNBackbone(nn.Module):
    def __init__(self, cell: str, width: int, options: MinRNNOptions):
        super().__init__()
        self.family = options.family
        self.expand = options.expand
        self.blocks = nn.ModuleList(MinRNNBlock(cell, width, options) for _ in range(options.layers))

    @staticmethod
    def width_multiple(options: MinRNNOptions) -> int:
        return 1

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h)
        return h

    def core_layer(self) -> MinRNN:
        """The first block's minimal RNN, timed alone by ``bench speed --bare``; it must map D to D."""
        if self.expand != 1:
            raise ValueError(
                f"times {self.family}'s minimal RNN alone, (B, L, D) -> (B, L, D); not with option expand > 1"
            )
        return self.blocks[0].rnn

    def init_state(self, batch_size: int) -> list[torch.Tensor]:
        return [block.rnn.init_state(batch_size) for block in self.blocks]

    def step(self, h_t: torch.Tensor, state: list):
        return step_blocks(self.blocks, h_t, state)
