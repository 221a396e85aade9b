"""``python -m bench replicate NAME``: a recipe (``bench.config.recipes``) at a scale, turned into sweeps."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bench.config.fields import MAX_THREADS, one_line
from bench.config.recipes import RECIPES, Recipe, Sweep
from bench.config.run import RunConfig
from bench.errors import ConfigError
from tasks.registry_errors import unknown_name

REPLICATIONS = Path("results") / "replications"


class ReplicateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    scale: Literal["small", "full"] = "small"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(default=None, gt=0, le=MAX_THREADS)
    executor: Literal["subprocess", "inline", "ray", "slurm"] = "subprocess"
    workers: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    numerics: Literal["portable", "native"] = "portable"
    out: Path | None = None
    report: bool = True
    pack: bool = False  # as run --pack

    @field_validator("name")
    @classmethod
    def _known_recipe(cls, name: str) -> str:
        if name not in RECIPES:
            raise ValueError(unknown_name("recipe", name, RECIPES))
        return name

    @property
    def recipe(self) -> Recipe:
        return RECIPES[self.name]

    @property
    def out_dir(self) -> Path:
        """results/replications/NAME at the small scale, NAME-full at the full one."""
        if self.out is not None:
            return self.out
        return REPLICATIONS / (self.name if self.scale == "small" else f"{self.name}-{self.scale}")


def load_replicate_config(cli: dict[str, Any]) -> ReplicateConfig:
    try:
        return ReplicateConfig(**{k: v for k, v in cli.items() if v is not None})
    except ValueError as exc:  # pydantic's ValidationError is one
        raise ConfigError(one_line(exc, ReplicateConfig) if hasattr(exc, "errors") else str(exc)) from None


def recipe_sweeps(config: ReplicateConfig) -> list[tuple[str, RunConfig]]:
    """(label, the sweep's config) for each sweep of the recipe at the config's scale; a named sweep goes in a
    folder of its own under the replication's folder (as replication.json says). The training recipe (optimiser,
    schedule, clipping) is the scale's: the paper's at both scales."""
    recipe = config.recipe
    sweeps = []
    for sweep in recipe_sweeps_at(recipe, config.scale):
        out = config.out_dir / sweep.label if sweep.label else config.out_dir  # the folder replication.json names
        values = {"task": recipe.task, "variant": recipe.variant, "device": config.device, "out": out,
                  "executor": config.executor, "numerics": config.numerics, "report": config.report,
                  "pack": config.pack, **sweep_values(recipe, sweep, config.scale),
                  **{k: v for k, v in (("threads", config.threads), ("workers", config.workers)) if v is not None}}
        try:
            sweeps.append((sweep.label, RunConfig(**values)))
        except ValueError as exc:
            message = one_line(exc, RunConfig) if hasattr(exc, "errors") else str(exc)
            raise ConfigError(f"{recipe.name} ({config.scale}): {message}") from None
    return sweeps


def recipe_sweeps_at(recipe: Recipe, scale: str) -> list[Sweep]:
    return [sweep for sweep in recipe.sweeps if scale in sweep.scales]


def sweep_values(recipe: Recipe, sweep: Sweep, scale: str) -> dict[str, Any]:
    """What one sweep of the recipe trains at ``scale``: the scale's fields with the sweep's overrides, its models
    and their options, and the training recipe's fields."""
    overrides = dict(sweep.overrides.get(scale, {}))
    chosen = dataclasses.replace(recipe.scales[scale],
                                 **{k: v for k, v in overrides.items() if k not in ("models", "model_options")})
    models = overrides.get("models", recipe.models)
    options = {**sweep.model_options, **overrides.get("model_options", {})}
    return {
        "models": models, "lengths": chosen.lengths, "task_params": chosen.task_params, "seeds": chosen.seeds,
        "lrs": chosen.lrs, "steps": chosen.steps, "batch_size": chosen.batch_size, "params": chosen.params,
        "eval_every": chosen.eval_every, "val_size": chosen.val_size, "test_size": chosen.test_size,
        "eval_lengths": chosen.eval_lengths, "widths": {m: w for m, w in chosen.widths.items() if m in models},
        "model_options": {m: o for m, o in options.items() if m in models}, **chosen.training,
    }  # fmt: skip
