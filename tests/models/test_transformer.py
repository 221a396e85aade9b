"""The Transformer: its KV cache, head padding for the fused kernels, and its position encodings (each streams
like its full forward; a learned table refuses lengths past its end; only the learned one adds parameters)."""

from __future__ import annotations

import pytest
import torch

import models
import tasks
from models.transformer import INITIAL_CACHE_STEPS, attention
from tests.helpers import build, random_inputs

# ---- the KV cache and attention ------------------------------------------------------------------


def test_kv_cache_grows_by_doubling(gen):
    model, task = build("transformer", "copying", layers=1)
    x = random_inputs(task.spec, 2, 100, gen(8))
    with torch.no_grad():
        state, reallocations = model.init_state(2), 0
        for x_t in x.unbind(1):
            buffer = state[0].keys
            _, state = model.step(x_t, state)
            reallocations += state[0].keys is not buffer
    assert [cache.length for cache in state] == [100] * len(state)
    capacity, doublings = INITIAL_CACHE_STEPS, 0
    while capacity < 100:
        capacity, doublings = 2 * capacity, doublings + 1
    assert state[0].keys.shape[2] == capacity
    assert reallocations == doublings  # appends write in place; the buffer is replaced only when full


@pytest.mark.parametrize("causal", [True, False])
def test_padded_attention_heads_give_the_same_output(causal, gen):
    # On CUDA heads are zero-padded to a multiple of 8 so the fused kernels accept them; the result must not change.
    q, k, v = (torch.randn(2, 2, 9, 14, generator=gen(10 + i)) for i in range(3))
    torch.testing.assert_close(attention(q, k, v, causal, align=8), attention(q, k, v, causal, align=1))


# ---- position encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize("positions", ["rope", "nope", "sinusoidal", "learned"])
def test_every_position_encoding_streams_like_its_full_forward(positions, gen):
    model = models.build_model("transformer", tasks.get_task("copying").spec, width=16, positions=positions)
    model.eval()
    x = torch.randint(0, 10, (2, 23), generator=gen(0))
    with torch.no_grad():
        full, state, steps = model(x), model.init_state(2), []
        for x_t in x.unbind(1):
            y_t, state = model.step(x_t, state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-4 * full.abs().max().item(), rtol=0)


def test_a_learned_table_refuses_lengths_past_its_end(gen):
    model = models.build_model("transformer", tasks.get_task("copying").spec, width=16, positions="learned",
                               max_positions=30)  # fmt: skip
    model(torch.randint(0, 10, (1, 30), generator=gen(0)))  # its last row is allowed
    with pytest.raises(ValueError, match="covers 30 steps, got a sequence of 31"):
        model(torch.randint(0, 10, (1, 31), generator=gen(0)))


def test_position_encodings_other_than_learned_add_no_parameters():
    spec = tasks.get_task("copying").spec
    counts = {p: models.count_parameters(models.build_model("transformer", spec, width=16, positions=p))
              for p in ("rope", "nope", "sinusoidal")}  # fmt: skip
    assert len(set(counts.values())) == 1
