"""Mamba: a selective state-space model (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with
Selective State Spaces"), pure PyTorch.

A block is pre-norm and residual, ``h + mixer(RMSNorm(h))``; the mixer (the paper's Figure 3):

    x, z = in_proj(h)                     two branches of E D channels each
    x = SiLU(conv(x))                     short causal depthwise convolution (padded on the left only)
    y = S6(x)                             the selective scan below
    out = out_proj(y * SiLU(z))           gated by the other branch, back to D channels

S6 (the paper's Algorithm 2): Delta, B and C are functions of the input, A is not.

    Delta = softplus(dt_proj(x_proj(x)[:R]) + dt_bias)      (B, L, I)
    B, C  = x_proj(x)[R:R+N], x_proj(x)[R+N:]               (B, L, N) each
    A     = -exp(A_log)                                     (I, N), real and diagonal
    h_t   = exp(Delta_t A) * h_{t-1} + Delta_t B_t x_t      zero-order hold for A, Euler for B (as the paper)
    y_t   = C_t . h_t + D * x_t

Initialisation as the paper's: ``A_n = -(n + 1)`` (S4D-real), ``D = 1``, the dt bias the inverse
softplus of a dt drawn log-uniformly in ``[dt_min, dt_max]``; dt_proj's weight keeps torch's default,
uniform in +-R^-1/2, which is the paper's ("random" dt init, dt_scale 1). A_log, D and the dt bias are
not weight-decayed. Left out: the reference's 1/sqrt(layers) rescale of out_proj at init (GPT-2 style; a
0.7 factor at 2 layers) and its final RMSNorm (the shared head starts with a LayerNorm).

Training runs S6 through ``models.s6``, one autograd function with its backward written by hand, which
keeps one state per chunk of steps and rebuilds the rest in the backward, as the official CUDA kernel does
(``path="fused"``). ``path="recurrence"`` builds every step's ``(exp(Delta A), Delta B x)``, (B, T, I, N),
``CHUNK_STEPS`` steps at a time, and runs ``sequential_scan`` through autograd, which keeps them all: the
reference the fused core is tested against. (A parallel scan, ``models.scan.linear_scan``, was the default
before the fused core; it was slower than the fused core at every length, width and thread count measured,
and is gone.) Streaming carries, per block, the conv's last K - 1 inputs and h, a state whose size does not
depend on the steps taken.

Defaults: 2 blocks, N = 16, E = 2, K = 4, R = ceil(D / 16), dt in [0.001, 0.1].

Dimension letters: ``B`` batch, ``L`` length, ``D`` model width, ``E`` expansion factor, ``I`` = E D
inner channels, ``N`` state size, ``R`` dt rank, ``K`` conv kernel size, ``T`` the steps of a chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import einsum, rearrange
from torch import nn

from models.base import implementation, no_weight_decay, step_blocks
from models.s6 import s6
from models.scan import at_least_fp32, sequential_scan

PATHS = ("fused", "recurrence")
# The (B, L, I, N) tensors are built and scanned this many steps at a time, h carried from chunk to chunk.
# On CPU a tensor over glibc's 32 MB mmap threshold is a fresh mapping on every call, and its page faults
# cost more than the arithmetic: at L = 4096 (20k parameters, batch 8, one thread) chunks of 256 made the
# training step 2.3x faster on the recurrence (3.3 -> 1.4 s).
# Memory stays linear in L: autograd keeps every chunk's tensors.
CHUNK_STEPS = 256


@dataclass(frozen=True)
class MambaOptions:
    layers: int = 2
    state_size: int = 16  # N
    expand: int = 2  # E: the mixer's inner channels are E x D
    conv_size: int = 4  # K
    dt_rank: int = 0  # R; 0 is ceil(D / 16), the paper's "auto"
    dt_min: float = 0.001
    dt_max: float = 0.1
    # The full-sequence forward: "fused" (models.s6) or "recurrence" (autograd through a loop over steps). One
    # map, so the run key hashes it as "scan", the default (a parallel scan, since dropped: the fused core was
    # faster at every shape measured) that every Mamba run key was made with before.
    path: str = implementation("fused", keyed_as="scan")

    def __post_init__(self) -> None:
        for name in ("layers", "state_size", "expand", "conv_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"mamba option {name} must be >= 1, got {getattr(self, name)}")
        if self.dt_rank < 0:
            raise ValueError(f"mamba option dt_rank must be >= 1, or 0 for ceil(width / 16); got {self.dt_rank}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(
                f"mamba options dt_min and dt_max must satisfy 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}"
            )
        if self.path == "scan":  # the parallel scan's name: records made with it rebuild (their weights are the same)
            object.__setattr__(self, "path", "fused")
        if self.path not in PATHS:
            raise ValueError(f"mamba option path must be one of {', '.join(PATHS)}; got {self.path!r}")


def causal_conv(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv`` (depthwise, kernel K) applied causally along time: (B, L, C) -> (B, L, C), zeros before step 0.

    As K shifted multiply-adds in the (B, L, C) layout rather than ``conv`` itself: the depthwise Conv1d needs
    (B, C, L), and on the 2-core CPU, with the SiLU and the gate that follow, the two transposes and the
    convolution took 1.7x (one thread) and 1.4x (two) as long as this, forward and backward, at (8, 1024, 62)."""
    steps, kernel = x.shape[1], conv.kernel_size[0]
    padded = F.pad(x, (0, 0, kernel - 1, 0))  # (B, K - 1 + L, C): left only
    weight = rearrange(conv.weight, "c 1 k -> k c")  # (K, C)
    y = torch.addcmul(conv.bias, padded[:, kernel - 1 :], weight[-1])  # (B, L, C): the current step's tap
    for k in range(kernel - 1):
        y.addcmul_(padded[:, k : k + steps], weight[k])  # step t - (K - 1 - k)
    return y


def inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """x with softplus(x) = y, for y > 0: y + log(1 - exp(-y))."""
    return y + torch.log(-torch.expm1(-y))


class MambaMixer(nn.Module):
    """in_proj -> causal conv -> SiLU -> S6, gated by SiLU(z) -> out_proj: (B, L, D) -> (B, L, D)."""

    def __init__(self, width: int, options: MambaOptions):
        super().__init__()
        inner, N, K = options.expand * width, options.state_size, options.conv_size
        rank = options.dt_rank or math.ceil(width / 16)
        self.rank, self.state_size, self.conv_size = rank, N, K
        self.in_proj = nn.Linear(width, 2 * inner, bias=False)
        self.conv = nn.Conv1d(inner, inner, K, groups=inner)  # depthwise; padded in forward, on the left only
        self.x_proj = nn.Linear(inner, rank + 2 * N, bias=False)
        self.dt_proj = nn.Linear(rank, inner)
        log_dt = torch.rand(inner) * (math.log(options.dt_max) - math.log(options.dt_min)) + math.log(options.dt_min)
        with torch.no_grad():
            self.dt_proj.bias.copy_(inverse_softplus(log_dt.exp()))  # softplus(bias) = dt, log-uniform
        no_weight_decay(self.dt_proj.bias)
        a_init = torch.arange(1, N + 1, dtype=torch.float32).repeat(inner, 1)  # (I, N): S4D-real, -A_n = n + 1
        self.A_log = no_weight_decay(nn.Parameter(torch.log(a_init)))  # (I, N)
        self.D = no_weight_decay(nn.Parameter(torch.ones(inner)))  # (I,): the skip
        self.out_proj = nn.Linear(inner, width, bias=False)
        self.path = options.path

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x, z = self.in_proj(h).chunk(2, dim=-1)  # (B, L, I) each
        x = F.silu(self.convolve(x))  # (B, L, I)
        return self.out_proj(self.selective_scan(x) * F.silu(z))  # (B, L, D)

    def convolve(self, x: torch.Tensor) -> torch.Tensor:
        """The causal depthwise convolution: (B, L, I) -> (B, L, I), step t seeing steps t - K + 1 .. t."""
        return causal_conv(x, self.conv)

    def selective_scan(self, x: torch.Tensor) -> torch.Tensor:
        """S6 over the whole sequence: (B, L, I) -> (B, L, I)."""
        # fp32 under bf16 autocast too: exp(Delta A) multiplied over thousands of steps needs the precision.
        with torch.autocast(x.device.type, enabled=False):
            x = at_least_fp32(x)
            delta, b, c = self.selection(x)  # (B, L, I), (B, L, N), (B, L, N)
            A = -torch.exp(self.A_log)  # (I, N)
            if self.path == "fused":
                return s6(x, delta, A, b, c) + x * self.D  # (B, L, I)
            return self.recurrence(x, delta, A, b, c) + x * self.D  # (B, L, I)

    def recurrence(self, x, delta, A, b, c) -> torch.Tensor:
        """S6 from autograd's pieces, ``CHUNK_STEPS`` steps at a time, h carried from chunk to chunk: (B, L, I).

        The reference the fused core is tested against: every step's state is a tensor autograd keeps."""
        outputs, h = [], None
        for delta_c, x_c, b_c, c_c in zip(*(t.split(CHUNK_STEPS, dim=1) for t in (delta, x, b, c)), strict=True):
            a_bar = torch.exp(rearrange(delta_c, "b t i -> b t i 1") * A)  # (B, T, I, N)
            bx = rearrange(delta_c * x_c, "b t i -> b t i 1") * rearrange(b_c, "b t n -> b t 1 n")  # (B, T, I, N)
            states = sequential_scan(a_bar, bx, h)  # (B, T, I, N), from the previous chunk's last h
            h = states[:, -1]  # (B, I, N)
            outputs.append(einsum(states, c_c, "b t i n, b t n -> b t i"))  # (B, T, I)
        return torch.cat(outputs, dim=1)  # (B, L, I)

    def selection(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Delta, B and C from the input: (..., I) -> (..., I), (..., N), (..., N)."""
        dt, b, c = self.x_proj(x).split([self.rank, self.state_size, self.state_size], dim=-1)
        # dt contiguous: dt_proj's weight gradient, a product over B L of a strided (..., R) slice, ran about 1.4x
        # slower on the CPU than copying the slice first.
        return F.softplus(self.dt_proj(dt.contiguous())), b, c

    def init_state(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The conv's last K - 1 inputs, (B, I, K - 1), and h, (B, I, N): zeros, as the forward's padding."""
        inner = self.D.shape[0]
        return (
            self.D.new_zeros(batch_size, inner, self.conv_size - 1),
            self.D.new_zeros(batch_size, inner, self.state_size),
        )

    def step(self, h_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """One step: (B, D) -> (B, D), with the state carried over."""
        window, states = state  # (B, I, K - 1), (B, I, N)
        x, z = self.in_proj(h_t).chunk(2, dim=-1)  # (B, I) each
        window = torch.cat([window, rearrange(x, "b i -> b i 1")], dim=-1)  # (B, I, K): the conv's receptive field
        weight = rearrange(self.conv.weight, "i 1 k -> i k")  # (I, K)
        x = einsum(window, weight, "b i k, i k -> b i") + self.conv.bias  # (B, I): the forward's conv at its last step
        x = F.silu(x)
        with torch.autocast(x.device.type, enabled=False):
            x = at_least_fp32(x)
            delta, b, c = self.selection(x)  # (B, I), (B, N), (B, N)
            a_bar = torch.exp(rearrange(delta, "b i -> b i 1") * -torch.exp(self.A_log))  # (B, I, N)
            bx = rearrange(delta * x, "b i -> b i 1") * rearrange(b, "b n -> b 1 n")  # (B, I, N)
            states = torch.addcmul(bx, a_bar, states)  # (B, I, N)
            y = einsum(states, c, "b i n, b n -> b i") + x * self.D  # (B, I)
        return self.out_proj(y * F.silu(z)), (window[:, :, 1:], states)


class MambaBlock(nn.Module):
    def __init__(self, width: int, options: MambaOptions):
        super().__init__()
        self.norm = nn.RMSNorm(width, eps=1e-5)  # the reference's eps (torch's default is float32's machine eps)
        self.mixer = MambaMixer(width, options)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mixer(self.norm(h))  # (B, L, D)

    def step(self, h_t: torch.Tensor, state):
        y, state = self.mixer.step(self.norm(h_t), state)
        return h_t + y, state


class MambaBackbone(nn.Module):
    def __init__(self, width: int, options: MambaOptions):
        super().__init__()
        self.blocks = nn.ModuleList(MambaBlock(width, options) for _ in range(options.layers))

    @staticmethod
    def width_multiple(options: MambaOptions) -> int:
        return 1

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h)
        return h

    def core_layer(self) -> MambaMixer:
        """The first block's mixer, (B, L, D) -> (B, L, D), timed alone by ``bench speed --bare``."""
        return self.blocks[0].mixer

    def init_state(self, batch_size: int) -> list:
        return [block.mixer.init_state(batch_size) for block in self.blocks]

    def step(self, h_t: torch.Tensor, state: list):
        return step_blocks(self.blocks, h_t, state)
