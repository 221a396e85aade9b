"""Scans of the diagonal linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (``h_{-1} = 0``), pure PyTorch.

Time is dim 1; any trailing shape is carried along elementwise, so one call scans every
channel (and state) of a batch at once. Three forms of the same map:

- ``linear_scan(a, b)``: recursive doubling, generalised to blocks of T steps. The recurrence's
  steps compose associatively, ``(a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2)``: compose each block of
  T neighbours into one step, scan the L / T blocks recursively (which yields h at every block's last
  step), then fill in the other T - 1 steps of each block from the block before. T = 2 is recursive
  doubling (pair neighbours, scan the half-length sequence, fill in the other half). Depth
  O(T log L / log T), work O(L) and memory O(L) (the levels shrink geometrically), every tensor made
  out of place so autograd differentiates it as it stands. Any L: a length that is not a whole number
  of blocks scans its whole blocks and fills in the last L mod T steps from them; below 2 T steps it
  loops. ``BLOCK_STEPS`` = 8, not 2: on CPU every level writes its sequence out once more (the
  interleaving ``stack``), and fewer levels made Mamba's training step (when it ran on this scan) 1.3x
  faster at L = 4096 (batch 8, 20k parameters, one thread: 1.8 -> 1.4 s), with no change where the state
  is small (minGRU).
- ``log_space_scan(log_a, log_b)``: for positive a and b (minGRU / minLSTM; Heinsen 2023,
  "Efficient Parallelization of a Ubiquitous Sequential Computation"):
  ``h = exp(a* + logcumsumexp(log_b - a*))`` with ``a* = cumsum(log_a)`` along time: two
  cumulative ops, no recursion.
- ``sequential_scan(a, b)``: the loop, one step at a time: the reference the others are tested
  against, and what the families' ``path="recurrence"`` runs.

Dimension letters: ``B`` batch, ``L`` length, ``...`` any trailing shape, ``T`` the steps of a block,
``J`` = L / T blocks.
"""

from __future__ import annotations

import torch

BLOCK_STEPS = 8  # T, the steps each level of linear_scan composes; 2 is recursive doubling


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """x in fp32 if it is narrower (bf16 under autocast), as it is otherwise (fp32, or fp64 in gradient checks)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def sequential_scan(a: torch.Tensor, b: torch.Tensor, initial: torch.Tensor | None = None) -> torch.Tensor:
    """``h_t = a_t h_{t-1} + b_t`` step by step, (B, L, ...) -> (B, L, ...); ``initial`` is h_{-1}, (B, ...)."""
    h, steps = (torch.zeros_like(b[:, 0]) if initial is None else initial), []
    # unbind once: indexing a[:, t] per step makes the backward pass quadratic in L (docs/design.md)
    for a_t, b_t in zip(a.unbind(1), b.unbind(1), strict=True):
        h = torch.addcmul(b_t, a_t, h)  # (B, ...)
        steps.append(h)
    return torch.stack(steps, dim=1)  # (B, L, ...)


def linear_scan(a: torch.Tensor, b: torch.Tensor, initial: torch.Tensor | None = None) -> torch.Tensor:
    """``h_t = a_t h_{t-1} + b_t`` by recursive blocking, (B, L, ...) -> (B, L, ...); ``initial``: h_{-1}, (B, ...)."""
    length, T = a.shape[1], BLOCK_STEPS
    if length < 2 * T:
        return sequential_scan(a, b, initial)
    if length % T:  # the last L mod T steps: filled in, one by one, from the scan of the rest
        whole = length - length % T
        h = linear_scan(a[:, :whole], b[:, :whole], initial)  # (B, L - L mod T, ...)
        return torch.cat([h, sequential_scan(a[:, whole:], b[:, whole:], h[:, -1])], dim=1)  # (B, L, ...)
    # Views, not strided slices: unbind's backward stacks the T parts' gradients into one tensor, where a
    # strided slice's would zero-fill and add a full-length tensor per slice.
    a_parts = a.unflatten(1, (length // T, T)).unbind(2)  # T of (B, J, ...): step t of every block
    b_parts = b.unflatten(1, (length // T, T)).unbind(2)  # T of (B, J, ...)
    # Compose each block's T steps: (a, b) o (a', b') = (a a', a' b + b').
    a_block, b_block = a_parts[0], b_parts[0]  # (B, J, ...) each
    for a_t, b_t in zip(a_parts[1:], b_parts[1:], strict=True):
        a_block, b_block = a_block * a_t, torch.addcmul(b_t, a_t, b_block)
    # The blocks' scan, from the same h_{-1}, is h at every block's last step.
    h_last = linear_scan(a_block, b_block, initial)  # (B, J, ...)
    # Each block's other steps follow the last step of the block before it; block 0 follows h_{-1}.
    first = torch.zeros_like(h_last[:, :1]) if initial is None else initial.unsqueeze(1)  # (B, 1, ...)
    h = torch.cat([first, h_last[:, :-1]], dim=1)  # (B, J, ...)
    steps = []
    for a_t, b_t in zip(a_parts[:-1], b_parts[:-1], strict=True):
        h = torch.addcmul(b_t, a_t, h)  # (B, J, ...)
        steps.append(h)
    return torch.stack([*steps, h_last], dim=2).flatten(1, 2)  # (B, L, ...): block by block, step by step


def log_space_scan(log_a: torch.Tensor, log_b: torch.Tensor) -> torch.Tensor:
    """``h_t = a_t h_{t-1} + b_t`` for positive a and b given as logs, (B, L, ...) -> (B, L, ...) (h, not its log).

    ``h_t = sum_{s <= t} b_s prod_{s < r <= t} a_r = exp(a*_t + log sum_{s <= t} exp(log b_s - a*_s))``."""
    a_star = torch.cumsum(log_a, dim=1)  # (B, L, ...): log of prod_{r <= t} a_r
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))  # (B, L, ...)
