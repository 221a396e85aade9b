"""``make_engine``: the engine a sweep's ``--executor`` names. The optional extras load only when named."""

from __future__ import annotations

import importlib

from bench.config.run import RunConfig
from bench.engines.base import Engine
from bench.engines.local import InlineEngine, LocalEngine

REMOTE_ENGINES = {"ray": ("bench.engines.ray", "RayEngine"), "slurm": ("bench.engines.slurm", "SlurmEngine")}


def make_engine(config: RunConfig, progress: bool) -> Engine:
    if config.executor == "inline":
        return InlineEngine(progress)
    if config.executor in REMOTE_ENGINES:
        module, name = REMOTE_ENGINES[config.executor]
        return getattr(importlib.import_module(module), name)(config)
    return LocalEngine(config.max_workers, config.resolved_device, progress)
