"""End to end: `python -m bench run` on both tasks with every model, the subprocess executor, divergence."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import pytest
import torch

import models
import tasks
from bench.config import load_config
from bench.store.files import MANIFEST_FILE
from bench.store.jsonl import append_record, read_records
from bench.sweep.plan import RunSpec, plan
from bench.sweep.training import run_one
from bench.train.budget import Budget
from bench.train.evaluate import make_eval_set
from bench.train.loop import train
from tasks.adding import AddingTask

RECORD_FIELDS = [
    "schema", "run_key", "status", "task", "variant", "model", "seq_len", "seed", "lr", "n_params",
    "test_loss", "test_accuracy", "baseline_loss", "solved", "steps_to_solve", "curve",
    "train_tokens_per_s", "train_step_ms", "infer_tokens_per_s", "peak_mem_mb", "mem_method",
    "device", "torch", "threads", "git_sha", "wall_s",
]  # fmt: skip
BUDGET_FIELDS = [f.name for f in dataclasses.fields(Budget)]
TASK_NAMES, MODEL_NAMES = list(tasks.TASKS), list(models.MODELS)


@dataclasses.dataclass
class Sweep:
    code: int
    out: Path
    stdout: str
    records: list[dict]


def run_capturing_stdout(cli, argv: list[str]) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli(argv)
    return code, stdout.getvalue()


@pytest.fixture(scope="module", params=TASK_NAMES)
def sweep(request, tmp_path_factory, cli, tiny_args) -> Sweep:
    """One tiny inline sweep of every registered model on the task, shared by the tests below."""
    out = tmp_path_factory.mktemp(request.param) / "results"
    code, stdout = run_capturing_stdout(cli, tiny_args(out, request.param, "--models", ",".join(MODEL_NAMES)))
    return Sweep(code, out, stdout, read_records(out))


def test_sweep_finishes_every_model(sweep):
    assert sweep.code == 0
    assert [r["model"] for r in sweep.records] == MODEL_NAMES
    assert [r["status"] for r in sweep.records] == ["ok"] * len(MODEL_NAMES), [r.get("error") for r in sweep.records]


def test_records_have_every_field(sweep):
    for record in sweep.records:
        assert [f for f in RECORD_FIELDS if f not in record] == []
        assert len(record["run_key"]) == 64
        assert record["curve"] and record["curve"][-1][0] == 6  # evaluated at steps 3 and 6
        assert record["test_loss"] is not None and record["train_step_ms"] > 0


def test_parameter_counts_meet_the_target(sweep):
    target = json.loads((sweep.out / MANIFEST_FILE).read_text())["config"]["params"]
    for record in sweep.records:
        assert record["target_params"] == target
        assert abs(record["n_params"] - target) <= 0.05 * target, record["model"]


def test_every_run_had_the_same_budget(sweep):
    budgets = {tuple(r[f] for f in BUDGET_FIELDS) for r in sweep.records}
    assert len(budgets) == 1
    assert len({r["lr"] for r in sweep.records}) == 1


def test_manifest_lists_the_runs(sweep):
    manifest = json.loads((sweep.out / MANIFEST_FILE).read_text())
    assert manifest["n_runs"] == len(sweep.records)
    assert manifest["run_keys"] == [r["run_key"] for r in sweep.records]
    assert manifest["config"]["steps"] == 6


def test_summary_names_every_model_and_the_baseline(sweep):
    for name in [*MODEL_NAMES, "baseline"]:
        assert name in sweep.stdout
    assert sweep.records[0]["variant"] in sweep.stdout


def test_plan_gives_every_model_the_same_grid():
    config = load_config(
        {"task": "adding", "lengths": "8,16", "seeds": "0,1", "lrs": "0.001,0.01", "steps": "5", "params": "4000"}
    )
    specs = plan(config)
    assert sorted({s.model for s in specs}) == sorted(models.DEFAULT_MODELS)  # the five families, not seq2seq
    grids = {m: sorted((s.seq_len, s.seed, s.lr) for s in specs if s.model == m) for m in models.DEFAULT_MODELS}
    assert all(len(grid) == 8 for grid in grids.values())
    assert len({tuple(grid) for grid in grids.values()}) == 1
    assert len({s.budget for s in specs}) == 1
    assert len({s.run_key for s in specs}) == len(specs)


def test_subprocess_executor(tmp_path, cli, tiny_args):
    out = tmp_path / "results"
    code, _ = run_capturing_stdout(cli, tiny_args(out, "adding", "--models", "lstm,ssm", "--executor", "subprocess"))
    records = read_records(out)
    assert code == 0
    assert [r["status"] for r in records] == ["ok", "ok"], [r.get("error") for r in records]
    for record in records:
        assert isinstance(record["peak_mem_mb"], float) and record["peak_mem_mb"] > 0
        assert record["mem_method"] == "ru_maxrss_delta"


# ---- divergence and failures are results -----------------------------------------------------

BUDGET = Budget(
    steps=10, batch_size=4, target_params=4000, warmup_frac=0.1, weight_decay=0.01,
    clip_norm=1.0, eval_every=5, val_size=8, test_size=8,
)  # fmt: skip


@pytest.fixture
def nan_loss_from_step_3(monkeypatch):
    """The adding loss turns NaN at the third training step (warm-up and evaluation calls are not counted)."""
    original = AddingTask.metrics
    training_calls = 0

    def metrics(self, output, batch):
        nonlocal training_calls
        scores = original(self, output, batch)
        if torch.is_grad_enabled() and batch.x.shape[0] == BUDGET.batch_size:
            training_calls += 1
            if training_calls >= 3:
                scores["loss"] = scores["loss"] * float("nan")
        return scores

    monkeypatch.setattr(AddingTask, "metrics", metrics)


def train_tiny(gen):
    task = tasks.get_task("adding")
    torch.manual_seed(0)
    model = models.build_model("gru", task.spec, width=8)
    val_set = make_eval_set(task, BUDGET.val_size, 8, gen(1))
    return train(model, task, BUDGET, lr=1e-3, seq_len=8, data=gen(2), val_set=val_set, device="cpu", progress=False)


def test_train_runs_every_step_when_the_loss_is_finite(gen):
    result = train_tiny(gen)
    assert result.diverged_step is None
    assert len(result.step_seconds) == BUDGET.steps
    assert [step for step, _ in result.curve] == [5, 10]


def test_train_stops_at_a_nan_loss(nan_loss_from_step_3, gen):
    result = train_tiny(gen)
    assert result.diverged_step == 3
    assert len(result.step_seconds) == 3
    assert result.curve == []


def tiny_spec(model: str = "gru", **options) -> RunSpec:
    return RunSpec(
        task="adding", variant="adding/halves@1", task_params={}, model=model,
        model_options={**models.model_options(model), **options}, seq_len=8, seed=0, lr=1e-3, budget=BUDGET,
        threads=1,
    )  # fmt: skip


def test_run_one_records_divergence(nan_loss_from_step_3, tmp_path):
    record = run_one(tiny_spec(), progress=False)
    assert record["status"] == "diverged"
    assert record["diverged_step"] == 3
    assert record["solved"] is False
    append_record(tmp_path, record)  # NaN metrics go to the store as null
    (stored,) = read_records(tmp_path)
    assert stored["status"] == "diverged" and stored["test_loss"] is None


def test_run_one_records_an_error():
    record = run_one(tiny_spec("ssm", state_size=3), progress=False)
    assert record["status"] == "error"
    assert "state_size" in record["error"]
    assert record["model"] == "ssm" and "wall_s" in record
