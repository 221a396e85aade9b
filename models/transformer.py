"""A small pre-norm causal Transformer with rotary positions.

Attention goes through ``F.scaled_dot_product_attention(..., is_causal=True)`` with no
materialised mask and no attention dropout, which keeps the fused kernels whose memory
grows linearly in L (docs/design.md, measured facts). Rotary position encoding (Su et al. 2021, RoFormer)
rotates queries and keys by their absolute position, so relative offsets enter the
scores and nothing limits the length. Streaming uses a key/value cache in buffers that
double when full, so appending a step costs amortised O(1) instead of copying the whole
cache (``torch.cat``) every step.

Defaults: 2 layers, 2 heads, MLP ratio 4, GELU.

Position encodings (option ``positions``, for length generalisation): ``rope`` (default,
relative offsets through rotary queries and keys), ``nope`` (none: the causal mask alone
tells order), ``sinusoidal`` (Vaswani et al.'s fixed absolute code added to the input) and
``learned`` (a trained table of ``max_positions`` absolute positions added to the input,
which cannot represent a position past its end: such a length is refused).

Dimension letters: ``B`` batch, ``L`` length, ``D`` width, ``H`` heads, ``E`` head width
(D = H * E), ``S`` cached steps, ``M`` cache capacity (S <= M).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from models.base import MAX_LAYERS, bounded, step_blocks

ROPE_BASE = 10_000.0
# CUDA's fused attention kernels need the head width aligned: memory-efficient attention takes fp32
# only at a multiple of 4, and without it SDPA falls back to the math kernel, whose (L, L) scores made
# training memory grow as L^1.7 on an H200. Small models have heads like 14 wide, so on CUDA heads
# are zero-padded to a multiple of 8 (what flash attention does inside for bf16) with the softmax
# scale of the true width: zeros add nothing to q.k, and the padded output channels are dropped.
CUDA_HEAD_ALIGN = 8
# cuDNN attention builds a plan for every new key length: 30+ ms per streamed token in bf16 on an H200.
FUSED_OR_MATH = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
INITIAL_CACHE_STEPS = 16  # capacity of a fresh cache; it doubles whenever it fills


POSITIONS = ("rope", "nope", "sinusoidal", "learned")


@dataclass(frozen=True)
class TransformerOptions:
    layers: int = bounded(2, 1, MAX_LAYERS)
    heads: int = bounded(2, 1, 64)
    mlp_ratio: int = bounded(4, 1, 16)
    positions: str = "rope"
    max_positions: int = bounded(1024, 1, 2**20)  # the table's size, for positions="learned" (at most MAX_LENGTH)

    def __post_init__(self) -> None:
        if self.positions not in POSITIONS:
            raise ValueError(f"transformer positions must be one of {', '.join(POSITIONS)}; got {self.positions!r}")
        if self.max_positions < 1:
            raise ValueError(f"transformer max_positions must be >= 1, got {self.max_positions}")

    def traits(self) -> set[str]:
        """Traits these options add to the family's: absolute codes added to the input."""
        return {"absolute_positions"} if self.positions in ("sinusoidal", "learned") else set()

    def check_length(self, length: int) -> None:
        """A learned table has no row past its end: refuse such a length, whatever asks for it."""
        if self.positions == "learned" and length > self.max_positions:
            raise ValueError(
                f"transformer with learned positions covers {self.max_positions} steps, got a sequence of {length}; "
                "raise max_positions (before training) or use positions=rope, nope or sinusoidal"
            )


def position_angles(positions: torch.Tensor, half: int) -> torch.Tensor:
    """(L, half) angles position * 10000^(-i/half), the frequencies shared by rotary and sinusoidal codes."""
    freqs = ROPE_BASE ** (-torch.arange(half, device=positions.device, dtype=torch.float32) / half)  # (half,)
    return positions.float()[:, None] * freqs


def sinusoidal(positions: torch.Tensor, width: int) -> torch.Tensor:
    """(L, D) fixed absolute code: sin and cos of position * 10000^(-2i/D) (Vaswani et al. 2017)."""
    angles = position_angles(positions, width // 2)  # (L, D/2)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def rotary(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotate (B, H, L, E) by angle position * frequency, pairing channel i with i + E/2 (GPT-NeoX style)."""
    half = x.shape[-1] // 2
    angles = position_angles(positions, half)  # (L, E/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, align: int | None = None
) -> torch.Tensor:
    """SDPA of (B, H, L, E) tensors, the head width zero-padded to ``align`` (default: 8 on CUDA, 1 on CPU)."""
    if align is None:
        align = CUDA_HEAD_ALIGN if q.is_cuda else 1
    width = q.shape[-1]
    pad = -width % align
    with sdpa_kernel(FUSED_OR_MATH) if q.is_cuda else contextlib.nullcontext():
        if pad == 0:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        q, k, v = (F.pad(t, (0, pad)) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=width**-0.5)
    return y[..., :width]


