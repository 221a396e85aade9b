"""The run command's configuration: a frozen ``RunConfig``; every bad input is one line, exit 2, no output;
the engines' extras named with their install command; ``--eval-lengths`` checked before any training."""

from __future__ import annotations

import pydantic
import pytest
import torch

from bench.config import ConfigError, load_run_config
from bench.sweep.plan import plan
from tests.helpers import flags


def test_config_is_frozen():
    config = load_run_config(flags(task="adding"))
    with pytest.raises(pydantic.ValidationError):
        config.steps = 1


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
    pytest.param([*ADDING, "--workers", "2", "--executor", "inline", "--numerics", "native"], None,
                 ["workers", "inline"], id="inline-workers"),
    pytest.param([*ADDING, "--executor", "inline"], None, ["numerics", "own process", "--numerics native"],
                 id="inline-portable-numerics"),
    pytest.param([*ADDING, "--numerics", "fast"], None, ["numerics", "portable", "native"], id="unknown-numerics"),
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
        load_run_config(flags(task="adding", executor=executor))


# ---- --eval-lengths ----------------------------------------------------------------------------------


def test_eval_lengths_are_multiples_or_lengths_longer_than_the_trained_one():
    config = load_run_config(flags(task="adding", lengths="10,40", eval_lengths="2x,4x,50"))
    assert config.eval_lengths_for(10) == (20, 40, 50)
    assert config.eval_lengths_for(40) == (50, 80, 160)  # 50 is longer than 40: kept; nothing shorter
    keys = {s.run_key for s in plan(config)}
    plain = {s.run_key for s in plan(load_run_config(flags(task="adding", lengths="10,40")))}
    assert not keys & plain  # what a run is tested at is part of what it computes


@pytest.mark.parametrize("value", ["2y", "0x", "-4", "x"])
def test_bad_eval_lengths_are_refused(value):
    with pytest.raises(ConfigError, match="eval_lengths"):
        load_run_config(flags(task="adding", eval_lengths=value))


def test_a_learned_table_shorter_than_an_eval_length_is_refused_before_training(tmp_path, cli, capsys, no_sweep):
    out = tmp_path / "out"
    argv = ["run", "--task", "copying", "--models", "transformer", "--lengths", "8", "--params", "27000",
            "--option", "transformer.positions=learned", "--option", "transformer.max_positions=40",
            "--eval-lengths", "4x", "--out", str(out)]  # fmt: skip
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "eval_lengths" in err and "covers 40 steps, got a sequence of 52" in err
    assert not out.exists()
