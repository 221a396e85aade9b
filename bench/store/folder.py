"""``ResultsFolder``: one view of a results folder that answers every "which runs" question.

Which runs: the newest record of each run key. Which trained run: for each task variant and its
parameters, model and its options, length and seed, the finished run with the lowest validation
loss (``best_by_validation``, the rule the report's learning-rate choice uses too). Commands that
rebuild trained models (``gradients``, ``speed --generate --from``) ask for runs that kept weights.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.store.files import GRADIENTS_FILE, RUNS_FILE, SPEED_FILE
from bench.store.jsonl import latest_by_key, read_manifest, read_records
from bench.store.records import with_facts

CHOICE = ("task", "model", "seq_len", "seed")  # the learning rate is chosen within each of these
CURVE = ("task", "variant", "task_params", "model", "model_options", "seq_len", "seed", "state")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def best_by_validation(records: list[dict]) -> list[dict]:
    """Per task, model, length and seed, the finished run with the lowest validation loss, in the order the
    first run of each was stored. Picking on the test set would flatter every model."""
    best: dict[tuple, dict] = {}
    for record in records:
        if record.get("status") != "ok" or _missing(record.get("val_loss")):
            continue
        key = tuple(record.get(field) for field in CHOICE)
        if key not in best or record["val_loss"] < best[key]["val_loss"]:
            best[key] = record
    return list(best.values())


def variant_name(variant_id: str) -> str:
    """``copying/variable@1`` -> ``variable``."""
    return variant_id.partition("/")[2].partition("@")[0]


class ResultsFolder:
    def __init__(self, path: Path):
        self.path = Path(path)

    def holds_results(self) -> bool:
        return any((self.path / name).is_file() for name in (RUNS_FILE, SPEED_FILE, GRADIENTS_FILE))

    def runs(self) -> list[dict]:
        """The newest record of every run, with its task facts and model traits."""
        return [with_facts(record) for record in latest_by_key(read_records(self.path)).values()]

    def speed_rows(self) -> list[dict]:
        return read_records(self.path, SPEED_FILE)

    def gradient_curves(self) -> list[dict]:
        """The newest curve of each task, model, length, seed and state: one measured later (after training,
        with another batch size) replaces one measured before, instead of being averaged with it."""
        newest = {}
        for record in read_records(self.path, GRADIENTS_FILE):
            newest[json.dumps([record.get(field) for field in CURVE], sort_keys=True)] = with_facts(record)
        return list(newest.values())

    def manifest(self) -> dict:
        return read_manifest(self.path)

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
