"""Configuration and command line: preset < TOML file < flags, and every bad input is one line, exit 2, no output."""

from __future__ import annotations

import pydantic
import pytest
import torch

import models
import tasks
from bench.cli import RUN_FLAGS
from bench.config import ConfigError, SweepConfig, load_config
from bench.config.presets import PRESETS


def flags(**given) -> dict:
    """What the CLI hands ``load_config``: every flag, None where not given, strings otherwise."""
    return {name: given.get(name) for name in RUN_FLAGS}


# ---- merging ---------------------------------------------------------------------------------


def test_preset_then_file_then_flags(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        'preset = "standard"\nsteps = 7\nbatch_size = 5\nmodels = ["lstm", "gru"]\n'
        "task_params = {n_symbols = 4}\n[model_options.lstm]\nlayers = 2\n"
    )
    config = load_config(flags(task="copying", steps="3", lengths="8,16"), path)
    assert isinstance(config, SweepConfig)
    assert config.steps == 3  # the flag beats the file
    assert config.lengths == [8, 16]
    assert config.batch_size == 5  # the file beats the preset
    assert config.models == ["lstm", "gru"]
    assert config.task_params == {"n_symbols": 4}
    assert config.model_options == {"lstm": {"layers": 2}}
    assert config.params == PRESETS["standard"]["params"]  # the file's preset fills the rest
    assert config.lrs == PRESETS["standard"]["lrs"]


def test_option_flags_are_typed_and_merge_over_the_file(tmp_path, cli, monkeypatch):
    path = tmp_path / "sweep.toml"
    path.write_text("[model_options.ssm]\nlayers = 3\nstate_size = 8\n")
    seen = []
    monkeypatch.setattr("bench.cli.do_run", lambda config, **_: seen.append(config))
    argv = ["run", "--task", "adding", "--config", str(path), "--option", "ssm.kernel=vandermonde",
            "--option", "ssm.layers=1", "--option", "ssm.dt_max=0.2"]  # fmt: skip
    assert cli(argv) == 0
    assert seen[0].model_options == {"ssm": {"layers": 1, "state_size": 8, "kernel": "vandermonde", "dt_max": 0.2}}


