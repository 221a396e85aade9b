"""A sweep as a list of runs: task x model x length x seed x learning rate, each with its run key.

A ``RunSpec`` is a run's identity (what it computes: hashed into its ``run_key``) and its placement
(where and under which limits it runs: not hashed, so a sweep can resume on another machine or engine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from dataclasses import dataclass, field

import models
import tasks
from bench.config.run import RunConfig
from bench.store.files import CHECKPOINT_DIR, RUN_KEY_VERSION
from bench.train.budget import Budget, budget_identity
from models import plugins as model_plugins
from models.base import keyed_options
from tasks.plugins import root as plugin_root


@dataclass(frozen=True)
class RunSpec:
    task: str
    variant: str
    task_params: dict
    model: str
    model_options: dict
    seq_len: int
    seed: int
    lr: float
    budget: Budget
    eval_lengths: tuple[int, ...] = ()  # longer lengths the trained model is also tested at
    fixed_width: int | None = None  # a width the model is built at, instead of the budget's parameter target
    # Where and under which limits it runs: not part of its identity.
    device: str = "cpu"
    threads: int | None = None
    timeout_s: float | None = None
    memory_limit_mb: int | None = None
    concurrent_runs: int = 1  # runs in flight at most, this one included: concurrent runs share the machine
    numerics: str = "portable"  # CPU kernel paths (bench.measure.numerics): recorded, not part of the key
    compiled: bool = False  # forward and backward through torch.compile: the same map, recorded, not in the key
    checkpoint_dir: str | None = None  # where the final weights go (absolute: a cluster job's folder may differ)
    # Where a plugin's relative file path is read from (absolute: a Ray or SLURM worker's working directory may
    # differ); the record keeps the path as typed. None: no plugin, or the worker's working directory.
    plugin_root: str | None = None
    # Where a plugin model or task comes from (tasks.plugins: module or file, name, sha256, package version): part of
    # the identity, so a changed plugin gets new run keys; None (and absent from the key) for a built-in.
    model_origin: dict | None = None
    task_origin: dict | None = None
    run_key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_key", compute_run_key(self))

    def identity(self) -> dict:
        """What the run computes, not where: every field but the device, threads, limits and the key."""
        where = {
            "device", "threads", "timeout_s", "memory_limit_mb", "concurrent_runs", "checkpoint_dir", "run_key",
            "numerics", "plugin_root", "compiled",
            "budget",  # flattened below
        }  # fmt: skip
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in where}
        for name in ("eval_lengths", "model_origin", "task_origin"):
            if not fields[name]:  # absent rather than empty: runs without them keep the keys they had
                del fields[name]
        if self.fixed_width is None:  # likewise: a run sized by its parameter target keeps its key
            del fields["fixed_width"]
        # An option that picks an implementation of the same map (models.base.implementation) is hashed at a
        # fixed value, as the numerics are left out: a faster kernel does not make finished runs new.
        if self.model in models.MODELS:
            fields["model_options"] = keyed_options(models.MODELS[self.model].options, self.model_options)
        return {**fields, **budget_identity(self.budget)}  # the recipe fields at their defaults left out, likewise


def compute_run_key(spec: RunSpec) -> str:
    """sha256 of the run's identity: what it computes, not where (device and threads left out)."""
    identity = {"schema": RUN_KEY_VERSION, **spec.identity()}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def budget_of(config: RunConfig) -> Budget:
    return Budget(
        steps=config.steps,
        batch_size=config.batch_size,
        target_params=config.params,
        warmup_frac=config.warmup_frac,
        weight_decay=config.weight_decay,
        clip_norm=config.clip_norm,
        eval_every=config.eval_every,
        val_size=config.val_size,
        test_size=config.test_size,
        optimizer=config.optimizer,
        betas=tuple(config.betas),
        eps=config.eps,
        alpha=config.alpha,
        momentum=config.momentum,
        schedule=config.schedule,
        step_every=config.step_every,
        step_gamma=config.step_gamma,
    )


def plan(config: RunConfig) -> list[RunSpec]:
    """Every run of the sweep, ordered model by model and short lengths first."""
    task = tasks.get_task(config.task, **config.task_arguments)
    budget = budget_of(config)
    origins = {model: model_plugins.origin(model) for model in config.models}
    task_origin = tasks.task_origin(config.task)
    uses_plugins = task_origin is not None or any(origins.values())
    grid = itertools.product(config.models, sorted(config.lengths), config.seeds, config.lrs)
    return [
        RunSpec(
            task=config.task,
            variant=task.variant_id,
            task_params=task.params(),
            model=model,
            model_options=models.full_options(model, config.model_options.get(model, {})),
            seq_len=seq_len,
            seed=seed,
            lr=lr,
            budget=budget,
            eval_lengths=config.eval_lengths_for(seq_len),
            fixed_width=config.widths.get(model),
            device=config.resolved_device,
            threads=threads_per_run(config),
            timeout_s=config.timeout_s,
            memory_limit_mb=config.memory_limit_mb,
            concurrent_runs=config.max_workers,
            numerics=config.numerics,
            compiled=config.compile,
            checkpoint_dir=str((config.out_dir / CHECKPOINT_DIR).resolve()) if config.checkpoints else None,
            plugin_root=str(plugin_root()) if uses_plugins else None,
            model_origin=origins[model],
            task_origin=task_origin,
        )
        for model, seq_len, seed, lr in grid
    ]


def threads_per_run(config: RunConfig) -> int | None:
    """CPU threads of each run: as given; else, with several runs in flight, the cores divided among them."""
    if config.threads is not None:
        return config.threads
    if not config.runs_here:
        return config.cpus_per_run or 1  # what the run's task or job was given
    if config.max_workers > 1:
        return max(1, (os.cpu_count() or 1) // config.max_workers)
    return None  # torch's default
