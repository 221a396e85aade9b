"""The scans of ``h_t = a_t h_{t-1} + b_t``: recursive doubling and the log-space form against the loop, in
value and in gradient, at odd and even lengths and any trailing shape."""

from __future__ import annotations

import pytest
import torch

import models.scan
from models.scan import linear_scan, log_space_scan, sequential_scan

# Short enough to loop, a whole number of blocks, blocks and a remainder, and recursion two levels deep.
LENGTHS = [1, 2, 3, 5, 8, 13, 16, 64, 100, 777]
TRAILING = [(), (3,), (2, 3)]


def coefficients(length: int, trailing: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """a in (0, 1), b of either sign: (B, L, ...) float64, requiring gradients."""
    generator = torch.Generator().manual_seed(seed)
    shape = (2, length, *trailing)
    a = torch.rand(shape, generator=generator, dtype=torch.float64)
    b = torch.randn(shape, generator=generator, dtype=torch.float64)
    return a.requires_grad_(), b.requires_grad_()


def value_and_gradients(scan, *inputs: torch.Tensor, seed: int = 99):
    """The scan's output and the gradients of a random projection of it with respect to every input."""
    h = scan(*inputs)
    weights = torch.randn(h.shape, generator=torch.Generator().manual_seed(seed), dtype=h.dtype)
    return h, torch.autograd.grad((h * weights).sum(), inputs)


def test_sequential_scan_is_the_recurrence():
    a = torch.tensor([[0.5, 0.25, 2.0]], dtype=torch.float64)  # (B, L)
    b = torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64)
    # h_0 = 1, h_1 = 0.25 * 1 - 2 = -1.75, h_2 = 2 * -1.75 + 3 = -0.5
    torch.testing.assert_close(sequential_scan(a, b), torch.tensor([[1.0, -1.75, -0.5]], dtype=torch.float64))


@pytest.mark.parametrize("block", [2, 3, models.scan.BLOCK_STEPS])  # 2: recursive doubling
@pytest.mark.parametrize("trailing", TRAILING)
@pytest.mark.parametrize("length", LENGTHS)
def test_linear_scan_matches_the_loop(length, trailing, block, monkeypatch):
    monkeypatch.setattr(models.scan, "BLOCK_STEPS", block)
    a, b = coefficients(length, trailing, seed=length)
    h, grads = value_and_gradients(linear_scan, a, b)
    h_ref, grads_ref = value_and_gradients(sequential_scan, a, b)
    assert h.shape == (2, length, *trailing)
    torch.testing.assert_close(h, h_ref)
    for grad, grad_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(grad, grad_ref)


@pytest.mark.parametrize("scan", [linear_scan, sequential_scan])
@pytest.mark.parametrize("length", [1, 6, 7, 40, 131])
def test_an_initial_state_continues_the_scan(scan, length):
    # Scanning [prefix, rest] in one go equals scanning rest from the prefix's last h, gradients included.
    a, b = coefficients(length + 3, (4,), seed=7)
    whole, grads_whole = value_and_gradients(sequential_scan, a, b)

    def continued(a, b):
        prefix = sequential_scan(a[:, :3], b[:, :3])
        return torch.cat([prefix, scan(a[:, 3:], b[:, 3:], prefix[:, -1])], dim=1)

    h, grads = value_and_gradients(continued, a, b)
    torch.testing.assert_close(h, whole)
    for grad, grad_ref in zip(grads, grads_whole, strict=True):
        torch.testing.assert_close(grad, grad_ref)


@pytest.mark.parametrize("trailing", TRAILING)
@pytest.mark.parametrize("length", [1, 2, 7, 64, 101])
def test_log_space_scan_matches_the_linear_scan_on_positive_inputs(length, trailing):
    a, b = coefficients(length, trailing, seed=length + 1)
    b = (b.detach().abs() + 0.1).requires_grad_()
    h_ref, (grad_a_ref, grad_b_ref) = value_and_gradients(linear_scan, a, b)
    log_a, log_b = (t.detach().log().requires_grad_() for t in (a, b))
    h, (grad_log_a, grad_log_b) = value_and_gradients(log_space_scan, log_a, log_b)
    torch.testing.assert_close(h, h_ref)
    # d/d(log x) = x d/dx
    torch.testing.assert_close(grad_log_a, grad_a_ref * a.detach())
    torch.testing.assert_close(grad_log_b, grad_b_ref * b.detach())


def test_log_space_scan_survives_gates_that_forget_everything():
    # log a of -1000 underflows a to 0 in linear space; the log-space form still gives h_t = b_t.
    log_a = torch.full((1, 50, 2), -1000.0, dtype=torch.float64)
    log_b = torch.randn(1, 50, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(log_space_scan(log_a, log_b), log_b.exp())


def test_linear_scan_keeps_fp32_close_to_fp64_over_long_sequences():
    a, b = coefficients(4096, (8,), seed=5)
    reference = sequential_scan(a.detach(), b.detach())
    h = linear_scan(a.detach().float(), b.detach().float())
    assert h.dtype == torch.float32
    torch.testing.assert_close(h.double(), reference, atol=1e-5 * reference.abs().max().item(), rtol=0)