class KVCache(NamedTuple):
    """One attention layer's keys and values so far: ``length`` steps filled in buffers of spare capacity.

    ``append`` writes into the buffers in place and returns the cache one step longer, so the
    cache passed in is consumed: stepping twice from the same cache (e.g. to branch a stream)
    needs a copy of the buffers first. The in-place write also means streaming is for
    inference: autograd cannot backpropagate through a buffer that later steps overwrite.
    """

    keys: torch.Tensor  # (B, H, M, E)
    values: torch.Tensor  # (B, H, M, E)
    length: int  # S, the steps filled

    @classmethod
    def empty(cls, like: torch.Tensor, batch_size: int, heads: int, head_width: int) -> KVCache:
        """A cache with no steps, on the device and dtype of ``like``."""
        buffer = like.new_empty(batch_size, heads, INITIAL_CACHE_STEPS, head_width)  # (B, H, M, E)
        return cls(buffer, torch.empty_like(buffer), 0)

    def append(self, k: torch.Tensor, v: torch.Tensor) -> KVCache:
        """Add one step's (B, H, 1, E) key and value, doubling the buffers when they are full."""
        keys, values = self.keys, self.values
        if self.length == keys.shape[2]:
            # Doubling copies each step O(1) times over the stream; growing by one (torch.cat) copies
            # the whole cache every step, O(S^2) in all.
            keys, values = _doubled(keys, self.length), _doubled(values, self.length)
        keys[:, :, self.length : self.length + 1] = k
        values[:, :, self.length : self.length + 1] = v
        return KVCache(keys, values, self.length + 1)

    def filled(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Views of the filled steps, (B, H, S, E) each; nothing is copied."""
        return self.keys[:, :, : self.length], self.values[:, :, : self.length]


def _doubled(buffer: torch.Tensor, length: int) -> torch.Tensor:
    """A buffer of twice the capacity, (B, H, 2M, E), holding the first ``length`` steps of ``buffer``."""
    B, H, M, E = buffer.shape
    grown = buffer.new_empty(B, H, 2 * M, E)
    grown[:, :, :length] = buffer[:, :, :length]
    return grown


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, rope: bool = True):
        super().__init__()
        self.heads = heads
        self.rope = rope
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def project(self, h: torch.Tensor, positions: torch.Tensor):
        qkv = rearrange(self.qkv(h), "b l (three h e) -> three b h l e", three=3, h=self.heads)
        q, k, v = qkv.unbind(0)  # each (B, H, L, E)
        if not self.rope:
            return q, k, v
        return rotary(q, positions), rotary(k, positions), v

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        q, k, v = self.project(h, torch.arange(h.shape[1], device=h.device))
        y = attention(q, k, v, causal=True)  # (B, H, L, E)
        return self.out(rearrange(y, "b h l e -> b l (h e)"))

    def step(self, h_t: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        position = torch.tensor([cache.length], device=h_t.device)
        q, k, v = self.project(h_t.unsqueeze(1), position)  # (B, H, 1, E)
        cache = cache.append(k, v)
        keys, values = cache.filled()  # (B, H, S, E) each
        # One query attends to every cached step, all of them in its past: no mask needed.
        y = attention(q, keys, values, causal=False)  # (B, H, 1, E)
        return self.out(rearrange(y, "b h 1 e -> b (h e)")), cache


class Block(nn.Module):
    def __init__(self, width: int, options: TransformerOptions):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, options.heads, rope=options.positions == "rope")
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, options.mlp_ratio * width), nn.GELU(), nn.Linear(options.mlp_ratio * width, width)
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.attn(self.norm1(h))
        return h + self.mlp(self.norm2(h))

    def step(self, h_t: torch.Tensor, cache):
        a, cache = self.attn.step(self.norm1(h_t), cache)
        h_t = h_t + a
        return h_t + self.mlp(self.norm2(h_t)), cache


class TransformerBackbone(nn.Module):
    def __init__(self, width: int, options: TransformerOptions):
        super().__init__()
        self.heads = options.heads
        self.options = options
        self.blocks = nn.ModuleList(Block(width, options) for _ in range(options.layers))
        self.table = nn.Embedding(options.max_positions, width) if options.positions == "learned" else None

    @staticmethod
    def width_multiple(options: TransformerOptions) -> int:
        return 2 * options.heads  # heads divide the width, and rotary pairs channels within a head

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.absolute(0, h.shape[1], h)
        for block in self.blocks:
            h = block(h)
        return h

    def absolute(self, start: int, length: int, like: torch.Tensor) -> torch.Tensor | float:
        """What absolute encodings add to steps ``start .. start + length - 1``: (length, D), or 0 (rope, nope)."""
        if self.options.positions in ("rope", "nope"):
            return 0.0
        self.options.check_length(start + length)
        positions = torch.arange(start, start + length, device=like.device)
        if self.table is not None:
            return self.table(positions)
        return sinusoidal(positions, like.shape[-1]).to(like.dtype)

    def init_state(self, batch_size: int) -> list[KVCache]:
        weight = self.blocks[0].attn.qkv.weight
        head_width = weight.shape[1] // self.heads
        return [KVCache.empty(weight, batch_size, self.heads, head_width) for _ in self.blocks]

    def step(self, h_t: torch.Tensor, state):
        return step_blocks(self.blocks, h_t + self.absolute(state[0].length, 1, h_t), state)
