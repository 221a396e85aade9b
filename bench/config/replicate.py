"""``python -m bench replicate NAME``: a recipe (``bench.config.recipes``) at a scale, turned into sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bench.config.fields import MAX_THREADS, one_line
from bench.config.recipes import RECIPES, Recipe
from bench.config.run import SweepConfig
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


def recipe_sweeps(config: ReplicateConfig) -> list[tuple[str, SweepConfig]]:
    """(label, the sweep's config) for each sweep of the recipe at the config's scale; a recipe of several sweeps
    puts each in a folder of its own under the replication's folder."""
    recipe, scale = config.recipe, config.recipe.scales[config.scale]
    sweeps = []
    for sweep in recipe.sweeps:
        out = config.out_dir / sweep.label if len(recipe.sweeps) > 1 else config.out_dir
        values = {
            "task": recipe.task, "variant": recipe.variant, "models": recipe.models, "lengths": scale.lengths,
            "task_params": scale.task_params, "seeds": scale.seeds, "lrs": scale.lrs, "steps": scale.steps,
            "batch_size": scale.batch_size, "params": sweep.params.get(config.scale, scale.params),
            "eval_every": scale.eval_every,
            "val_size": scale.val_size, "test_size": scale.test_size, "warmup_frac": 0.1, "weight_decay": 0.01,
            "clip_norm": 1.0, "model_options": sweep.model_options, "device": config.device, "out": out,
            "executor": config.executor, "numerics": config.numerics, "report": config.report,
            "pack": config.pack,
            **{k: v for k, v in (("threads", config.threads), ("workers", config.workers)) if v is not None},
        }  # fmt: skip
        try:
            sweeps.append((sweep.label, SweepConfig(**values)))
        except ValueError as exc:
            message = one_line(exc, SweepConfig) if hasattr(exc, "errors") else str(exc)
            raise ConfigError(f"{recipe.name} ({config.scale}): {message}") from None
    return sweeps
