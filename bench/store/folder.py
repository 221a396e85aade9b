"""``ResultsFolder``: one view of a results folder that answers every "which runs" question.

What is read: the records that pass their schema's model (``bench.store.schemas``), and that agree with the
other records of their task on its metric (the analysis reads one metric per task); ``unreadable()`` lists the
others, with their file, line and reason, for the report.

Which runs: the newest readable record of each run key. Which trained run: for each task variant and its
parameters, budget, model and its options, length and seed, the finished run at the one learning rate chosen
for that cell on mean validation loss over its seeds (``best_by_validation``, the rule of every report and
verdict). Commands that
rebuild trained models (``gradients``, ``speed --generate --from``) ask for runs that kept weights.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.store.files import GRADIENTS_FILE, MANIFEST_FILE, MANIFEST_SCHEMA, RUNS_FILE, SPEED_FILE
from bench.store.jsonl import Unreadable, read_manifest, read_numbered
from bench.store.records import LEGACY_RECIPE, with_facts

# The record fields that make a comparison setting: runs that differ in any of these are never pooled or compared
# (the length, the model and its options are each cell's own; the learning rate is chosen within a cell).
SETTING_FIELDS = (
    "task", "variant", "task_params", "steps", "batch_size", "target_params", "warmup_frac", "weight_decay",
    "clip_norm", "eval_every", "val_size", "test_size", "eval_lengths", *LEGACY_RECIPE,
)  # fmt: skip
CURVE = ("task", "variant", "task_params", "model", "model_options", "seq_len", "seed", "state")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _canonical(value: object) -> str:
    if _missing(value):
        value = None
    return json.dumps(list(value) if isinstance(value, tuple) else value, sort_keys=True, default=str)


def cell_key(record: dict) -> tuple:
    """A run's cell: its comparison setting, model and options, and length (everything but seed and rate)."""
    setting = [LEGACY_RECIPE.get(name) if _missing(v := record.get(name)) else v for name in SETTING_FIELDS]
    canonical = json.dumps(setting, sort_keys=True, default=str)
    return canonical, record.get("model"), _canonical(record.get("model_options")), int(record["seq_len"])


def _finished(record: dict) -> bool:
    return record.get("status") == "ok" and not _missing(record.get("val_loss"))


def cell_learning_rates(records: list[dict]) -> dict[tuple, float]:
    """One learning rate per cell (``cell_key``): the rate with the fewest seeds left unfinished, then the lowest
    mean validation loss over its finished seeds. One rate serves every seed: picking each seed's best of K rates
    would report the luckiest draw (3 of 3 solved 28% of the time from three rates that each solve 30% of the time,
    against 2.7% from one)."""
    seeds: dict[tuple, set] = {}
    losses: dict[tuple, dict[float, dict[int, float]]] = {}
    for record in records:
        key = cell_key(record)
        seeds.setdefault(key, set()).add(record.get("seed"))
        if _missing(record.get("lr")):
            continue
        by_seed = losses.setdefault(key, {}).setdefault(float(record["lr"]), {})
        if _finished(record):
            seed = record.get("seed")
            by_seed[seed] = min(by_seed.get(seed, math.inf), float(record["val_loss"]))
    chosen = {}
    for key, rates in losses.items():
        if not any(rates.values()):
            continue  # no seed finished at any rate: no rate was chosen

        def rank(lr: float, key: tuple = key, rates: dict = rates) -> tuple[int, float, float]:
            done = rates[lr]
            mean = sum(done.values()) / len(done) if done else math.inf
            return len(seeds[key]) - len(done), mean, lr
        chosen[key] = min(rates, key=rank)
    return chosen


def best_by_validation(records: list[dict]) -> list[dict]:
    """Per cell and seed, the finished run at the cell's learning rate (``cell_learning_rates``), in the order the
    first run of each was stored. Picking on the test set would flatter every model."""
    rates = cell_learning_rates(records)
    best: dict[tuple, dict] = {}
    for record in records:
        if not _finished(record) or _missing(record.get("lr")):
            continue
        key = cell_key(record)
        if float(record["lr"]) == rates.get(key):
            best[(key, record.get("seed"))] = record
    return list(best.values())


_NO_MANIFEST = {"schema": MANIFEST_SCHEMA, "invocations": []}


