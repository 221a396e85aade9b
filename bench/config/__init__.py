"""What was asked: one strict, frozen configuration per command, its presets, and the loaders (preset < TOML
< flags). May import ``models``, ``tasks``, ``bench.contract`` and ``bench.measure``; never ``bench.store`` (a command
that reads a results folder loads its config in ``bench.commands.source``) nor the layers above."""

from bench.config.gradients import GradientsConfig
from bench.config.load import load_run_config, parse_option_flags
from bench.config.run import RunConfig
from bench.config.speed import SpeedConfig
from bench.errors import ConfigError

__all__ = [
    "ConfigError",
    "GradientsConfig",
    "SpeedConfig",
    "RunConfig",
    "load_run_config",
    "parse_option_flags",
]