def test_preset_flag_beats_the_file_preset(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('preset = "standard"\n')
    config = load_config(flags(task="adding", preset="paper"), path)
    assert config.preset == "paper"
    assert config.params == PRESETS["paper"]["params"]
    assert config.lengths == PRESETS["paper"]["lengths"]["adding"]


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("task", list(tasks.TASKS))
def test_every_preset_is_a_valid_sweep_of_every_task(preset, task):
    # Validation solves every model's width for the preset's target: a preset no model can meet fails here.
    config = load_config(flags(task=task, preset=preset))
    assert config.lengths == PRESETS[preset]["lengths"][task]


def test_defaults_are_the_quick_preset_and_every_model():
    config = load_config(flags(task="copying"))
    quick = PRESETS["quick"]
    assert config.preset == "quick"
    assert config.lengths == quick["lengths"]["copying"]
    assert (config.steps, config.batch_size, config.params) == (quick["steps"], quick["batch_size"], quick["params"])
    assert config.models == models.DEFAULT_MODELS
    assert config.executor == "subprocess" and config.device == "auto"


def test_config_is_frozen():
    config = load_config(flags(task="adding"))
    with pytest.raises(pydantic.ValidationError):
        config.steps = 1


def test_load_config_raises_config_error():
    with pytest.raises(ConfigError, match="steps"):
        load_config(flags(task="adding", steps="0"))


# ---- bad inputs ------------------------------------------------------------------------------

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here, so --device cuda is valid")
ADDING = ["--task", "adding"]

# (flags after `run`, TOML file text or None, words the one-line error must contain)
BAD_INPUTS = [
    pytest.param(["--task", "addng"], None, ["task", "did you mean 'adding'"], id="unknown-task"),
    pytest.param([], None, ["task", "required"], id="missing-task"),
    pytest.param([*ADDING, "--models", "lstm,lstn"], None, ["models", "did you mean 'lstm'"], id="unknown-model"),
    pytest.param([*ADDING, "--models", "lstm,lstm"], None, ["models", "once"], id="duplicate-model"),
    pytest.param([*ADDING, "--preset", "quik"], None, ["preset", "did you mean 'quick'"], id="unknown-preset"),
    pytest.param([*ADDING, "--device", "gpu"], None, ["device", "gpu"], id="unknown-device"),
    pytest.param([*ADDING, "--device", "cuda"], None, ["device", "CUDA"], id="absent-cuda", marks=NO_CUDA),
    pytest.param([*ADDING, "--executor", "dask"], None, ["executor", "dask", "slurm"], id="unknown-executor"),
    pytest.param([*ADDING, "--workers", "0"], None, ["workers"], id="zero-workers"),
    pytest.param([*ADDING, "--workers", "2", "--executor", "inline"], None, ["workers", "inline"], id="inline-workers"),
    pytest.param([*ADDING, "--ray-address", "auto"], None, ["ray_address", "ray"], id="ray-flag-without-ray"),
    pytest.param([*ADDING, "--partition", "gpu"], None, ["partition", "slurm"], id="slurm-flag-locally"),
    pytest.param([*ADDING, "--lengths", ""], None, ["lengths"], id="empty-lengths"),
    pytest.param([*ADDING, "--lengths", "8,-5"], None, ["lengths", "> 0"], id="negative-length"),
    pytest.param([*ADDING, "--lengths", "1.5"], None, ["lengths", "1.5"], id="fractional-length"),
    pytest.param([*ADDING, "--lengths", "1"], None, ["lengths", ">= 2"], id="length-below-task-minimum"),
    pytest.param([*ADDING, "--steps", "0"], None, ["steps"], id="zero-steps"),
    pytest.param([*ADDING, "--lrs=-0.001"], None, ["lrs"], id="negative-lr"),
    pytest.param([*ADDING, "--batch-size", "abc"], None, ["batch_size", "abc"], id="non-numeric-batch-size"),
    pytest.param([*ADDING, "--seeds", "-1"], None, ["seeds"], id="negative-seed"),
    pytest.param([*ADDING, "--warmup-frac", "1"], None, ["warmup_frac"], id="warmup-of-every-step"),
    pytest.param([*ADDING, "--threads", "0"], None, ["threads"], id="zero-threads"),
    pytest.param([*ADDING, "--frob", "1"], None, ["--frob"], id="unknown-flag"),
    pytest.param([*ADDING, "--timeout-s", "0"], None, ["timeout_s", "greater than 0"], id="zero-timeout"),
    pytest.param(
        [*ADDING, "--timeout-s", "5", "--executor", "inline"],
        None,
        ["timeout_s", "own process"],
        id="inline-timeout",
    ),
    pytest.param([*ADDING, "--memory-limit-mb=-5"], None, ["memory_limit_mb"], id="negative-memory-limit"),
    pytest.param(ADDING, "retry_failed = 3\n", ["retry_failed"], id="non-boolean-switch"),
    pytest.param(ADDING, "foo = 1\n", ["foo", "unknown key"], id="unknown-toml-key"),
    pytest.param(ADDING, "steps = \n", ["config", "not valid TOML"], id="malformed-toml"),
    pytest.param(ADDING, "lengths = []\n", ["lengths"], id="empty-toml-lengths"),
    pytest.param(ADDING, "task_params = {foo = 1}\n", ["task_params", "foo"], id="unknown-task-param"),
    pytest.param(
        ["--task", "copying"], "task_params = {n_symbols = 0}\n", ["task_params", "n_symbols"], id="bad-task-param"
    ),
    pytest.param(
        ADDING, "[model_options.lstn]\nlayers = 1\n", ["model_options", "lstn"], id="unknown-model-in-options"
    ),
    pytest.param(ADDING, "[model_options.lstm]\nfoo = 1\n", ["model_options", "foo"], id="unknown-model-option"),
    pytest.param(
        ADDING,
        "[model_options.ssm]\nkernel = 'fft'\n",
        ["model_options", "kernel", "vandermonde"],
        id="bad-option-value",
    ),
    pytest.param(
        [*ADDING, "--option", "ssm.layers=two"], None, ["model_options", "layers", "int"], id="option-of-wrong-type"
    ),
    pytest.param([*ADDING, "--option", "ssm.layers"], None, ["option", "MODEL.KEY=VALUE"], id="option-without-value"),
    pytest.param(
        [*ADDING, "--option", "lstm.kernel=power"],
        None,
        ["model_options", "kernel", "layers"],
        id="option-of-another-model",
    ),
    pytest.param([], 'task = ["adding"]\n', ["task"], id="task-of-wrong-type"),
    pytest.param(ADDING, 'preset = ["quick"]\n', ["preset"], id="preset-of-wrong-type"),
    pytest.param([*ADDING, "--lengths", "8,16,8"], None, ["lengths", "once", "8"], id="repeated-length"),
    pytest.param([*ADDING, "--params", "500"], None, ["params", "no width", "500"], id="unreachable-params"),
]


@pytest.fixture
def no_sweep(monkeypatch):
    """A config that is wrongly accepted fails the test at once instead of starting a real sweep."""

    def run_sweep(config, **_):
        pytest.fail(f"the configuration was accepted: {config!r}")

    monkeypatch.setattr("bench.cli.do_run", run_sweep)


@pytest.mark.parametrize("argv, toml, words", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, toml, words, tmp_path, capsys, cli, no_sweep):
    out = tmp_path / "out"
    argv = ["run", *argv, "--out", str(out)]
    if toml is not None:
        (tmp_path / "sweep.toml").write_text(toml)
        argv += ["--config", str(tmp_path / "sweep.toml")]
    code = cli(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.endswith("\n") and err.count("\n") == 1, err
    for word in words:
        assert word in err
    assert not out.exists()


@pytest.mark.parametrize("executor, extra", [("ray", "ray"), ("slurm", "slurm")])
def test_a_missing_extra_is_named_with_its_install_command(executor, extra, monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=rf"pip install 'seqbench\[{extra}\]'"):
        load_config(flags(task="adding", executor=executor))


def test_missing_config_file(tmp_path, capsys, cli, no_sweep):
    out = tmp_path / "out"
    code = cli(["run", "--task", "adding", "--config", str(tmp_path / "missing.toml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "config" in err and "missing.toml" in err
    assert not out.exists()


# ---- list ------------------------------------------------------------------------------------


def test_list_shows_every_task_model_and_preset(capsys, cli):
    assert cli(["list"]) == 0
    out = capsys.readouterr().out
    for name in [*tasks.TASKS, *models.MODELS, *PRESETS]:
        assert name in out
    for name in tasks.TASKS:
        assert tasks.get_task(name).variant_id in out
