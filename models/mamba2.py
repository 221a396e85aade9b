"""Mamba-2: the SSD layer (Dao & Gu 2024, "Transformers are SSMs: Generalized Models and Efficient Algorithms
Through Structured State Space Duality"), pure PyTorch.

A block is pre-norm and residual, ``h + mixer(RMSNorm(h))``; the mixer (the paper's Figure 6, "Mamba-2 block"):

    z, xBC, dt = in_proj(h)                   I, I + 2 N and H channels: every projection at the block's start
    x, B, C = SiLU(conv(xBC))                 short causal depthwise convolution over x, B and C together
    y = SSD(x, dt, A, B, C) + D x             per head h of P = I / H channels, below
    out = out_proj(RMSNorm(y * SiLU(z)))      the gate, then a norm (the paper's extra normalisation)

SSD differs from Mamba's S6 in one place: A is one scalar per head, not an (I, N) matrix, and B and C are
shared by every head (one group). With ``a_t = Delta_t A`` (B, L, H), per head, for an (P, N) state:

    h_t = exp(a_t) h_{t-1} + (Delta_t x_t) B_t^T      y_t = h_t C_t

A scalar decay makes the map a masked attention, ``y_t = sum_{s <= t} exp(a_{s+1} + ... + a_t) (C_t . B_s)
Delta_s x_s``, and the chunked form computes it as the paper's Listing 1 does: within chunks of Q steps,
that quadratic form as matrix products; across chunks, each chunk's final state from its inputs, the states
carried from chunk to chunk by a loop over the L / Q chunks (a scan), and every step's share of the state
its chunk started from. ``path="recurrence"`` runs the step-by-step recurrence instead (``step``), the
reference it is tested against.

Initialisation as the reference (``mamba2_simple.py``): A uniform in [1, 16] per head, D = 1 per head, the
dt bias the inverse softplus of a dt log-uniform in [dt_min, dt_max]; A_log, D and the dt bias are not
weight-decayed. Departures, for models of ~20k parameters: the state size N = 16 (the reference 64 to 128)
and head dimension P = 8 (the reference 64), so a layer has several heads at these widths, the last one
narrower where P does not divide E D (the reference requires that it does); the chunk Q = 16 (the
reference 256, for GPUs): with heads this small the (Q, Q) work within chunks costs more than the state
passed between them, and at 20k parameters, batch 8, one CPU thread, forward and backward took 1.4 s at
L = 4096 with Q = 16 or 32 against 2.9 s with Q = 64 (and 0.25, 0.33, 0.56 s at L = 1024 for 16, 32, 64).

Dimension letters: ``B`` batch, ``L`` length, ``D`` model width, ``I`` = E D inner channels, ``H`` heads,
``P`` channels per head, ``N`` state size, ``K`` conv kernel size, ``J`` chunks, ``Q`` and ``S`` steps of a
chunk (the output's and the input's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from models.base import implementation, no_weight_decay, step_blocks
from models.mamba import causal_conv, inverse_softplus
from models.scan import at_least_fp32

PATHS = ("chunked", "recurrence")


@dataclass(frozen=True)
class Mamba2Options:
    layers: int = 2
    state_size: int = 16  # N
    expand: int = 2  # E: the mixer's inner channels are E x D
    head_dim: int = 8  # P: the inner channels are H heads of P
    conv_size: int = 4  # K
    chunk_size: int = 16  # Q: the steps whose outputs are computed together as one matrix product
    dt_min: float = 0.001
    dt_max: float = 0.1
    # The full-sequence forward: "chunked" (SSD) or "recurrence" (a loop over steps); one map, one run key.
    path: str = implementation("chunked", keyed_as="chunked")

    def __post_init__(self) -> None:
        for name in ("layers", "state_size", "expand", "head_dim", "conv_size", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"mamba2 option {name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(
                f"mamba2 options dt_min and dt_max must satisfy 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}"
            )
        if self.path not in PATHS:
            raise ValueError(f"mamba2 option path must be one of {', '.join(PATHS)}; got {self.path!r}")


def ssd(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, chunk: int) -> torch.Tensor:
    """The SSD map in chunks of ``chunk`` steps: x (B, L, H, P), a = Delta A (B, L, H), B and C (B, L, N) ->
    y (B, L, H, P), from h_{-1} = 0. x is Delta x: the input already scaled by its step size."""
    length = x.shape[1]
    pad = -length % chunk  # zero steps at the end (a = 0, x = 0): they change no earlier output, and are cut
    x, a, b, c = (F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (x, a, b, c))
    x = rearrange(x, "b (j q) h p -> b h j q p", q=chunk)  # (B, H, J, Q, P)
    b, c = (rearrange(t, "b (j q) n -> b 1 j q n", q=chunk) for t in (b, c))  # (B, 1, J, Q, N)
    a_sum = torch.cumsum(rearrange(a, "b (j q) h -> b h j q", q=chunk), dim=-1)  # (B, H, J, Q): a_0 + ... + a_q
    y = _within_chunks(x, a_sum, b, c) + _from_earlier_chunks(x, a_sum, b, c)  # (B, H, J, Q, P)
    return rearrange(y, "b h j q p -> b (j q) h p")[:, :length]  # (B, L, H, P)


def _within_chunks(x, a_sum, b, c):
    """Each step's output from the steps of its own chunk: the quadratic (attention) form, (B, H, J, Q, P)."""
    causal = torch.ones(a_sum.shape[-1], a_sum.shape[-1], dtype=torch.bool, device=a_sum.device).tril()  # (Q, S)
    # exp(a_{s+1} + ... + a_q) for s <= q; -inf above the diagonal, so exp gives 0 and no gradient flows there.
    exponent = rearrange(a_sum, "b h j q -> b h j q 1") - rearrange(a_sum, "b h j s -> b h j 1 s")  # (B, H, J, Q, S)
    decay = torch.exp(exponent.masked_fill(~causal, -math.inf))  # (B, H, J, Q, S)
    scores = c @ b.transpose(-1, -2)  # (B, 1, J, Q, S): C_q . B_s, shared by the heads
    return (scores * decay) @ x  # (B, H, J, Q, P)


