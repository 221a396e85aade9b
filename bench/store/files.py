"""The names of what a results folder holds, and the schema version of each JSONL file's records.

A record's ``schema`` says how to read it. The run key of a training run hashes ``RUN_KEY_VERSION``,
not the record schema, so a record can gain fields without any stored run being planned again.
"""

from __future__ import annotations

RUNS_FILE = "runs.jsonl"  # python -m bench run: one record per training run
SPEED_FILE = "speed.jsonl"  # python -m bench speed: one row per model, mode and length
GRADIENTS_FILE = "gradients.jsonl"  # python -m bench gradients: one curve per model, length, seed and state
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
CHECKPOINT_DIR = "checkpoints"

RUN_KEY_VERSION = 1  # part of every run key: bump only when what a run computes changes meaning
SCHEMAS = {RUNS_FILE: 2, SPEED_FILE: 1, GRADIENTS_FILE: 1}  # the current record schema of each file
MANIFEST_SCHEMA = 2  # 2: a list of every invocation that wrote to the folder; 1: the last invocation alone
