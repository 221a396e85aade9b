"""Loading a configuration: the preset, then the TOML file, then the flags; errors as ``ConfigError``."""

from __future__ import annotations

import pytest

from bench.config import ConfigError, RunConfig, load_run_config
from bench.config.presets import PRESETS
from tests.helpers import flags


def test_preset_then_file_then_flags(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        'preset = "standard"\nsteps = 7\nbatch_size = 5\nmodels = ["lstm", "gru"]\n'
        "task_params = {n_symbols = 4}\n[model_options.lstm]\nlayers = 2\n"
    )
    config = load_run_config(flags(task="copying", steps="3", lengths="8,16"), path)
    assert isinstance(config, RunConfig)
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
    config = load_run_config(flags(task="adding", preset="paper"), path)
    assert config.preset == "paper"
    assert config.params == PRESETS["paper"]["params"]
    assert config.lengths == PRESETS["paper"]["lengths"]["adding"]


def test_load_config_raises_config_error():
    with pytest.raises(ConfigError, match="steps"):
        load_run_config(flags(task="adding", steps="0"))


def test_missing_config_file(tmp_path, capsys, cli, no_sweep):
    out = tmp_path / "out"
    code = cli(["run", "--task", "adding", "--config", str(tmp_path / "missing.toml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "config" in err and "missing.toml" in err
    assert not out.exists()
