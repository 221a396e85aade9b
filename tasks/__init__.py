"""Task registry: ``get_task(name, variant=None, **params)`` builds a task by name and published variant.

Each task has one or more variants (docs/tasks.md), the first the default; every result records
the variant it used (``task.variant_id``, e.g. ``adding/tcn@1``), and ``task.params()`` names it too,
so ``get_task(name, **task.params())`` rebuilds the same task.
"""

from __future__ import annotations

import dataclasses

from tasks.adding import AddingTask, TCNAddingTask
from tasks.associative_recall import MQARSmallTask, ZoologyMQARTask
from tasks.base import Batch, Task, TaskSpec
from tasks.copying import CopyingTask, TCNCopyingTask, VariableCopyingTask
from tasks.induction_heads import InductionHeadsTask
from tasks.registry_errors import unknown_name
from tasks.selective_copying import DelimitedSelectiveCopyingTask, SelectiveCopyingTask

TASKS: dict[str, dict[str, type[Task]]] = {  # task -> variant -> class; the first variant is the default
    "adding": {"halves": AddingTask, "tcn": TCNAddingTask},
    "copying": {"arjovsky": CopyingTask, "variable": VariableCopyingTask, "tcn": TCNCopyingTask},
    "selective_copying": {"mamba": SelectiveCopyingTask, "delimited": DelimitedSelectiveCopyingTask},
    "associative_recall": {"mqar-small": MQARSmallTask, "zoology": ZoologyMQARTask},
    "induction_heads": {"mamba": InductionHeadsTask},
}

__all__ = ["TASKS", "Batch", "Task", "TaskSpec", "get_task", "task_parameters", "task_variants"]


def task_variants(name: str) -> list[str]:
    """The task's variants, the default first."""
    return list(_variants(name))


def get_task(name: str, variant: str | None = None, **params) -> Task:
    """Build the task ``name`` in ``variant`` (default: its first) with its parameters; unknown names, variants or
    parameters raise ValueError naming what is allowed."""
    cls = _class(name, variant)
    allowed = task_parameters(name, variant)
    for key in params:
        if key not in allowed:
            raise ValueError(unknown_name(f"{name} ({cls.variant}) task parameter", key, allowed))
    return cls(**params)


def task_parameters(name: str, variant: str | None = None) -> dict[str, object]:
    """The parameters of the task's variant and their defaults."""
    return {f.name: f.default for f in dataclasses.fields(_class(name, variant))}


def _variants(name: str) -> dict[str, type[Task]]:
    if name not in TASKS:
        raise ValueError(unknown_name("task", name, TASKS))
    return TASKS[name]


def _class(name: str, variant: str | None) -> type[Task]:
    variants = _variants(name)
    if variant is None:
        return next(iter(variants.values()))
    if variant not in variants:
        raise ValueError(unknown_name(f"{name} variant", variant, variants))
    return variants[variant]
