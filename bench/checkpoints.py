"""A run's weights, before and after training, rebuilt from its record.

The training job saves each finished run's final weights (those its test metrics were computed with)
as ``<out>/checkpoints/<run_key>.pt``, named in the record's ``checkpoint`` field. The initial
weights need no file: they are drawn again from the run's own initialisation seed, exactly as
the run drew them. ``python -m bench gradients`` and ``speed --from`` read runs this way.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

import models
import tasks
from bench.measure.seeds import derive_seed
from bench.store.files import CHECKPOINT_DIR  # the folder's layout: the store's names


def initial_model(
    name: str, spec: tasks.TaskSpec, *, seed: int, target_params: int, options: dict, width: int | None = None
) -> models.SequenceModel:
    """The model a run of ``seed`` starts from, at ``width`` when the run fixes one, else at the width solved for
    ``target_params``; the global RNG is left as found."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "init", name))  # initialisation has its own seed
        if width is not None:
            return models.build_model(name, spec, width=width, **options)
        return models.build_model(name, spec, target_params=target_params, **options)


def save_checkpoint(model: torch.nn.Module, folder: Path, run_key: str) -> str:
    """Write the weights as ``<folder>/<run_key>.pt``; returns the file name, which goes in the record."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_key}.pt"
    partial = path.with_suffix(".pt.partial")
    torch.save(model.state_dict(), partial)
    os.replace(partial, path)  # a reader never sees half a file
    return path.name


def record_task(record: dict) -> tasks.Task:
    return tasks.get_task(record["task"], **record["task_params"])


def initial_model_of(record: dict) -> models.SequenceModel:
    """The weights the recorded run started from."""
    spec = record_task(record).spec
    options = record["model_options"]
    return initial_model(record["model"], spec, seed=record["seed"], target_params=record["target_params"],
                         options=options, width=record.get("fixed_width"))  # fmt: skip


def trained_model_of(record: dict, out_dir: Path) -> models.SequenceModel:
    """The weights the recorded run ended with; FileNotFoundError when the run kept none."""
    if not record.get("checkpoint"):
        raise FileNotFoundError(
            f"run {record['run_key'][:12]} ({record['model']}, T={record['seq_len']}) kept no weights"
        )
    path = out_dir / CHECKPOINT_DIR / record["checkpoint"]
    with torch.random.fork_rng(devices=[]):  # the initialisation it overwrites must not move the global RNG
        spec = record_task(record).spec
        model = models.build_model(record["model"], spec, width=record["width"], **record["model_options"])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model
