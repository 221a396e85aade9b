"""Task registry: ``get_task(name, **params)`` builds a task by name."""

from __future__ import annotations

import dataclasses

from tasks.adding import AddingTask
from tasks.associative_recall import AssociativeRecallTask
from tasks.base import Batch, Task, TaskSpec
from tasks.copying import CopyingTask
from tasks.registry_errors import unknown_name
from tasks.selective_copying import SelectiveCopyingTask

TASKS: dict[str, type[Task]] = {
    "adding": AddingTask,
    "copying": CopyingTask,
    "selective_copying": SelectiveCopyingTask,
    "associative_recall": AssociativeRecallTask,
}

__all__ = ["TASKS", "Batch", "Task", "TaskSpec", "get_task", "task_parameters"]


def get_task(name: str, **params) -> Task:
    """Build the task ``name`` with its parameters; unknown names or parameters raise ValueError."""
    if name not in TASKS:
        raise ValueError(unknown_name("task", name, TASKS))
    cls = TASKS[name]
    allowed = task_parameters(name)
    for key in params:
        if key not in allowed:
            raise ValueError(unknown_name(f"{name} task parameter", key, allowed))
    return cls(**params)


def task_parameters(name: str) -> dict[str, object]:
    """The task's parameters and their defaults."""
    return {f.name: f.default for f in dataclasses.fields(TASKS[name])}
