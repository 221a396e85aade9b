"""A minimal diagonal state-space model (S4D; Gu, Gupta, Goel & Ré 2022), pure PyTorch.

Each of the ``D`` channels runs its own linear time-invariant system with ``N/2`` complex
modes (the conjugate halves are implied, hence ``2 Re``):

    x_l = lambda * x_{l-1} + u_l,      y_l = 2 Re(C' x_l) + D u_l

with zero-order-hold discretisation ``lambda = exp(dt A)`` and ``B`` folded into
``C' = C (lambda - 1) / A``. S4D-Lin initialisation: ``A_n = -1/2 + i pi n``,
``log dt ~ U[log dt_min, log dt_max]``.

Training uses the convolution form ``y = K * u`` with ``K_l = 2 Re(sum_n C'_n lambda_n^l)``,
computed by FFT. Building K as an (D, N, L) complex exponential is the CPU bottleneck;
instead ``lambda^l`` with ``l = T j + t`` is written ``lambda^(T j) * lambda^t`` (T ~ sqrt L),
which turns K into one batched real matmul (docs/design.md, measured facts). Streaming uses the recurrence,
with (lambda, C') discretised once and cached on the kernel, so a step is the recurrence alone.

Two options keep the slow textbook forms runnable, so ``bench speed`` can measure what the
fast forms buy (and tests can check they agree): ``kernel="vandermonde"`` builds K from the
plain (D, N/2, L) complex exponential, ``path="recurrence"`` runs the whole sequence through
the recurrence, one step at a time, instead of the FFT convolution.

A block is [norm -> SSM -> GELU -> linear + GLU -> residual], pre-norm; 2 blocks.

Training recipe (option ``s4d_recipe``, on by default): as the S4D reference code does, A and dt
train at min(lr, 1e-3) and without weight decay, whatever learning rate the rest of the model gets;
the comparison's learning-rate grid then moves only the other parameters. Off, they train at the
grid's learning rate like everything else (still without weight decay).

Dimension letters: ``B`` batch, ``L`` length, ``D`` channels (model width), ``N`` modes
(``N/2`` stored), ``J`` x ``T`` the two-level split of L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from models.base import lr_cap, no_weight_decay, step_blocks
from models.scan import at_least_fp32

KERNELS = ("power", "vandermonde")
S4D_LR = 1e-3  # the S4D recipe's cap on the learning rate of A and dt
PATHS = ("convolution", "recurrence")


@dataclass(frozen=True)
class SSMOptions:
    layers: int = 2
    state_size: int = 64  # N; N/2 complex modes are stored
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    kernel: str = "power"  # how K is built: "power" (two-level, one matmul) or "vandermonde" (plain, (D, N/2, L))
    path: str = "convolution"  # full-sequence forward: "convolution" (FFT) or "recurrence" (step by step)
    s4d_recipe: bool = True  # A and dt at min(lr, 1e-3), no weight decay (the S4D reference's optimiser groups)

    def __post_init__(self) -> None:
        if self.state_size < 2 or self.state_size % 2:
            raise ValueError(f"ssm state_size must be an even number >= 2, got {self.state_size}")
        for name, allowed in (("kernel", KERNELS), ("path", PATHS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"ssm {name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")


class S4DKernel(nn.Module):
    """Holds (A, C, dt) for D channels and produces the discretised system."""

    def __init__(self, channels: int, options: SSMOptions):
        super().__init__()
        modes = options.state_size // 2
        log_dt = torch.rand(channels) * (math.log(options.dt_max) - math.log(options.dt_min)) + math.log(options.dt_min)
        slow = (lambda p: lr_cap(p, S4D_LR)) if options.s4d_recipe else no_weight_decay  # A and dt
        self.log_dt = slow(nn.Parameter(log_dt))  # (D,)
        self.log_neg_a_real = slow(nn.Parameter(torch.full((channels, modes), math.log(0.5))))  # (D, N/2)
        self.a_imag = slow(nn.Parameter(math.pi * torch.arange(modes).float().repeat(channels, 1)))  # (D, N/2)
        # C ~ CN(0, 1), stored as (real, imag) pairs so the optimiser sees real tensors.
        self.c = nn.Parameter(torch.randn(channels, modes, 2) * math.sqrt(0.5))  # (D, N/2, 2)
        self.method = options.kernel
        self._recurrence_cache: tuple[tuple, torch.Tensor, torch.Tensor] | None = None  # (key, lambda, C')

    def discretise(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (dt A, lambda, C'), each (D, N/2) complex."""
        a = torch.complex(-self.log_neg_a_real.exp(), self.a_imag)  # (D, N/2)
        dt_a = a * self.log_dt.exp()[:, None]  # (D, N/2)
        lam = dt_a.exp()
        c_prime = torch.view_as_complex(self.c) * (lam - 1.0) / a  # zero-order hold, B = 1 folded in
        return dt_a, lam, c_prime

    def forward(self, length: int) -> torch.Tensor:
        """The convolution kernel K, (D, L)."""
        if self.method == "vandermonde":
            return self.vandermonde(length)
        return self.two_level_power(length)

    def vandermonde(self, length: int) -> torch.Tensor:
        """K from its definition: an (D, N/2, L) complex exponential, summed over modes."""
        dt_a, _, c_prime = self.discretise()
        steps = torch.arange(length, device=dt_a.device)
        return 2.0 * (c_prime[..., None] * (dt_a[..., None] * steps).exp()).sum(1).real  # (D, L)

    def two_level_power(self, length: int) -> torch.Tensor:
        """K without an (D, N/2, L) complex tensor: lambda^(T j + t) = lambda^(T j) lambda^t, one real matmul."""
        dt_a, _, c_prime = self.discretise()
        T = math.isqrt(length - 1) + 1  # ceil(sqrt(L)) for L >= 1
        J = -(-length // T)  # ceil(L / T)
        t = torch.arange(T, device=dt_a.device)
        j = torch.arange(J, device=dt_a.device) * T
        lam_t = (dt_a[..., None] * t).exp()  # (D, N/2, T)
        w = c_prime[..., None] * (dt_a[..., None] * j).exp()  # (D, N/2, J)
        # Re(w^T lam_t) as one real batched matmul: [Re w, -Im w] @ [Re lam_t; Im lam_t].
        left = torch.cat([w.real, -w.imag], dim=1).transpose(1, 2)  # (D, J, N)
        right = torch.cat([lam_t.real, lam_t.imag], dim=1)  # (D, N, T)
        kernel = 2.0 * torch.bmm(left, right)  # (D, J, T)
        return rearrange(kernel, "d j t -> d (j t)")[:, :length]

    def recurrence(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(lambda, C'), (D, N/2) complex each, for the recurrent step; discretised only when a parameter changed.

        Cached here rather than carried in the streaming state: the constants belong to the parameters, not
        to a stream, so the state stays the recurrent x alone (what the speed harness counts as state size)
        and every stream shares one copy. The key, each parameter's version counter (bumped by in-place
        updates: optimiser steps, ``load_state_dict``) and storage address (moved by ``.to()``), keeps the
        meaning of discretising at every step, which a snapshot taken in ``init_state`` would not: a step
        never runs on constants older than the parameters.
        """
        if torch.is_grad_enabled():  # a cached graph would be freed by the first backward: rebuild it per step
            return self.discretise()[1:]
        # _parameters is this module's own (A, C, dt); 3x cheaper to walk than parameters() at every step.
        key = tuple((p._version, p.data_ptr()) for p in self._parameters.values())
        if self._recurrence_cache is None or self._recurrence_cache[0] != key:
            self._recurrence_cache = (key, *self.discretise()[1:])
        return self._recurrence_cache[1:]


class S4DLayer(nn.Module):
    def __init__(self, channels: int, options: SSMOptions):
        super().__init__()
        self.kernel = S4DKernel(channels, options)
        self.skip = nn.Parameter(torch.randn(channels))  # D in the paper's notation, (D,)
        self.path = options.path

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        # The kernel, the FFTs and the complex modes stay fp32 under bf16 autocast: torch's FFTs have no
        # bf16, and the kernel's powers of lambda need the precision. fp64 stays fp64 (``bench gradients``).
        with torch.autocast(u.device.type, enabled=False):
            u = at_least_fp32(u)
            return self.scan(u) if self.path == "recurrence" else self.convolve(u)

    def convolve(self, u: torch.Tensor) -> torch.Tensor:
        L = u.shape[1]
        k_f = torch.fft.rfft(self.kernel(L), n=2 * L)  # (D, L+1); padding to 2L makes the conv causal, not circular
        u_f = torch.fft.rfft(rearrange(u, "b l d -> b d l"), n=2 * L)  # (B, D, L+1)
        y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]  # (B, D, L)
        return rearrange(y, "b d l -> b l d") + u * self.skip

    def scan(self, u: torch.Tensor) -> torch.Tensor:
        """The same map as the convolution, through the recurrence: L sequential steps, (B, L, D)."""
        lam, c_prime = self.kernel.discretise()[1:]  # once per forward, in the graph
        x, outputs = self.zero_state(u.shape[0]), []
        for u_t in u.unbind(1):
            y_t, x = self.recur(lam, c_prime, u_t, x)
            outputs.append(y_t)
        return torch.stack(outputs, dim=1)

    def init_state(self, batch_size: int) -> torch.Tensor:
        self.kernel.recurrence()  # discretise now, so the first step costs what every step costs
        return self.zero_state(batch_size)

    def zero_state(self, batch_size: int) -> torch.Tensor:
        modes = self.kernel.c.shape[1]
        real = self.kernel.c.new_zeros(batch_size, self.skip.shape[0], modes)
        return torch.complex(real, real)  # (B, D, N/2)

    def step(self, u_t: torch.Tensor, x: torch.Tensor):
        lam, c_prime = self.kernel.recurrence()  # (D, N/2) each, cached: not rediscretised per step
        return self.recur(lam, c_prime, at_least_fp32(u_t), x)

    def recur(self, lam: torch.Tensor, c_prime: torch.Tensor, u_t: torch.Tensor, x: torch.Tensor):
        x = lam * x + u_t[..., None]  # (B, D, N/2)
        y = 2.0 * (c_prime * x).real.sum(-1) + u_t * self.skip  # (B, D)
        return y, x


class SSMBlock(nn.Module):
    def __init__(self, width: int, options: SSMOptions):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.ssm = S4DLayer(width, options)
        self.mix = nn.Linear(width, 2 * width)

    def mix_out(self, y: torch.Tensor) -> torch.Tensor:
        return F.glu(self.mix(F.gelu(y)), dim=-1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mix_out(self.ssm(self.norm(h)))  # (B, L, D)

    def step(self, h_t: torch.Tensor, x: torch.Tensor):
        y, x = self.ssm.step(self.norm(h_t), x)
        return h_t + self.mix_out(y), x


class SSMBackbone(nn.Module):
    def __init__(self, width: int, options: SSMOptions):
        super().__init__()
        self.blocks = nn.ModuleList(SSMBlock(width, options) for _ in range(options.layers))

    @staticmethod
    def width_multiple(options: SSMOptions) -> int:
        return 1

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h)
        return h

    def core_layer(self) -> S4DLayer:
        """One S4D layer, timed alone by ``bench speed --bare`` to compare its kernel options layer to layer."""
        return self.blocks[0].ssm

    def init_state(self, batch_size: int):
        return [block.ssm.init_state(batch_size) for block in self.blocks]

    def step(self, h_t: torch.Tensor, state):
        return step_blocks(self.blocks, h_t, state)
