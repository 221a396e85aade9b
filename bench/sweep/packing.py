"""``run --pack``: the runs of one model and length that differ only in seed and learning rate, as one job that
trains them together (``bench.train.pack``). Its records are those of the unpacked runs, with the same run
keys and fields, plus ``packed_with`` (the run keys trained together) and the pack's shared step time."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import models
from bench.engines.job import Context
from bench.measure.torch_setup import failure_status
from bench.sweep.plan import RunSpec
from bench.sweep.training import (
    TrainingJob,
    build_model_and_data,
    check_origins,
    data_stream,
    finish_record,
    identity_record,
    measure_trained,
    open_run,
)
from bench.train.pack import packs, train_packed
from tasks.plugins import relative_to


@dataclass(frozen=True)
class PackedTrainingJob:
    specs: tuple[RunSpec, ...]  # one model, length, task and budget; seeds and learning rates differ

    @property
    def timeout_s(self) -> float | None:  # the members' limits together: the pack does their work
        first = self.specs[0].timeout_s
        return first * len(self.specs) if first is not None else None

    @property
    def series(self) -> str:
        return self.specs[0].model

    @property
    def length(self) -> int:
        return self.specs[0].seq_len

    @property
    def numerics(self) -> str:
        return self.specs[0].numerics

    def describe(self) -> str:
        return f"{self.series} T={self.length} packed x{len(self.specs)}"

    def identities(self) -> list[dict]:
        keys = [spec.run_key for spec in self.specs]
        return [{**identity_record(spec), "packed_with": keys} for spec in self.specs]

    def measure(self, context: Context) -> list[dict]:
        with relative_to(self.specs[0].plugin_root):  # a plugin file named relative to where the sweep started
            return self._measure(context)

    def _measure(self, context: Context) -> list[dict]:
        started_at, clock = datetime.now(UTC), time.perf_counter()
        records = [{**identity, "status": "error", "error": None} for identity in self.identities()]
        try:
            for record, figures in zip(records, _train_and_measure(self.specs, context), strict=True):
                record.update(figures)
        except Exception as exc:  # noqa: BLE001 - a failing pack is recorded for each of its runs
            for record in records:
                record.update(status=failure_status(exc), error=f"{type(exc).__name__}: {exc}")
        pairs = zip(records, self.specs, strict=True)
        return [finish_record(record, spec, started_at, clock) for record, spec in pairs]


def _train_and_measure(specs: tuple[RunSpec, ...], context: Context) -> list[dict]:
    check_origins(specs[0])
    first = specs[0]
    task, memory = open_run(first, context.fresh_process)
    members = [build_model_and_data(spec, task) for spec in specs]
    results = train_packed(
        [model for model, _, _ in members],
        task,
        first.budget,
        lrs=[spec.lr for spec in specs],
        seq_len=first.seq_len,
        data=[data_stream(spec, "train") for spec in specs],
        val_sets=[val_set for _, val_set, _ in members],
        device=first.device,
        progress=context.progress,
    )
    figures = [measure_trained(spec, task, model, result, val_set, test_set, memory)
               for spec, (model, val_set, test_set), result in zip(specs, members, results, strict=True)]  # fmt: skip
    peak = figures[-1]["peak_mem_mb"]  # the peak of the whole pack, measured after its last member
    return [{**f, "peak_mem_mb": peak} for f in figures]


def pack_jobs(specs: list[RunSpec]) -> list:
    """The runs as jobs: those of a packable family and optimiser (``bench.train.pack.packs``) grouped by everything
    but seed and learning rate (a pack of one stays a plain job), the others one job each, in plan order."""
    def group(spec: RunSpec) -> tuple:
        together = models.packable(spec.model) and packs(spec.budget)
        return (spec.model, spec.seq_len, spec.task, spec.variant) if together else (spec.run_key,)

    jobs = []
    for _, grouped in itertools.groupby(specs, key=group):
        members = tuple(grouped)
        jobs.append(PackedTrainingJob(members) if len(members) > 1 else TrainingJob(members[0]))
    return jobs
