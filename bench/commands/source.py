"""The configuration of the commands that read a results folder of `run` (``--from``): ``speed`` and ``gradients``.

The folder's runs give defaults (``gradients``: their lengths, seeds, size and task parameters) and are checked to
hold what the command needs, before anything runs. Reading a results folder is this layer's business, not the
configs' (``bench.config`` never imports ``bench.store``: its validators stay free of I/O).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tasks
from bench.config.gradients import GradientsConfig
from bench.config.load import check_writable, validated
from bench.config.presets import PRESETS, preset_task_params
from bench.config.speed import SPEED_DEFAULTS, SpeedConfig
from bench.errors import ConfigError
from bench.store.files import RUNS_FILE
from bench.store.folder import ResultsFolder


def load_speed_config(cli: dict[str, Any]) -> SpeedConfig:
    """The defaults, then the flags the user gave (None = not given); then the --from folder's runs."""
    config = validated(SpeedConfig, {**SPEED_DEFAULTS, **{k: v for k, v in cli.items() if v is not None}})
    check_writable(config.out_dir)
    if config.source is not None:
        _source_runs_of(config.source, config.task)
        held = ResultsFolder(config.source).task_parameters(config.task, config.variant)
        if len(held) > 1:
            variants = ", ".join(f"{variant} {params}" for variant, params in held)
            raise ConfigError(
                f"source: {config.source} holds runs of several variants of {config.task} ({variants}); "
                "give --variant, or a folder of one"
            )
        if not held:
            raise ConfigError(f"source: {config.source} holds no runs of {config.task} variant {config.variant}")
    return config



def load_gradients_config(cli: dict[str, Any]) -> GradientsConfig:
    """The flags given, else what the results folder's runs used, else the quick preset.

    The folder is ``--from``, else ``results/<task>-quick`` (where ``run`` writes by default) when it exists.
    """
    given = {k: v for k, v in cli.items() if v is not None}
    task = given.get("task")
    defaults: dict[str, Any] = {"batch_size": 64, "params": PRESETS["quick"]["params"]}
    if isinstance(task, str) and task in tasks.TASKS:
        quick = PRESETS["quick"]
        variant = given.get("variant")
        known = variant is None or variant in tasks.task_variants(task)
        defaults.update(lengths=quick["lengths"].get(task, []))
        defaults.update(task_params=preset_task_params("quick", task, variant) if known else {})
        default_source = Path("results") / f"{task}-quick"
        if "source" not in given and _is_file(default_source / RUNS_FILE):
            defaults["source"] = default_source
        defaults.update(_source_defaults(given.get("source", defaults.get("source")), task))
    config = validated(GradientsConfig, {**defaults, **given})
    if config.source is not None:
        _source_runs_of(config.source, config.task)
    check_writable(config.out_dir)
    return config


def _source_defaults(folder: Path | None, task: str) -> dict[str, Any]:
    """The lengths, seeds, size and task parameters of the folder's finished runs of ``task`` that kept weights."""
    if folder is None:
        return {}
    runs = [r for r in ResultsFolder(folder).runs() if r.get("task") == task and r.get("checkpoint")]
    if not runs:
        return {}
    defaults = {
        "lengths": sorted({r["seq_len"] for r in runs}),
        "seeds": sorted({r["seed"] for r in runs}),
        "params": runs[0].get("target_params"),  # a record may lack it: then the quick preset's
        "task_params": runs[0]["task_params"],
    }
    return {key: value for key, value in defaults.items() if value is not None}


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL character: no file there
        return False


def _source_runs_of(folder: Path, task: str) -> list[tuple[str, dict]]:
    """The (variant, parameters) of ``task`` that a results folder of `run` holds; refuses a folder with none."""
    if not _is_file(folder / RUNS_FILE):
        raise ConfigError(f"source: no {RUNS_FILE} in {folder}; give a folder written by `python -m bench run`")
    held = ResultsFolder(folder).task_parameters(task)
    if not held:
        tasks_held = sorted({r.get("task") for r in ResultsFolder(folder).runs()} - {None})
        listed = ", ".join(tasks_held) or "no task"
        raise ConfigError(f"source: {folder} holds runs of {listed}, not {task}; give --task")
    return held
