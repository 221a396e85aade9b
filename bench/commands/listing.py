"""``python -m bench list``: what can be run, with parameters, options, traits and defaults."""

from __future__ import annotations

from tabulate import tabulate

import models
import tasks
from bench.config.presets import PRESETS
from models import plugins as model_plugins

TASK_COLUMNS = ["task", "variant", "parameters", "min T", "solved when"]


def _params(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "-"


def _described(name: str) -> str:
    """The family's description; a plugin's says which package adds it."""
    if name in models.MODELS:
        return models.MODELS[name].description
    origin = model_plugins.origin(name) or {}
    package = f" [plugin: {origin['package']} {origin['version']}]" if "package" in origin else " [plugin]"
    return model_plugins.family(name).description + package


def render_listing() -> str:
    task_rows = []
    for name in [*tasks.TASKS, *tasks.plugin_names()]:  # then the tasks installed packages add (entry points)
        for variant in tasks.task_variants(name):  # the default first
            task = tasks.get_task(name, variant=variant)
            parameters = _params(tasks.task_parameters(name, variant))
            task_rows.append([name, task.variant_id, parameters, task.min_length, task.solved_rule])
    model_rows = [
        [name, _described(name), ", ".join(models.model_traits(name, {})), _params(models.model_options(name))]
        for name in [*models.MODELS, *model_plugins.plugin_names()]  # then those installed packages add
    ]
    preset_rows = [[name, _params(fields)] for name, fields in PRESETS.items()]
    return "\n\n".join(
        [
            "Tasks (--task NAME --variant V; the first variant of each task is its default)\n"
            + tabulate(task_rows, TASK_COLUMNS, maxcolwidths=[None, None, 50]),
            "Models\n"
            + tabulate(model_rows, ["model", "family", "traits", "options"], maxcolwidths=[None, 40, 30, 60]),
            "Your own (docs/extending.md): --models path/to/file.py:NAME or MODULE:NAME, likewise --task; "
            "`python -m bench check NAME` runs the contract checks",
            "Presets\n" + tabulate(preset_rows, ["preset", "fields"], maxcolwidths=[None, 100]),
        ]
    )
