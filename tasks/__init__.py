"""Task registry: ``get_task(name, variant=None, **params)`` builds a task by name and published variant.

Each task has one or more variants (docs/tasks.md), the first the default; every result records
the variant it used (``task.variant_id``, e.g. ``adding/tcn@1``), and ``task.params()`` names it too,
so ``get_task(name, **task.params())`` rebuilds the same task.
"""

from __future__ import annotations

import dataclasses

from tasks import plugins
from tasks.adding import AddingTask, TCNAddingTask
from tasks.associative_recall import MQARSmallTask, ZoologyMQARTask
from tasks.base import Batch, Task, TaskSpec
from tasks.copying import CopyingTask, TCNCopyingTask, VariableCopyingTask
from tasks.induction_heads import InductionHeadsTask
from tasks.registry_errors import unknown_name
from tasks.selective_copying import DelimitedSelectiveCopyingTask, SelectiveCopyingTask

# What a task class sets (tasks.base.Task): a plugin task that leaves one out is refused when it loads.
TASK_ATTRIBUTES = ("name", "variant", "version", "min_length", "primary_metric", "higher_is_better",
                   "solved_threshold", "solved_rule")  # fmt: skip
TASKS: dict[str, dict[str, type[Task]]] = {  # task -> variant -> class; the first variant is the default
    "adding": {"halves": AddingTask, "tcn": TCNAddingTask},
    "copying": {"arjovsky": CopyingTask, "variable": VariableCopyingTask, "tcn": TCNCopyingTask},
    "selective_copying": {"mamba": SelectiveCopyingTask, "delimited": DelimitedSelectiveCopyingTask},
    "associative_recall": {"mqar-small": MQARSmallTask, "zoology": ZoologyMQARTask},
    "induction_heads": {"mamba": InductionHeadsTask},
}

__all__ = [
    "TASKS", "Batch", "Task", "TaskSpec", "get_task", "is_plugin", "plugin_names", "task_origin", "task_parameters",
    "task_variants",
]  # fmt: skip


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
    if name in TASKS:
        return TASKS[name]
    if is_plugin(name):
        return plugin_variants(name)
    raise ValueError(unknown_name("task", name, [*TASKS, *plugin_names()]))


def is_plugin(name: str) -> bool:
    """Whether ``name`` names a plugin task (``file.py:NAME``, ``MODULE:NAME``, an entry point), not a built-in."""
    return name not in TASKS and (plugins.is_reference(name) or name in plugins.installed(plugins.TASK_GROUP))


def plugin_names() -> list[str]:
    """The tasks installed packages add (entry points of ``seqbench.tasks``), those a built-in shadows left out."""
    return [name for name in plugins.installed(plugins.TASK_GROUP) if name not in TASKS]


def task_origin(name: str) -> dict | None:
    """Where a plugin task comes from (``tasks.plugins``: what its records store); None for a built-in task."""
    return None if name in TASKS else plugins.load(name, plugins.TASK_GROUP, "task").origin


def plugin_variants(name: str) -> dict[str, type[Task]]:
    """A plugin task's one variant: the object it names is a ``Task`` subclass, a frozen dataclass of its
    parameters (every one with a default) that sets every class attribute ``Task`` declares."""
    cls = plugins.load(name, plugins.TASK_GROUP, "task").obj
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise plugins.PluginError(f"task '{name}' fails check loads: {cls!r} is not a subclass of tasks.Task")
    if not (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen):  # type: ignore[attr-defined]
        raise plugins.PluginError(f"task '{name}' fails check loads: {cls.__name__} must be a frozen dataclass")
    missing = [attr for attr in TASK_ATTRIBUTES if not hasattr(cls, attr)]
    if missing or getattr(cls, "__abstractmethods__", None):
        what = ", ".join(missing or sorted(cls.__abstractmethods__))
        raise plugins.PluginError(f"task '{name}' fails check loads: {cls.__name__} does not define {what}")
    return {cls.variant: cls}


def _class(name: str, variant: str | None) -> type[Task]:
    variants = _variants(name)
    if variant is None:
        return next(iter(variants.values()))
    if variant not in variants:
        raise ValueError(unknown_name(f"{name} variant", variant, variants))
    return variants[variant]
