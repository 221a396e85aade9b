"""Gradient flow through time (`python -m bench gradients`) and the run checkpoints it reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import models
from bench.analysis.gradients import STATES, gradient_verdicts
from bench.commands.gradients import curve_summary, final_step_loss, gradient_by_distance
from bench.measure.seeds import split_generator
from bench.store.checkpoints import initial_model, initial_model_of, record_task, trained_model_of
from bench.store.files import CHECKPOINT_DIR, GRADIENTS_FILE
from bench.store.folder import ResultsFolder
from bench.store.jsonl import append_record, read_records
from bench.train.evaluate import evaluate, make_eval_set
from tests.conftest import TINY_PARAMS, generator, quick_task


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


def _records(reach: dict[str, float], decay: dict[str, float], state: str = "trained") -> pd.DataFrame:
    """Curves of the named families at T=100, with their traits."""
    rows = [{"model": m, "reach": reach[m], "decay": decay[m], "model_traits": models.model_traits(m, {})}
            for m in reach]  # fmt: skip
    return pd.DataFrame(rows).assign(seq_len=100, state=state, status="ok", fit_r2=0.99)


def test_verdicts_confirm_contradict_and_say_what_was_not_measured():
    expected = _records(
        {"rnn": -10, "lstm": -1, "gru": -1.5, "ssm": -0.3, "transformer": 0.2},
        {"rnn": 10, "lstm": 1, "gru": 1.5, "ssm": 0.3, "transformer": -0.2},
    )
    assert [v["verdict"] for v in gradient_verdicts(expected)] == ["confirmed"] * 3
    opposite = _records(
        {"rnn": 0.0, "lstm": -10, "gru": -10, "ssm": -5, "transformer": -3},
        {"rnn": 0.1, "lstm": 10, "gru": 10, "ssm": 5, "transformer": 3},
    )
    assert [v["verdict"] for v in gradient_verdicts(opposite)] == ["contradicted"] * 3
    rising = _records({"rnn": -10, "ssm": -0.5, "transformer": 2.4}, {"rnn": 10, "ssm": 0.5, "transformer": -9})
    assert gradient_verdicts(rising)[2]["verdict"] == "confirmed"  # a gradient that grows toward the answer
    only_rnn = _records({"rnn": -10}, {"rnn": 10}, state="init")
    assert [v["verdict"] for v in gradient_verdicts(only_rnn)] == ["confirmed", "not measured", "not measured"]


# ---- end to end: a run keeps its weights; gradients reads them ----------------------------------


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, cli, tiny_args) -> Path:
    out = tmp_path_factory.mktemp("trained") / "results"
    assert cli(tiny_args(out, "copying", "--models", "rnn,ssm", "--seeds", "0,1")) == 0
    return out


def test_a_run_keeps_its_final_weights_and_they_give_its_test_metrics(trained_folder):
    records = read_records(trained_folder)
    for record in records:
        assert (trained_folder / CHECKPOINT_DIR / record["checkpoint"]).is_file()
        task = record_task(record)
        test_set = make_eval_set(
            task,
            record["test_size"],
            record["seq_len"],
            split_generator(record["seed"], "test", record["variant"], record["seq_len"], "cpu"),
        )
        metrics = evaluate(trained_model_of(record, trained_folder), task, test_set)
        assert metrics["loss"] == pytest.approx(record["test_loss"], rel=1e-5)
        initial = initial_model_of(record)
        assert models.count_parameters(initial) == record["n_params"]
        assert evaluate(initial, task, test_set)["loss"] != pytest.approx(record["test_loss"], rel=1e-5)


def test_the_initial_weights_are_the_ones_the_run_started_from(tmp_path, cli, tiny_args, monkeypatch):
    import bench.sweep.training

    started = {}

    def keep_a_copy(name, spec, **kwargs):
        model = initial_model(name, spec, **kwargs)
        started[name] = {key: value.clone() for key, value in model.state_dict().items()}
        return model

    monkeypatch.setattr(bench.sweep.training, "initial_model", keep_a_copy)
    assert cli(tiny_args(tmp_path / "r", "adding", "--models", "gru,seq2seq", "--seeds", "3")) == 0
    for record in read_records(tmp_path / "r"):
        rebuilt = initial_model_of(record).state_dict()
        assert rebuilt.keys() == started[record["model"]].keys()
        assert all(torch.equal(rebuilt[key], started[record["model"]][key]) for key in rebuilt)


def test_a_checkpoint_that_cannot_be_written_does_not_lose_the_run(tmp_path, cli, tiny_args, monkeypatch):
    import bench.sweep.training

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bench.sweep.training, "save_checkpoint", disk_full)
    assert cli(tiny_args(tmp_path / "r", "adding", "--models", "lstm")) == 0
    (record,) = read_records(tmp_path / "r")
    assert record["status"] == "ok" and record["checkpoint"] is None and "No space" in record["checkpoint_error"]


def test_a_curve_measured_again_replaces_the_older_one(tmp_path):
    curve = {"task": "adding", "variant": "adding/halves@1", "task_params": {}, "model": "rnn",
             "model_options": {"layers": 1}, "seq_len": 5, "seed": 0, "state": "init", "status": "ok"}  # fmt: skip
    append_record(tmp_path, {**curve, "key": "before", "trained_run_key": None}, GRADIENTS_FILE)
    append_record(tmp_path, {**curve, "key": "after", "trained_run_key": "abc"}, GRADIENTS_FILE)
    assert [curve["key"] for curve in ResultsFolder(tmp_path).gradient_curves()] == ["after"]


def test_no_checkpoints_keeps_no_weights(tmp_path, cli, tiny_args):
    assert cli(tiny_args(tmp_path / "r", "adding", "--models", "lstm", "--no-checkpoints")) == 0
    (record,) = read_records(tmp_path / "r")
    assert record["checkpoint"] is None and not (tmp_path / "r" / CHECKPOINT_DIR).exists()
    with pytest.raises(FileNotFoundError, match="kept no weights"):
        trained_model_of(record, tmp_path / "r")


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


def test_gradients_bad_input_is_one_line_and_writes_nothing(tmp_path, cli, capsys):
    missing = tmp_path / "nowhere"
    for argv, field in [
        (["gradients", "--task", "adding", "--from", str(missing)], "source"),
        (["gradients", "--task", "addding", "--out", str(missing)], "task"),
        (["gradients", "--task", "adding", "--models", "rnn,lsmt", "--out", str(missing)], "models"),
        (["gradients", "--task", "adding", "--lengths", "0", "--out", str(missing)], "lengths"),
    ]:
        assert cli(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and field in err, err
    assert not missing.exists()


def test_a_curve_that_fails_is_recorded(monkeypatch):
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
    json.dumps(record)  # a plain record, like every other


def test_the_report_shows_the_curves_verdicts_and_figure(trained_folder, cli):
    argv = ["gradients", "--task", "copying", "--from", str(trained_folder), "--batch-size", "4", "--models", "rnn,ssm",
            "--no-progress"]  # fmt: skip
    assert cli(argv) == 0  # writes the folder's report at the end
    report = (trained_folder / "report.md").read_text()
    assert "## Gradient flow through time" in report
    assert "tanh RNN: exponential decay (trained" in report and "decades lost / 100 steps" in report
    figure = trained_folder / "figures" / "gradient_flow.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "figures/gradient_flow.png" in report


def test_a_folder_of_gradients_alone_has_a_report(tmp_path, cli):
    argv = ["gradients", "--task", "adding", "--models", "rnn,lstm", "--lengths", "6", "--batch-size", "2",
            "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    assert cli(argv) == 0
    assert "## Gradient flow through time" in (tmp_path / "report.md").read_text()
    assert cli(["report", str(tmp_path)]) == 0


def test_a_run_with_other_options_is_not_the_model_asked_for(trained_folder, tmp_path, cli):
    argv = ["gradients", "--task", "copying", "--from", str(trained_folder), "--models", "rnn", "--seeds", "0",
            "--option", "rnn.layers=2", "--batch-size", "2", "--out", str(tmp_path), "--no-progress",
            "--no-report"]  # fmt: skip
    assert cli(argv) == 0
    (record,) = read_records(tmp_path, GRADIENTS_FILE)
    assert (record["state"], record["trained_run_key"], record["model_options"]["layers"]) == ("init", None, 2)
