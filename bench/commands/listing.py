"""``python -m bench list``: what can be run, with parameters, options, traits and defaults."""

from __future__ import annotations

from tabulate import tabulate

import models
import tasks
from bench.config.presets import PRESETS

TASK_COLUMNS = ["task", "variant", "parameters", "min T", "solved when"]


def _params(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "-"


def render_listing() -> str:
    task_rows = []
    for name in tasks.TASKS:
        for variant in tasks.task_variants(name):  # the default first
            task = tasks.get_task(name, variant=variant)
            parameters = _params(tasks.task_parameters(name, variant))
            task_rows.append([name, task.variant_id, parameters, task.min_length, task.solved_rule])
    model_rows = [
        [name, family.description, ", ".join(models.model_traits(name, {})), _params(models.model_options(name))]
        for name, family in models.MODELS.items()
    ]
    preset_rows = [[name, _params(fields)] for name, fields in PRESETS.items()]
    return "\n\n".join(
        [
            "Tasks (--task NAME --variant V; the first variant of each task is its default)\n"
            + tabulate(task_rows, TASK_COLUMNS, maxcolwidths=[None, None, 50]),
            "Models\n"
            + tabulate(model_rows, ["model", "family", "traits", "options"], maxcolwidths=[None, 40, 30, 60]),
            "Presets\n" + tabulate(preset_rows, ["preset", "fields"], maxcolwidths=[None, 100]),
        ]
    )