def _from_earlier_chunks(x, a_sum, b, c):
    """Each step's output from the state its chunk started from, (B, H, J, Q, P): chunk states, then a scan."""
    to_end = torch.exp(a_sum[..., -1:] - a_sum)  # (B, H, J, S): exp(a_{s+1} + ... + a_{Q-1})
    own = (x * rearrange(to_end, "b h j s -> b h j s 1")).transpose(-1, -2) @ b  # (B, H, J, P, N): from h = 0
    across = torch.exp(a_sum[..., -1])  # (B, H, J): a whole chunk's decay
    h = torch.zeros_like(own[:, :, 0])  # (B, H, P, N): the state before the first chunk
    starts = []
    for own_j, across_j in zip(own.unbind(2), across.unbind(2), strict=True):  # the scan over chunks
        starts.append(h)
        h = rearrange(across_j, "b h -> b h 1 1") * h + own_j  # (B, H, P, N)
    starts = torch.stack(starts, dim=2)  # (B, H, J, P, N): the state each chunk starts from
    return (c @ starts.transpose(-1, -2)) * rearrange(torch.exp(a_sum), "b h j q -> b h j q 1")  # (B, H, J, Q, P)


class Mamba2Mixer(nn.Module):
    """in_proj -> causal conv -> SiLU -> SSD, gated by SiLU(z), normalised -> out_proj: (B, L, D) -> (B, L, D)."""

    def __init__(self, width: int, options: Mamba2Options):
        super().__init__()
        inner, N, K = options.expand * width, options.state_size, options.conv_size
        # The last head may be narrower than P (the reference asserts that P divides E D): its missing channels
        # are zeros in SSD and are cut after it. Any width then builds, and the parameter count grows smoothly
        # with it, so the width solver meets small targets.
        heads = math.ceil(inner / options.head_dim)
        self.padded = heads * options.head_dim - inner  # zero channels after the last one
        self.inner, self.heads, self.state_size, self.conv_size = inner, heads, N, K
        self.chunk_size, self.path = options.chunk_size, options.path
        self.in_proj = nn.Linear(width, 2 * inner + 2 * N + heads, bias=False)  # z, x, B, C, dt
        self.conv = nn.Conv1d(inner + 2 * N, inner + 2 * N, K, groups=inner + 2 * N)  # x, B, C; left padding only
        log_dt = torch.rand(heads) * (math.log(options.dt_max) - math.log(options.dt_min)) + math.log(options.dt_min)
        self.dt_bias = no_weight_decay(nn.Parameter(inverse_softplus(log_dt.exp())))  # (H,): softplus(bias) = dt
        self.A_log = no_weight_decay(nn.Parameter(torch.log(torch.empty(heads).uniform_(1, 16))))  # (H,)
        self.D = no_weight_decay(nn.Parameter(torch.ones(heads)))  # (H,): the skip
        self.norm = nn.RMSNorm(inner, eps=1e-5)
        self.out_proj = nn.Linear(inner, width, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z, xbc, dt = self.in_proj(h).split([self.inner, self.inner + 2 * self.state_size, self.heads], dim=-1)
        xbc = F.silu(causal_conv(xbc, self.conv))  # (B, L, I + 2N)
        with torch.autocast(h.device.type, enabled=False):  # fp32 under bf16 autocast: decays multiply over time
            x, b, c = at_least_fp32(xbc).split([self.inner, self.state_size, self.state_size], dim=-1)
            x = rearrange(F.pad(x, (0, self.padded)), "b l (h p) -> b l h p", h=self.heads)  # (B, L, H, P)
            dt = F.softplus(at_least_fp32(dt) + self.dt_bias)  # (B, L, H)
            if self.path == "chunked":
                y = ssd(x * rearrange(dt, "b l h -> b l h 1"), dt * self.A, b, c, self.chunk_size)  # (B, L, H, P)
            else:
                y = self.recurrence(x, dt, b, c)  # (B, L, H, P)
            y = rearrange(y + x * rearrange(self.D, "h -> h 1"), "b l h p -> b l (h p)")[..., : self.inner]  # (B, L, I)
        return self.out_proj(self.norm(y * F.silu(z)))  # (B, L, D)

    @property
    def A(self) -> torch.Tensor:
        return -torch.exp(self.A_log)  # (H,)

    def recurrence(self, x, dt, b, c) -> torch.Tensor:
        """SSD step by step, the reference: (B, L, H, P) from x (B, L, H, P), dt (B, L, H), B and C (B, L, N)."""
        h, outputs = x.new_zeros(*x.shape[:1], *x.shape[2:], self.state_size), []  # h: (B, H, P, N)
        for x_t, dt_t, b_t, c_t in zip(x.unbind(1), dt.unbind(1), b.unbind(1), c.unbind(1), strict=True):
            h, y_t = self.ssd_step(h, x_t, dt_t, b_t, c_t)
            outputs.append(y_t)
        return torch.stack(outputs, dim=1)  # (B, L, H, P)

    def ssd_step(self, h, x_t, dt_t, b_t, c_t):
        """h_t = exp(Delta_t A) h_{t-1} + Delta_t x_t B_t^T, y_t = h_t C_t: (B, H, P, N) and (B, H, P)."""
        decay = rearrange(torch.exp(dt_t * self.A), "b h -> b h 1 1")  # (B, H, 1, 1)
        dx = x_t * rearrange(dt_t, "b h -> b h 1")  # (B, H, P)
        h = decay * h + rearrange(dx, "b h p -> b h p 1") * rearrange(b_t, "b n -> b 1 1 n")  # (B, H, P, N)
        return h, (h @ rearrange(c_t, "b n -> b 1 n 1")).squeeze(-1)  # (B, H, P)

    def init_state(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The conv's last K - 1 inputs, (B, I + 2N, K - 1), and h, (B, H, P, N): zeros, as the forward's."""
        return (
            self.D.new_zeros(batch_size, self.inner + 2 * self.state_size, self.conv_size - 1),
            self.D.new_zeros(batch_size, self.heads, (self.inner + self.padded) // self.heads, self.state_size),
        )

    def step(self, h_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """One step: (B, D) -> (B, D), with the state carried over."""
        window, h = state  # (B, I + 2N, K - 1), (B, H, P, N)
        z, xbc, dt = self.in_proj(h_t).split([self.inner, self.inner + 2 * self.state_size, self.heads], dim=-1)
        window = torch.cat([window, rearrange(xbc, "b c -> b c 1")], dim=-1)  # (B, I + 2N, K): the conv's view
        xbc = F.silu((window * rearrange(self.conv.weight, "c 1 k -> c k")).sum(-1) + self.conv.bias)  # (B, I + 2N)
        with torch.autocast(h_t.device.type, enabled=False):
            x, b, c = at_least_fp32(xbc).split([self.inner, self.state_size, self.state_size], dim=-1)
            x = rearrange(F.pad(x, (0, self.padded)), "b (h p) -> b h p", h=self.heads)  # (B, H, P)
            dt = F.softplus(at_least_fp32(dt) + self.dt_bias)  # (B, H)
            h, y = self.ssd_step(h, x, dt, b, c)  # (B, H, P, N), (B, H, P)
            y = rearrange(y + x * rearrange(self.D, "h -> h 1"), "b h p -> b (h p)")[..., : self.inner]  # (B, I)
        return self.out_proj(self.norm(y * F.silu(z))), (window[:, :, 1:], h)


class Mamba2Block(nn.Module):
    def __init__(self, width: int, options: Mamba2Options):
        super().__init__()
        self.norm = nn.RMSNorm(width, eps=1e-5)
        self.mixer = Mamba2Mixer(width, options)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mixer(self.norm(h))  # (B, L, D)

    def step(self, h_t: torch.Tensor, state):
        y, state = self.mixer.step(self.norm(h_t), state)
        return h_t + y, state


class Mamba2Backbone(nn.Module):
    def __init__(self, width: int, options: Mamba2Options):
        super().__init__()
        self.blocks = nn.ModuleList(Mamba2Block(width, options) for _ in range(options.layers))

    @staticmethod
    def width_multiple(options: Mamba2Options) -> int:
        return 1  # the inner channels are rounded to whole heads

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h)
        return h

    def core_layer(self) -> Mamba2Mixer:
        """The first block's mixer, (B, L, D) -> (B, L, D), timed alone by ``bench speed --bare``."""
        return self.blocks[0].mixer

    def init_state(self, batch_size: int) -> list:
        return [block.mixer.init_state(batch_size) for block in self.blocks]

    def step(self, h_t: torch.Tensor, state: list):
        return step_blocks(self.blocks, h_t, state)
