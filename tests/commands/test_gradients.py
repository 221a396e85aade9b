"""Gradient flow through time (`python -m bench gradients`): the measurement against a direct autograd
computation, the curve's summary, and the command over a folder of trained runs.

Its verdicts are in ``tests/analysis/test_gradients.py``, its report section in ``tests/report/test_gradients.py``,
the checkpoints it reads in ``tests/store/test_checkpoints.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import models
from bench.analysis.gradients import STATES
from bench.commands.gradients import curve_summary, final_step_loss, gradient_by_distance
from bench.store.files import GRADIENTS_FILE, SCHEMAS
from bench.store.jsonl import append_record, read_records
from tests.helpers import TINY_PARAMS, generator, quick_task

# ---- the measurement ---------------------------------------------------------------------------------


class Given(torch.nn.Module):
    """Stands in for the encoder: returns a tensor made beforehand, whatever the input."""

    def __init__(self, h: torch.Tensor):
        super().__init__()
        self.h = h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h


def direct_gradient_norms(model: models.SequenceModel, batch) -> np.ndarray:
    """The reference: the backbone's input made by hand as a leaf, one sequence at a time."""
    encoder, norms = model.encoder, []
    for b in range(batch.x.shape[0]):
        x = batch.x[b : b + 1]
        h = encoder(x).detach().requires_grad_(True)  # (1, L, D)
        model.encoder = Given(h)
        (grad,) = torch.autograd.grad(final_step_loss(model(x), batch.y[b : b + 1], model.spec), h)
        norms.append(grad[0].norm(dim=-1))  # (L,)
    model.encoder = encoder
    return torch.stack(norms).mean(dim=0).flip(0).numpy()


@pytest.mark.parametrize("task_name", ["adding", "copying"])
def test_gradient_by_distance_matches_a_direct_autograd_computation(model_name, task_name):
    task = quick_task(task_name)
    torch.manual_seed(0)
    model = models.build_model(model_name, task.spec, target_params=TINY_PARAMS).double().eval()
    batch = task.sample(3, 12, generator=generator(1))
    if batch.x.is_floating_point():
        batch = batch._replace(x=batch.x.double(), y=batch.y.double())
    measured = gradient_by_distance(model, batch)
    assert measured.shape == (task.total_length(12),)
    np.testing.assert_allclose(measured, direct_gradient_norms(model, batch), rtol=1e-9, atol=1e-300)
    assert (measured > 0).all()  # every step reaches the final output of a causal model


def test_the_final_step_loss_is_per_sequence_so_sequences_do_not_mix():
    task = quick_task("adding")
    torch.manual_seed(0)
    model = models.build_model("gru", task.spec, target_params=TINY_PARAMS).double()
    batch = task.sample(4, 10, generator=generator(2))
    batch = batch._replace(x=batch.x.double(), y=batch.y.double())
    together = gradient_by_distance(model, batch)
    alone = [gradient_by_distance(model, batch._replace(x=batch.x[b : b + 1], y=batch.y[b : b + 1])) for b in range(4)]
    np.testing.assert_allclose(together, np.mean(alone, axis=0), rtol=1e-12)


def test_curve_summary_of_known_curves():
    distance = np.arange(101)
    exponential = curve_summary(10.0 ** (-0.05 * distance))  # 5 decades per 100 steps
    assert exponential["decay"] == pytest.approx(5.0)
    assert exponential["fit_r2"] == pytest.approx(1.0)
    assert exponential["reach"] == pytest.approx(-0.05 * 90, rel=0.05)  # farthest vs nearest tenth: ~90 steps apart
    flat = curve_summary(np.r_[100.0, np.ones(100)])  # a direct-path spike at d = 0 is not "through time"
    assert flat["decay"] == pytest.approx(0.0, abs=1e-12)
    assert flat["reach"] == pytest.approx(0.0, abs=1e-12)
    underflow = curve_summary(np.r_[1.0, 0.1, 0.01, 0.001, np.zeros(20)])  # the far end below float64's range
    assert underflow["decay"] == pytest.approx(100.0) and underflow["reach"] < -300  # a bound, still a decay


# ---- the command, over a folder of trained runs (its checkpoints) ---------------------------------------


@pytest.mark.slow
def test_gradients_command_measures_every_run_at_init_and_trained(trained_folder, cli):
    code = cli(["gradients", "--task", "copying", "--from", str(trained_folder), "--batch-size", "4",
                "--models", "rnn,ssm,lstm", "--no-progress", "--no-report"])  # fmt: skip
    assert code == 0
    records = read_records(trained_folder, GRADIENTS_FILE)
    runs = {(r["model"], r["seed"]): r for r in read_records(trained_folder)}
    trained = [r for r in records if r["trained_run_key"] is not None]
    assert sorted((r["model"], r["seed"], r["state"]) for r in trained) == sorted(
        (m, s, state) for m, s in runs for state in STATES
    )
    for record in trained:
        run = runs[(record["model"], record["seed"])]
        assert record["status"] == "ok" and record["trained_run_key"] == run["run_key"]
        assert len(record["grad_norm"]) == run["total_length"]
        assert record["clipped_frac"] == (run["clipped_frac"] if record["state"] == "trained" else None)
    untrained = [r for r in records if r["trained_run_key"] is None]
    assert [(r["model"], r["state"]) for r in untrained] == [("lstm", "init")] * 2  # two seeds, no lstm run


@pytest.mark.slow
def test_a_run_with_other_options_is_not_the_model_asked_for(trained_folder, tmp_path, cli):
    argv = ["gradients", "--task", "copying", "--from", str(trained_folder), "--models", "rnn", "--seeds", "0",
            "--option", "rnn.layers=2", "--batch-size", "2", "--out", str(tmp_path), "--no-progress",
            "--no-report"]  # fmt: skip
    assert cli(argv) == 0
    (record,) = read_records(tmp_path, GRADIENTS_FILE)
    assert (record["state"], record["trained_run_key"], record["model_options"]["layers"]) == ("init", None, 2)


def test_a_curve_that_fails_is_recorded(tmp_path, monkeypatch):
    import bench.commands.gradients
    from bench.commands.gradients import GradientJob
    from bench.engines.job import Context, execute

    def broken(model, batch):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(bench.commands.gradients, "gradient_by_distance", broken)
    job = GradientJob(task="adding", task_params={}, model="rnn", model_options=models.full_options("rnn", {}),
                      seq_len=5, seed=0, state="init", target_params=TINY_PARAMS, batch_size=2)  # fmt: skip
    (record,) = execute(job, Context(fresh_process=False, progress=False))
    assert record["status"] == "oom" and "allocate" in record["error"]
    assert record["model"] == "rnn" and record["schema"] == 1
    append_record(tmp_path, record, GRADIENTS_FILE)  # a plain record, stored and read back like every other
    assert read_records(tmp_path, GRADIENTS_FILE) == [{**record, "schema": SCHEMAS[GRADIENTS_FILE]}]
