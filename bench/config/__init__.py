"""What was asked: one strict, frozen configuration per command, its presets, and the loaders (preset < TOML
< flags). May import ``models``, ``tasks``, ``bench.store`` and ``bench.measure``; never the layers above."""

from bench.config.gradients import GradientsConfig
from bench.config.load import load_config, load_gradients_config, load_speed_config, parse_option_flags
from bench.config.run import SweepConfig
from bench.config.speed import SpeedConfig
from bench.errors import ConfigError

__all__ = [
    "ConfigError",
    "GradientsConfig",
    "SpeedConfig",
    "SweepConfig",
    "load_config",
    "load_gradients_config",
    "load_speed_config",
    "parse_option_flags",
]
