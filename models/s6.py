"""The S6 core of Mamba (Gu & Dao 2023, Algorithm 2) as one autograd function, forward and backward by hand.

The recurrence, per channel i and state n, from h_{-1} = 0:

    h_t = exp(Delta_t A) * h_{t-1} + (Delta_t x_t) B_t         (B, I, N) at every step
    y_t = h_t . C_t                                            (B, I)

Built from autograd's pieces (``models.scan``), training keeps four (B, L, I, N) tensors alive until the
backward: ``exp(Delta A)``, ``Delta B x``, the states and what the contraction with C saved. Here the forward
runs over T steps at a time and keeps only each chunk's first h, (B, L / T, I, N); the backward
walks the chunks from the last, rebuilding a chunk's ``exp(Delta A)``, ``Delta B x`` and states (cheap: one
exp, one product, one loop) before running the adjoint recurrence back through it:

    g_t = dy_t C_t + exp(Delta_{t+1} A) * g_{t+1}              dL/dh_t, (B, I, N), from g_L = 0
    dC_t = dy_t . h_t        d(Delta x)_t = g_t . B_t        dB_t = (Delta x)_t . g_t
    q_t = g_t * h_{t-1} * exp(Delta_t A)                       dL/d(Delta_t A)
    dDelta_t += q_t . A      dA = sum over batch and time of Delta_t q_t

The loops over time update one (B, I, N) slice in place; the reductions over I or N that C, B and Delta x
share across channels are batched matrix products over (T B), the two through A (per channel) a multiply and
a sum. The official CUDA kernel works the same way (it saves the state at chunk boundaries and recomputes
the rest in its backward); this is that plan in PyTorch's CPU operations.

Dimension letters: ``B`` batch, ``L`` length, ``I`` inner channels, ``N`` state size, ``T`` steps of a chunk,
``J`` chunks. Inside a chunk, broadcasts are written as indexing (``[..., None]``) with the shapes in comments,
not einops: they run once a chunk, and einops' per-call cost was 3-4% of the core at 20k parameters.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange

# The elements of a chunk's (T, B, I, N) tensors: T is chosen so each holds about this many (2 MiB in fp32),
# so that the passes over a chunk find it in cache. On the 2-core CPU this was developed on (1 MiB of L2),
# Mamba's mixer at L = 1024, one thread, ran fwd + bwd 1.1-1.2x faster with chunks of 2^19 elements than of
# 256 steps (2M elements at 20k parameters), and no faster with smaller ones.
CHUNK_ELEMENTS = 2**19

# exp(Delta A) is computed as 2^(Delta A log2 e): on that CPU, over one chunk's (66, 8, 62, 16) fp32 tensor on one
# thread, torch's exp2 took 281 us against exp's 547, and exp was the core's costliest operation (it runs twice,
# forward and rebuild).
LOG2_E = 1 / math.log(2)


# torch.compile would unroll the loops over time into a graph of thousands of nodes: the core stays eager, and
# what surrounds it (projections, conv, gates) compiles.
@torch.compiler.disable
def s6(x: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``y_t = C_t . h_t`` of the S6 recurrence, (B, L, I) from x and Delta (B, L, I), A (I, N), B and C (B, L, N)."""
    steps = max(1, CHUNK_ELEMENTS // (x.shape[0] * A.numel()))  # T: a chunk's (T, B, I, N) near CHUNK_ELEMENTS
    return S6Function.apply(x, delta, A, b, c, steps)[0]


class S6Function(torch.autograd.Function):
    """The chunked S6 recurrence with its hand-written backward; saves the inputs and one h per chunk.

    Inside, time is the leading dimension: a step's (B, I, N) slice is contiguous, and so is the (T B) batch of
    the small matrix products that do the reductions. The (B, L, ...) inputs and outputs are only viewed time
    major, never copied: the first operation on a chunk reads them strided and writes a contiguous buffer.
    Returns y and the chunks' first states (not differentiable), which the backward starts each chunk's
    rebuild from."""

    @staticmethod
    def forward(x, delta, A, b, c, chunk):
        y = torch.empty_like(x)  # (B, L, I), written chunk by chunk through its time-major view
        h = x.new_zeros(x.shape[0], x.shape[2], A.shape[1])  # (B, I, N): h_{-1}
        a2 = A * LOG2_E  # (I, N)
        work = _Workspace(x, A, chunk)
        firsts = []
        for x_c, delta_c, b_c, c_c, y_c in _chunks(chunk, x, delta, b, c, y):
            firsts.append(h)
            _, states, _ = _chunk_states(x_c, delta_c, a2, b_c, h, work)  # (T + 1, B, I, N)
            h = states[-1].clone()  # (B, I, N): a copy, as the next chunk writes over the buffer
            y_c.copy_(_contract(c_c, states[1:]))  # (T, B, I)
        return y, torch.stack(firsts)  # (B, L, I), (J, B, I, N)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, delta, A, b, c, ctx.chunk = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(x, delta, A, b, c, output[1])

    @staticmethod
    def vmap(info, in_dims, x, delta, A, b, c, chunk):
        """Under torch.func.vmap (``run --pack``: one member per model), member by member: each has its own A."""
        def member(g):
            return [t if d is None else t.select(d, g) for t, d in zip((x, delta, A, b, c), in_dims, strict=False)]

        outputs = [S6Function.apply(*member(g), chunk) for g in range(info.batch_size)]
        return tuple(torch.stack(parts) for parts in zip(*outputs, strict=True)), (0, 0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy, _):
        x, delta, A, b, c, firsts = ctx.saved_tensors
        grads = [torch.empty_like(t) for t in (x, delta, b, c)]  # dx, dDelta, dB, dC, written chunk by chunk
        dA = torch.zeros_like(A)  # (I, N)
        a2 = A * LOG2_E  # (I, N)
        work = _Workspace(x, A, ctx.chunk)
        g_next = None  # exp(Delta_{t+1} A) g_{t+1} for the chunk's last step: what the chunk after sends back
        chunks = list(_chunks(ctx.chunk, x, delta, b, c, dy, *grads))
        for j in reversed(range(len(chunks))):
            x_c, delta_c, b_c, c_c, dy_c, *grads_c = chunks[j]
            a_bar, states, dx = _chunk_states(x_c, delta_c, a2, b_c, firsts[j], work)  # (T, B, I, N), (T + 1, ...)
            g = _adjoint(dy_c, c_c, g_next, work)  # (T, B, I, N)
            g_next = a_bar[0] * g[0]  # (B, I, N)
            dA += _chunk_gradients(g, states, a_bar, x_c, delta_c, b_c, dx, dy_c, A, grads_c, work)
        dx, ddelta, db, dc = grads
        return dx, ddelta, dA, db, dc, None


def _chunks(steps: int, *tensors: torch.Tensor):
    """(B, L, ...) tensors viewed time major, (L, B, ...), in pieces of ``steps`` steps, together."""
    return zip(*(rearrange(t, "b l ... -> l b ...").split(steps) for t in tensors), strict=True)


class _Workspace:
    """The (T, B, I, N) buffers one call's chunks write over in turn, allocated once.

    A fresh 2 MiB buffer a chunk cost more than the arithmetic on it: its pages are new to the process and
    fault in on first write (the allocator hands such sizes back to the system when freed). The buffers are
    contiguous, so a step's slice is too, whatever the layout of the strided time-major inputs."""

    def __init__(self, x: torch.Tensor, A: torch.Tensor, steps: int):
        shape = (min(steps, x.shape[1]), x.shape[0], *A.shape)  # (T, B, I, N)
        self.a_bar, self.g, self.scratch = (x.new_empty(shape) for _ in range(3))
        self.states = x.new_empty(shape[0] + 1, *shape[1:])  # (T + 1, B, I, N)
        self.dx = x.new_empty(shape[:3])  # (T, B, I)
        # Each buffer's (B, I, N) steps as views, made once: the loops over time would otherwise make them
        # chunk after chunk, and a view costs about as much as the step's arithmetic.
        self.steps = {name: getattr(self, name).unbind(0) for name in ("a_bar", "g", "states")}

    def take(self, name: str, steps: int, extra: int = 0) -> torch.Tensor:
        """The first ``steps + extra`` steps of buffer ``name``: the last chunk may be short."""
        return getattr(self, name)[: steps + extra]

    def views(self, name: str, steps: int) -> tuple[torch.Tensor, ...]:
        """The first ``steps`` steps of buffer ``name``, one (B, I, N) view each."""
        return self.steps[name][:steps]


def _chunk_states(x, delta, a2, b, h, work):
    """exp(Delta A), (T, B, I, N); h_{-1} and the chunk's states from it, (T + 1, B, I, N); Delta x, (T, B, I).

    ``a2`` is A log2(e) (see ``LOG2_E``); the three are views of ``work``'s buffers."""
    a_bar = work.take("a_bar", len(x))  # (T, B, I, N)
    torch.mul(delta[..., None], a2, out=a_bar).exp2_()  # (T, B, I, 1) x (I, N)
    dx = torch.mul(delta, x, out=work.take("dx", len(x)))  # (T, B, I)
    states = work.take("states", len(x), extra=1)  # (T + 1, B, I, N): slot 0 is h_{-1}, slot t + 1 is h_t
    states[0] = h
    torch.mul(dx[..., None], b[:, :, None], out=states[1:])  # (T, B, I, 1) x (T, B, 1, N): Delta_t x_t B_t
    steps = work.views("states", len(x) + 1)
    for h_prev, a_t, h_t in zip(steps[:-1], work.views("a_bar", len(x)), steps[1:], strict=True):
        h_t.addcmul_(a_t, h_prev)  # (B, I, N): h_t, written over Delta_t x_t B_t
    return a_bar, states, dx


def _contract(c: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``c_t . m_t`` over N for every channel: (T, B, N), (T, B, I, N) -> (T, B, I).

    A (1, N) x (N, I) product per (t, b), m read transposed: BLAS takes the transpose as a flag, and this
    ran 2-4x faster than (I, N) x (N, 1) products or a multiply and a sum over the short last dimension."""
    return (c[:, :, None] @ m.transpose(-1, -2)).squeeze(-2)  # (T, B, 1, N) @ (T, B, N, I) -> (T, B, I)


def _adjoint(dy, c, g_next, work):
    """g_t = dy_t C_t + exp(Delta_{t+1} A) g_{t+1} back through a chunk, in place in ``work``: (T, B, I, N).

    Reads exp(Delta A) from ``work``'s buffer, where ``_chunk_states`` left it."""
    g = torch.mul(dy[..., None], c[:, :, None], out=work.take("g", len(dy)))  # (T, B, I, 1) x (T, B, 1, N)
    steps = work.views("g", len(dy))  # g_t starts as dy_t C_t
    if g_next is not None:
        steps[-1].add_(g_next)
    later = work.views("a_bar", len(dy))[1:]  # exp(Delta_{t+1} A) for t = 0 .. T - 2
    for g_t, a_next, g_after in zip(steps[-2::-1], later[::-1], steps[:0:-1], strict=True):
        g_t.addcmul_(a_next, g_after)  # (B, I, N)
    return g


def _chunk_gradients(g, states, a_bar, x, delta, b, dx, dy, A, grads, work):
    """dx, dDelta, dB, dC of one chunk, written into ``grads`` (T, B, ...) views; returns its share of dA, (I, N)."""
    grad_x, grad_delta, grad_b, grad_c = grads
    grad_c.copy_((dy[:, :, None] @ states[1:]).squeeze(-2))  # (T, B, 1, I) @ (T, B, I, N): dy_t . h_t over I
    d_dx = _contract(b, g)  # (T, B, I): g_t . B_t over N
    grad_b.copy_((dx[:, :, None] @ g).squeeze(-2))  # (T, B, 1, I) @ (T, B, I, N): (Delta x)_t . g_t over I
    q = g.mul_(states[:-1]).mul_(a_bar)  # (T, B, I, N): dL/d(Delta_t A), written over g (no longer needed)
    # q_t . A over N as a multiply and a product with ones: 1.5x faster than linalg.vecdot over the short N.
    q_a = torch.mul(q, A, out=work.take("scratch", len(q))).view(-1, A.shape[1]) @ q.new_ones(A.shape[1])
    grad_delta.copy_(q_a.view_as(d_dx) + d_dx * x)  # (T, B, I)
    grad_x.copy_(d_dx * delta)  # (T, B, I)
    return q.mul_(delta[..., None]).sum((0, 1))  # (T, B, I, N) x (T, B, I, 1), summed to (I, N): q consumed
