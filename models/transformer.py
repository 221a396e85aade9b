"""A small pre-norm causal Transformer with rotary positions.

Attention goes through ``F.scaled_dot_product_attention(..., is_causal=True)`` with no
materialised mask and no attention dropout, which keeps the fused kernels whose memory
grows linearly in L (DESIGN.md §3). Rotary position encoding (Su et al. 2021, RoFormer)
rotates queries and keys by their absolute position, so relative offsets enter the
scores and nothing limits the length. Streaming uses a key/value cache.

Defaults: 2 layers, 2 heads, MLP ratio 4, GELU.

Dimension letters: ``B`` batch, ``L`` length, ``D`` width, ``H`` heads, ``E`` head width
(D = H * E), ``S`` cached length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from models.base import step_blocks

ROPE_BASE = 10_000.0


@dataclass(frozen=True)
class TransformerOptions:
    layers: int = 2
    heads: int = 2
    mlp_ratio: int = 4


def rotary(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotate (B, H, L, E) by angle position * frequency, pairing channel i with i + E/2 (GPT-NeoX style)."""
    half = x.shape[-1] // 2
    freqs = ROPE_BASE ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)  # (E/2,)
    angles = positions.float()[:, None] * freqs  # (L, E/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def project(self, h: torch.Tensor, positions: torch.Tensor):
        qkv = rearrange(self.qkv(h), "b l (three h e) -> three b h l e", three=3, h=self.heads)
        q, k, v = qkv.unbind(0)  # each (B, H, L, E)
        return rotary(q, positions), rotary(k, positions), v

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        q, k, v = self.project(h, torch.arange(h.shape[1], device=h.device))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, L, E)
        return self.out(rearrange(y, "b h l e -> b l (h e)"))

    def step(self, h_t: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor]):
        keys, values = cache  # (B, H, S, E) each
        position = torch.tensor([keys.shape[2]], device=h_t.device)
        q, k, v = self.project(h_t.unsqueeze(1), position)  # (B, H, 1, E)
        keys, values = torch.cat([keys, k], dim=2), torch.cat([values, v], dim=2)
        # One query attends to every cached step, all of them in its past: no mask needed.
        y = F.scaled_dot_product_attention(q, keys, values)  # (B, H, 1, E)
        return self.out(rearrange(y, "b h 1 e -> b (h e)")), (keys, values)


class Block(nn.Module):
    def __init__(self, width: int, options: TransformerOptions):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, options.heads)
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
        self.blocks = nn.ModuleList(Block(width, options) for _ in range(options.layers))

    @staticmethod
    def width_multiple(options: TransformerOptions) -> int:
        return 2 * options.heads  # heads divide the width, and rotary pairs channels within a head

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h)
        return h

    def init_state(self, batch_size: int):
        weight = self.blocks[0].attn.qkv.weight
        head_width = weight.shape[1] // self.heads
        empty = weight.new_zeros(batch_size, self.heads, 0, head_width)  # (B, H, 0, E)
        return [(empty, empty) for _ in self.blocks]

    def step(self, h_t: torch.Tensor, state):
        return step_blocks(self.blocks, h_t, state)
