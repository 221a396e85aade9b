"""float64 end to end: ``bench gradients`` measures decays past float32's floor in float64, which holds only if
no family rounds to float32 on the way (a ``.float()`` inside a layer would floor every gradient near 1e-9)."""

from __future__ import annotations

import torch

from tests.helpers import build


def test_every_family_differentiates_in_float64(model_name, gen):
    # A directional derivative by central differences at a step of 1e-7 agrees with autograd's to ~1e-9 in
    # float64; a detour through float32 (resolution 6e-8) rounds the step itself away and misses by percents.
    model, task = build(model_name, "copying", layers=1)
    model = model.double().eval()
    batch = task.sample(2, 12, generator=gen(1))
    direction = torch.randn(*batch.x.shape[:2], model.width, generator=gen(2), dtype=torch.float64)
    weights = torch.randn(*batch.x.shape[:2], task.spec.output_size, generator=gen(3), dtype=torch.float64)
    shift = torch.zeros((), dtype=torch.float64, requires_grad=True)

    def loss(step) -> torch.Tensor:
        hook = model.encoder.register_forward_hook(lambda module, args, out: out + step * direction)
        try:
            output = model(batch.x, batch.y)  # the targets, for a family that feeds them back
        finally:
            hook.remove()
        assert output.dtype == torch.float64
        return (output * weights).sum()

    (exact,) = torch.autograd.grad(loss(shift), shift)
    eps = 1e-7
    with torch.no_grad():
        central = (loss(eps) - loss(-eps)) / (2 * eps)
    torch.testing.assert_close(central, exact.detach(), rtol=1e-6, atol=1e-9 * weights.abs().sum().item())
