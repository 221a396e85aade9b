"""``run_replication``: a recipe's sweeps, each a normal resumable sweep, and the record of what was rerun."""

from __future__ import annotations

import dataclasses

from bench.config.replicate import ReplicateConfig, recipe_sweeps
from bench.store.replication import write_replication
from bench.sweep.run import run_sweep


def describe(config: ReplicateConfig) -> dict:
    """What replication.json keeps: the recipe (source, setting, claim, published rows), the scale, the sweeps."""
    recipe = config.recipe
    scale = recipe.scales[config.scale]
    return {
        "name": recipe.name, "source": recipe.source, "setting": recipe.setting, "claim": recipe.claim,
        "paper": {k: dataclasses.asdict(v) for k, v in recipe.paper.items()}, "deviations": recipe.deviations,
        "task": recipe.task, "variant": recipe.variant, "scale": config.scale, "shrunk": recipe.shrunk,
        "scale_settings": dataclasses.asdict(scale), "published": [dataclasses.asdict(p) for p in recipe.published],
        # Each sweep's folder, relative to the replication's: the comparison is rebuilt from wherever it is read.
        "sweeps": [{"label": label, "folder": label or "."} for label, _ in recipe_sweeps(config)],
    }  # fmt: skip


def run_replication(config: ReplicateConfig, *, progress: bool = True) -> dict[str, list[dict]]:
    """Every sweep of the recipe (resuming what is stored); returns each sweep's planned records by label."""
    write_replication(config.out_dir, describe(config))
    return {label: run_sweep(sweep, progress=progress) for label, sweep in recipe_sweeps(config)}