def _one_metric_per_task(numbered: list[tuple[int, dict]]) -> tuple[list[dict], list[Unreadable]]:
    """The records that agree with their task's metric, and those that do not. A task's metric is the one its
    first record that states one states (``bench.analysis.facts.task_facts``), else the loss; a finished run is
    judged on its test value of that metric, so it must hold it."""
    metric: dict[str, str] = {}
    for _, record in numbered:
        if isinstance(record.get("metric"), str):
            metric.setdefault(record["task"], record["metric"])
    kept, problems = [], []
    for line, record in numbered:
        task_metric = metric.get(record["task"], "loss")
        stated = record.get("metric")
        chosen = record.get("status") == "ok" and record.get("val_loss") is not None
        if stated is not None and stated != task_metric:
            first = f"the first record of {record['task']} that states one says {task_metric!r}"
            reason = f"metric: {stated!r}, where {first}"
        elif chosen and f"test_{task_metric}" not in record:
            reason = f"test_{task_metric}: required in a finished run of {record['task']} (the metric of its records)"
        else:
            kept.append(record)
            continue
        problems.append(Unreadable(RUNS_FILE, line, reason))
    return kept, problems


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file; False for a path that cannot be one (a name too long, a loop of links)."""
    try:
        return path.is_file()
    except OSError:
        return False


def variant_name(variant_id: str) -> str:
    """``copying/variable@1`` -> ``variable``."""
    return variant_id.partition("/")[2].partition("@")[0]


class ResultsFolder:
    def __init__(self, path: Path):
        self.path = Path(path)

    def holds_results(self) -> bool:
        return any(_is_file(self.path / name) for name in (RUNS_FILE, SPEED_FILE, GRADIENTS_FILE))

    def runs(self) -> list[dict]:
        """The newest readable record of every run, with its task facts and model traits."""
        return self._runs()[0]

    def _runs(self) -> tuple[list[dict], list[Unreadable]]:
        numbered, problems = read_numbered(self.path, RUNS_FILE)
        newest: dict[str, tuple[int, dict]] = {}  # run_key -> (line, record), in the order each key was first stored
        for line, record in numbered:
            newest[record["run_key"]] = (line, with_facts(record))
        runs, disagreeing = _one_metric_per_task(list(newest.values()))
        return runs, problems + disagreeing

    def speed_rows(self) -> list[dict]:
        return [record for _, record in read_numbered(self.path, SPEED_FILE)[0]]

    def gradient_curves(self) -> list[dict]:
        """The newest curve of each task, model, length, seed and state: one measured later (after training,
        with another batch size) replaces one measured before, instead of being averaged with it."""
        newest = {}
        for _, record in read_numbered(self.path, GRADIENTS_FILE)[0]:
            newest[json.dumps([record.get(field) for field in CURVE], sort_keys=True)] = with_facts(record)
        return list(newest.values())

    def unreadable(self) -> list[Unreadable]:
        """Every line of the folder's files that is not read, and why: by file, then line."""
        problems = [*self._runs()[1], *self._manifest()[1]]
        for filename in (SPEED_FILE, GRADIENTS_FILE):
            problems += read_numbered(self.path, filename)[1]
        order = [RUNS_FILE, SPEED_FILE, GRADIENTS_FILE, MANIFEST_FILE]
        return sorted(problems, key=lambda p: (order.index(p.file) if p.file in order else len(order), p.line))

    def manifest(self) -> dict:
        """``read_manifest``'s view; a manifest that cannot be read reads as none (``unreadable`` says why)."""
        return self._manifest()[0]

    def _manifest(self) -> tuple[dict, list[Unreadable]]:
        try:
            manifest = read_manifest(self.path)
        except (OSError, ValueError, RecursionError) as exc:  # not JSON, not UTF-8, not a file
            return _NO_MANIFEST, [Unreadable(MANIFEST_FILE, 0, f"cannot read the manifest: {exc}")]
        invocations = manifest.get("invocations") if isinstance(manifest, dict) else None
        if not isinstance(invocations, list) or not all(
            isinstance(i, dict) and isinstance(i.get("config", {}), dict) for i in invocations
        ):
            reason = "not a manifest: an object of invocations, each an object with its config"
            return _NO_MANIFEST, [Unreadable(MANIFEST_FILE, 0, reason)]
        return manifest, []

    def task_parameters(self, task: str, variant: str | None = None) -> list[tuple[str, dict]]:
        """The (variant id, parameters) of the task that the folder's runs used, in the order first stored; only
        those of ``variant`` (a name such as ``tcn``) when given."""
        held = {}
        for record in self.runs():
            if record.get("task") == task and variant in (None, variant_name(record.get("variant", ""))):
                held[json.dumps([record.get("variant"), record.get("task_params")], sort_keys=True)] = (
                    record.get("variant"),
                    record.get("task_params") or {},
                )
        return list(held.values())

    def trained_runs(self, variant: str, task_params: dict, options: dict[str, dict | None]) -> dict[tuple, dict]:
        """(model, length, seed) -> the chosen run that kept its weights, of this task variant and parameters.

        ``options`` maps each model wanted to the full options its runs must have been trained with (a run
        trained with other options is another model), or to None to take the runs' own options."""
        kept = [
            record
            for record in self.runs()
            if record.get("variant") == variant
            and record.get("task_params") == task_params
            and record.get("checkpoint")
            and record.get("model") in options
            and options[record["model"]] in (None, record.get("model_options"))
        ]
        return {(r["model"], int(r["seq_len"]), int(r["seed"])): r for r in best_by_validation(kept)}

    def longest_trained_run(self, variant: str, task_params: dict, options: dict[str, dict | None]) -> dict[str, dict]:
        """Per model, of its chosen runs that kept weights: the one at the longest length, then the lowest
        validation loss (over seeds)."""
        chosen: dict[str, dict] = {}
        for record in self.trained_runs(variant, task_params, options).values():
            held = chosen.get(record["model"])
            if held is None or (record["seq_len"], -record["val_loss"]) > (held["seq_len"], -held["val_loss"]):
                chosen[record["model"]] = record
        return chosen
