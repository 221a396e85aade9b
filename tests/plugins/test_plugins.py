"""A model or task from outside the repository: loaded by file or module path or installed entry point, held to the
contract the built-ins meet (``bench check``), named with its origin in run keys and records, and found in a
worker whose working directory is another."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

import models
import tasks
from bench.config import load_run_config
from bench.engines.job import Context
from bench.store.jsonl import read_records
from bench.sweep.plan import plan
from bench.sweep.training import TrainingJob
from tests.helpers import ROOT

EXAMPLE = ROOT / "examples" / "custom_model" / "my_model.py"
MODEL = "my_model.py:MyModel"

BAD_MODELS = textwrap.dedent('''
    from dataclasses import dataclass
    from torch import nn

    class Peeks(nn.Module):
        """sees the future"""
        traits = {"recurrent"}
        def __init__(self, width, options):
            super().__init__()
            self.lin = nn.Linear(width, width)
        def forward(self, h):
            return self.lin(h + h.flip(1))
        def init_state(self, batch_size):
            return None
        def step(self, h_t, state):
            return self.lin(h_t), state

    class Quantum(nn.Module):
        traits = {"quantum"}

    @dataclass
    class Loose:
        layers: int = 1

    class Unfrozen(nn.Module):
        Options = Loose
''')

LAST_TOKEN_TASK = textwrap.dedent('''
    from dataclasses import dataclass
    import torch
    import torch.nn.functional as F
    from tasks.base import Batch, Task, TaskSpec

    @dataclass(frozen=True)
    class FirstToken(Task):
        """Recall the first token at the last step."""
        vocab: int = 4
        name = "first_token"
        variant = "plain"
        version = 1
        min_length = 2
        primary_metric = "accuracy"
        higher_is_better = True
        solved_threshold = 0.99
        solved_rule = "accuracy >= 0.99"

        @property
        def spec(self):
            return TaskSpec("tokens", self.vocab, "classes", self.vocab, "last", answer_length=1)

        def sample(self, batch_size, seq_len, *, generator):
            self.check_sample(seq_len, generator)
            x = torch.randint(0, self.vocab, (batch_size, seq_len), generator=generator)
            y = torch.zeros_like(x)
            y[:, -1] = x[:, 0]
            mask = torch.zeros_like(x, dtype=torch.bool)
            mask[:, -1] = True
            return Batch(x, y, mask)

        def baseline(self, seq_len):
            return {"loss": float(torch.log(torch.tensor(float(self.vocab)))), "accuracy": 1.0 / self.vocab}

        def metrics(self, output, batch):
            logits, target = output[:, -1], batch.y[:, -1]
            accuracy = (logits.argmax(-1) == target).float().mean()
            return {"loss": F.cross_entropy(logits, target), "accuracy": accuracy}
''')


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """A folder outside the repository holding the example model, a broken one and a task; the working directory."""
    shutil.copy(EXAMPLE, tmp_path / "my_model.py")
    (tmp_path / "bad.py").write_text(BAD_MODELS)
    (tmp_path / "first_token.py").write_text(LAST_TOKEN_TASK)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def tiny(out: Path, *extra: str) -> list[str]:
    return ["run", "--task", "adding", "--lengths", "8", "--seeds", "0", "--lrs", "0.003", "--steps", "3",
            "--eval-every", "3", "--val-size", "8", "--test-size", "8", "--batch-size", "4", "--params", "4000",
            "--threads", "1", "--out", str(out), "--no-progress", "--no-report", *extra]  # fmt: skip


def test_a_file_plugin_builds_with_its_traits_and_origin(elsewhere):
    spec = tasks.get_task("adding").spec
    model = models.build_model(f"./{MODEL}", spec, target_params=4000)
    assert abs(models.count_parameters(model) - 4000) <= models.PARAM_TOLERANCE * 4000
    assert models.model_traits(MODEL, {}) == ["fixed_state", "gated", "linear_recurrence", "recurrent", "selective"]
    origin = models.plugins.origin(MODEL)
    assert origin["file"] == "my_model.py" and origin["name"] == "MyModel" and len(origin["sha256"]) == 64


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad.py:Peeks", "model 'bad.py:Peeks' fails check causal: the output at step 0 changed"),
        ("bad.py:Quantum", "fails check loads: unknown trait quantum; choose from: recurrent,"),
        ("bad.py:Unfrozen", "fails check loads: Options Loose must be frozen"),
        ("bad.py:Missing", "bad.py has no attribute Missing"),
        ("nowhere.py:X", "cannot read nowhere.py: No such file or directory"),
        ("no_such_module_here:X", "importing no_such_module_here failed: ModuleNotFoundError"),
    ],
)
def test_a_broken_plugin_is_one_line_naming_the_check_and_nothing_is_written(elsewhere, cli, capsys, name, message):
    assert cli(["check", name]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert cli(tiny(elsewhere / "out", "--models", f"gru,{name}")) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (elsewhere / "out").exists()


def test_check_prints_a_line_per_check(elsewhere, cli, capsys):
    assert cli(["check", MODEL, "first_token.py:FirstToken"]) == 0
    lines = capsys.readouterr().out.splitlines()
    passed = [line.split()[1].rstrip(":") for line in lines if line.strip().startswith("ok")]
    assert passed == ["loads", "parameters", "builds", "causal", "streaming", "trains",
                      "loads", "spec", "sample", "baseline", "metrics", "facts", "trains"]  # fmt: skip


def test_a_plugin_run_records_its_origin_and_traits_and_no_machine_path(elsewhere, cli):
    assert cli(tiny(elsewhere / "out", "--models", f"gru,{MODEL}", "--executor", "inline", "--numerics", "native")) == 0
    records = {r["model"]: r for r in read_records(elsewhere / "out")}
    assert records[MODEL]["status"] == "ok", records[MODEL]["error"]
    assert records[MODEL]["model_traits"] == ["fixed_state", "gated", "linear_recurrence", "recurrent", "selective"]
    assert records[MODEL]["model_origin"]["file"] == "my_model.py"
    assert "model_origin" not in records["gru"]
    for path in (elsewhere / "out").glob("*.json*"):
        assert str(elsewhere) not in path.read_text()  # paths as typed, never the machine's


def test_a_changed_plugin_file_gets_new_run_keys(elsewhere):
    config = load_run_config({"task": "adding", "models": MODEL, "lengths": "8", "params": 4000})
    before = [spec.run_key for spec in plan(config)]
    assert before == [spec.run_key for spec in plan(config)]  # the same file: the same keys
    changed = EXAMPLE.read_text().replace("keep_bias: float = 1.0", "keep_bias: float = 2.0")
    (elsewhere / "my_model.py").write_text(changed)
    after = [spec.run_key for spec in plan(config)]
    assert set(before).isdisjoint(after)


def test_a_worker_elsewhere_reads_the_plugin_from_where_the_sweep_was_planned(elsewhere, tmp_path_factory, monkeypatch):
    config = load_run_config({"task": "adding", "models": MODEL, "lengths": "8", "steps": 2, "eval_every": 2,
                          "val_size": 8, "test_size": 8, "batch_size": 4, "params": 4000, "checkpoints": False,
                          "seeds": "0", "lrs": "0.003"})  # fmt: skip
    (spec,) = plan(config)
    assert spec.plugin_root == str(elsewhere) and spec.model == MODEL  # absolute for the worker, relative in the key
    monkeypatch.chdir(tmp_path_factory.mktemp("worker"))  # a Ray or SLURM worker's own working directory
    (record,) = TrainingJob(spec).measure(Context(fresh_process=False, progress=False))
    assert record["status"] == "ok", record["error"]
    assert record["model"] == MODEL


def test_a_plugin_task_runs_beside_the_built_in_models(elsewhere, cli):
    argv = tiny(elsewhere / "out", "--models", f"gru,{MODEL}", "--executor", "inline", "--numerics", "native")
    argv[argv.index("adding")] = "first_token.py:FirstToken"
    assert cli(argv) == 0
    records = read_records(elsewhere / "out")
    assert {r["status"] for r in records} == {"ok"}
    assert {r["variant"] for r in records} == {"first_token/plain@1"}
    assert all(r["task_origin"]["file"] == "first_token.py" for r in records)


def test_an_installed_plugin_is_listed_and_named_by_its_package(elsewhere, monkeypatch, cli, capsys):
    site = elsewhere / "site"
    (site / "glr_plugin").mkdir(parents=True)
    (site / "glr_plugin" / "__init__.py").write_text(EXAMPLE.read_text())
    info = site / "glr_plugin-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: glr-plugin\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[seqbench.models]\nglr = glr_plugin:MyModel\n")
    monkeypatch.syspath_prepend(str(site))
    assert cli(["list"]) == 0
    listing = capsys.readouterr().out
    assert any(line.startswith("glr ") for line in listing.splitlines()) and "glr-plugin" in listing
    origin = models.plugins.origin("glr")
    assert (origin["package"], origin["version"], origin["entry_point"]) == ("glr-plugin", "1.2", "seqbench.models:glr")
    config = load_run_config({"task": "adding", "models": "glr,gru", "lengths": "8", "params": 4000})
    specs = {spec.model: spec for spec in plan(config)}
    assert specs["glr"].model_origin == origin and specs["gru"].model_origin is None
    json.dumps(origin)


@pytest.mark.slow
def test_two_workers_train_a_plugin_in_fresh_processes(elsewhere, cli, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the workers import this checkout, wherever the test runs
    assert cli(tiny(elsewhere / "out", "--models", f"gru,{MODEL}", "--workers", "2")) == 0
    records = read_records(elsewhere / "out")
    assert len(records) == 2 and [r["error"] for r in records] == [None, None]


@pytest.mark.slow
@pytest.mark.parametrize("name", [*models.MODELS, *tasks.TASKS])
def test_every_built_in_family_and_task_passes_the_checks_plugins_must_pass(name):
    from bench.contract import run_checks

    checks = run_checks(name)
    assert [c.line() for c in checks if not c.passed] == []
    assert len(checks) in (6, 7)  # every check ran
