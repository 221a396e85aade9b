"""Every flag, option, task parameter and path at its edges (``tests/fuzz/edges.py``), alone on an otherwise good
command line, and as a TOML key: the same property as the other fuzz tests (validates within the documented bounds,
or one line and exit 2, nothing written). Each list is finite and drawn until exhausted, so every edge runs."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.edges import (
    GRADIENT_EDGES,
    OPTION_EDGES,
    PATHS,
    RUN_EDGES,
    SPEED_EDGES,
    TASK_PARAM_EDGES,
    cases,
)
from tests.fuzz.harness import assert_validates_or_refuses, sandbox
from tests.fuzz.strategies import to_toml
from tests.helpers import known_store

BASE = {
    "run": ["run", "--task", "adding", "--models", "lstm", "--no-progress"],
    "speed": ["speed", "--models", "lstm", "--lengths", "64", "--no-progress"],
    "gradients": ["gradients", "--task", "adding", "--models", "lstm", "--no-progress"],
}
FLAG_CASES = [
    (command, flag, value)
    for command, edges in (("run", RUN_EDGES), ("speed", SPEED_EDGES), ("gradients", GRADIENT_EDGES))
    for flag, value in cases(edges)
] + [("run", "--option", option) for option in OPTION_EDGES]
PATH_CASES = [
    (command, flag, path)
    for command, flags in (("run", ["--out", "--config"]), ("speed", ["--out", "--from"]),
                           ("gradients", ["--out", "--from"]), ("report", [""]))
    for flag in flags
    for path in PATHS
]  # fmt: skip
TOML_CASES = [{flag.removeprefix("--").replace("-", "_"): value} for flag, value in cases(RUN_EDGES)]
TOML_CASES += [{"task_params": {key: value}} for key, value in TASK_PARAM_EDGES]
TOML_CASES += [{"model_options": {o.split(".")[0]: {o.split(".")[1].split("=")[0]: o.split("=", 1)[1]}}}
               for o in OPTION_EDGES]  # fmt: skip


def exhaust(items: list) -> settings:
    """Enough examples to draw every item of a finite list (hypothesis stops once it has drawn them all)."""
    return settings(max_examples=2 * len(items))


@exhaust(FLAG_CASES)
@given(st.sampled_from(FLAG_CASES))
def test_every_flag_at_its_edges(case):
    command, flag, value = case
    with sandbox() as root:
        argv = [*BASE[command], "--out", str(root / "out"), flag, value]
        assert_validates_or_refuses(command, argv, root)


@exhaust(PATH_CASES)
@given(st.sampled_from(PATH_CASES))
def test_every_path_at_its_edges(case):
    command, flag, name = case
    with sandbox() as root:
        (root / "file.txt").write_text("not a folder")
        known_store(root / "results")
        path = name if name.startswith("/") or not name else str(root / name)
        argv = [*BASE[command], flag, path] if command != "report" else ["report", path]
        if flag == "--config":
            (root / "out").mkdir()  # so that a config path of "out" is a folder
        assert_validates_or_refuses(command, argv, root)


@exhaust(TOML_CASES)
@given(st.sampled_from(range(len(TOML_CASES))))
def test_every_toml_key_at_its_edges(index):
    table = {key: _typed(value) for key, value in TOML_CASES[index].items()}
    with sandbox() as root:
        (root / "sweep.toml").write_text(to_toml({"task": "adding", "models": ["lstm"], **table}))
        argv = [*BASE["run"], "--out", str(root / "out"), "--config", str(root / "sweep.toml")]
        assert_validates_or_refuses("run", argv, root)


def _typed(value: object) -> object:
    """A flag's text as TOML would hold it: a number where it reads as one, a list where it has commas."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    if "," in value:
        return [_typed(item.strip()) for item in value.split(",")]
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if isinstance(number, float) and not math.isfinite(number) and value.lower() not in ("nan", "inf", "-inf"):
            return value  # "1e400": TOML would read a float of that size as inf; keep the text
        return number
    return value
