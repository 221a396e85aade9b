"""What every record is built from, and how records written before a field existed are read.

``failure_record`` is the one builder of a record that carries no figures (a job that failed, was
killed, or was not attempted): every command's jobs go through it, in the worker and in the parent.

``with_facts`` fills in, for records written before records carried them (run records of schema 1,
gradient curves before schema 1), the task facts (``tasks.Task.facts``) and the model traits
(``models.model_traits``) that the analysis reads. The tables below are a frozen description of what
those older records meant; families and tasks added later always write their own.
"""

from __future__ import annotations

# Task facts as schema-1 run records would have stored them, by task name.
_RECALL = {"metric": "accuracy", "higher_is_better": True, "solved_threshold": 0.99}
LEGACY_TASK_FACTS: dict[str, dict] = {
    "adding": {"metric": "loss", "higher_is_better": False, "solved_threshold": 0.01, "solved_rule": "MSE < 0.01",
               "secondary_metric": "accuracy", "strict_rule": "accuracy >= 0.95 (|error| < 0.04)"},
    "copying": {**_RECALL, "solved_rule": "recall accuracy >= 0.99"},
    "selective_copying": {**_RECALL, "solved_rule": "recall accuracy >= 0.99"},
    "associative_recall": {**_RECALL, "solved_rule": "query accuracy >= 0.99"},
}
# Model traits of the families that existed before records carried them.
LEGACY_TRAITS: dict[str, list[str]] = {
    "rnn": ["fixed_state", "recurrent"],
    "lstm": ["fixed_state", "gated", "recurrent"],
    "gru": ["fixed_state", "gated", "recurrent"],
    "transformer": ["attention", "one_hop"],
    "ssm": ["fixed_state", "one_hop", "ssm", "time_invariant"],
    "seq2seq": ["gated", "recurrent"],
}
ABSOLUTE_POSITIONS = ("sinusoidal", "learned")
# The training recipe every run used before records stored it (bench.train.budget.RECIPE_DEFAULTS; a test keeps the
# two equal): a record without these fields trained with these values.
LEGACY_RECIPE = {"optimizer": "adamw", "betas": [0.9, 0.999], "eps": 1e-8, "alpha": 0.99, "momentum": 0.0,
                 "schedule": "cosine", "step_every": None, "step_gamma": 0.1}  # fmt: skip
LEGACY_STRICT_ACCURACY = 0.95  # the Transformer options that added a trait then


def failure_record(identity: dict, status: str, error: str) -> dict:
    """A record without figures: what the job was (its identity), how it ended and why."""
    return {**identity, "status": status, "error": error}


def with_facts(record: dict) -> dict:
    """The record with task facts and model traits, filled in from the legacy tables where it has none."""
    if "metric" not in record and record.get("task") in LEGACY_TASK_FACTS and "seq_len" in record:
        record = {**LEGACY_TASK_FACTS[record["task"]], **record}
        if record.get("strict_rule") and isinstance(record.get("test_accuracy"), float):
            record["solved_strict"] = bool(record.get("solved")) and record["test_accuracy"] >= LEGACY_STRICT_ACCURACY
    if "model_traits" not in record and record.get("model") in LEGACY_TRAITS:
        traits = list(LEGACY_TRAITS[record["model"]])
        options = record.get("model_options") if isinstance(record.get("model_options"), dict) else {}
        if options.get("positions") in ABSOLUTE_POSITIONS:
            traits = sorted([*traits, "absolute_positions"])
        record = {**record, "model_traits": traits}
    return record
