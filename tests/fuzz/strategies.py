"""What the fuzz tests feed the commands: flag values, TOML files and paths, good and bad.

Each flag draws either a value close to a good one (so a command line gets past its first field and reaches the
checks behind it: the task's minimum length, a model's options, the engines' flags) or a bad value of any kind:
wrong types, out-of-range and non-finite numbers, empty and repeated list items, unknown names, unicode, very long
strings. Registries are read, never copied, so a family or task added later is fuzzed too.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time
from pathlib import Path

from hypothesis import strategies as st

import models
import tasks
from bench.config.fields import MAX_BATCH_SIZE, MAX_LENGTH, MAX_SEED, MAX_STEPS, MAX_THREADS
from bench.config.presets import PRESETS

TASKS = list(tasks.TASKS)
MODELS = list(models.MODELS)
VARIANTS = sorted({v for name in TASKS for v in tasks.task_variants(name)})
TASK_PARAMS = sorted({k for name in TASKS for k in tasks.get_task(name).params()})
OPTIONS = {name: models.full_options(name, {}) for name in MODELS}

# ---- bad values of any kind, as a shell would pass them ----------------------------------------------------------

# A process's arguments cannot hold NUL; everything else can, newlines and right-to-left marks included.
ARGV_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
NUMBER_WORDS = [
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", "1e308", "0", "-0", "-1", "0.0",
    "1.5", "1e3", "1_000", "0x10", " 8", "8 ", "+8", "٣", "１２", "8.", ".5", "2**20", "true", "None", "", " ",
    str(MAX_LENGTH), str(MAX_LENGTH + 1), str(2**63), str(2**64), "9" * 30, "9" * 5000,
]  # fmt: skip


def texts(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(ARGV_CHARS, max_size=max_size)


def words(max_size: int = 10) -> st.SearchStrategy[str]:
    """Text without a line break: what a stray argument may hold (argparse repeats one as it is: see
    test_one_line.py)."""
    return st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n"), max_size=max_size)


def long_texts() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["x", "é", "8", ",", "😀", "a,"]), st.integers(1_000, 20_000)).map(
        lambda pair: pair[0] * pair[1]
    )


def number_words() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NUMBER_WORDS),
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False).map(repr),
    )


def bad_words() -> st.SearchStrategy[str]:
    """A value of the wrong kind for almost any flag."""
    names = st.sampled_from([*TASKS, *MODELS, *VARIANTS, *PRESETS, "cpu", "cuda", "inline", "ray", "2x", "native"])
    return st.one_of(number_words(), texts(), long_texts(), names, comma_lists(st.one_of(number_words(), texts(5))))


def comma_lists(items: st.SearchStrategy[str], max_size: int = 5) -> st.SearchStrategy[str]:
    """"a,b,c" with empty and repeated items among them (hypothesis draws both)."""
    return st.lists(st.one_of(items, items, items, items, st.sampled_from(["", " "])), max_size=max_size).map(",".join)


def ints(low: int, high: int, *edges: int) -> st.SearchStrategy[str]:
    """A good count, or one at or past an edge (0, -1, the bound, one past it)."""
    good = st.integers(low, high)
    return st.one_of(good, good, good, st.sampled_from([0, -1, *edges])).map(str)


def floats(low: float, high: float, *edges: float) -> st.SearchStrategy[str]:
    edge = st.sampled_from([0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 5e-324, 1e308, *edges])
    good = st.floats(low, high, allow_subnormal=False)
    return st.one_of(good, good, good, edge).map(repr)


# Hypothesis draws the first of a choice more often (it shrinks toward it): the rare branch comes last.
RARELY = st.sampled_from([False] * 9 + [True])
RARELY_NOT = st.sampled_from([True] * 4 + [False])


def flag_value(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Three draws in four close to good, one of any kind."""
    return st.one_of(good, good, good, bad_words())


# ---- paths: in the sandbox or not, existing or not, writable or not -------------------------------------------


def paths(root: Path) -> st.SearchStrategy[str]:
    """A folder to write to or read from: new, existing, a file, under a file, nowhere, unwritable, very long."""
    inside = st.sampled_from(["out", "a/b/c", "results", "runs.jsonl", "file.txt", "file.txt/out", "empty", ".", ""])
    return st.one_of(
        inside.map(lambda name: str(root / name) if name else ""),
        st.sampled_from(["/nonexistent/x", "/dev/null", "/dev/null/x", "/proc/seqbench", "/", "relative/out"]),
        texts(12).map(lambda name: str(root / name)),
        st.integers(200, 5000).map(lambda n: str(root / ("d" * n))),
        st.integers(100, 2000).map(lambda n: str(root / "/".join(["d"] * n))),
    )


# ---- run, speed and gradients: good values per flag -----------------------------------------------------------

MODEL_LIST = comma_lists(st.sampled_from(MODELS), max_size=4)
LENGTHS = comma_lists(ints(1, 300, MAX_LENGTH, MAX_LENGTH + 1), max_size=4)
SEEDS = comma_lists(ints(0, 5, MAX_SEED, MAX_SEED + 1, 2**64), max_size=3)


# An integer option (layers, heads, state size) has no upper bound in models/: the config builds the model to count
# its parameters, so --option rnn.layers=10000 takes two minutes to refuse, and a larger one longer (reported in
# docs/reliability.md, for models/ to bound). Integer options are drawn small here; every other kind of value, and
# any size of number for a float option, is drawn.
SMALL_INTS = ["1", "2", "3", "0", "-1", "64"]
OPTION_WORDS = ["2.5", "nan", "inf", "-inf", "1e999", "true", "[1, 2]", "{a = 1}", "'x'", "rope", "learned",
                "vandermonde", "recurrence", "scan", "1" + "0" * 400]  # fmt: skip


def option_values(default: object) -> st.SearchStrategy[str]:
    """A --option value for an option whose default is ``default``."""
    words = st.one_of(st.sampled_from([*SMALL_INTS, *OPTION_WORDS]), st.text(ARGV_CHARS, min_size=1, max_size=8))
    if isinstance(default, float):
        return st.one_of(words, number_words().filter(bool))
    return words


def options() -> st.SearchStrategy[str]:
    """--option MODEL.KEY=VALUE, with a known model and key, a value read as TOML (or as a word)."""
    known = st.sampled_from(MODELS).flatmap(
        lambda m: st.sampled_from([*OPTIONS[m], "nope"]).flatmap(
            lambda key: st.tuples(st.just(m), st.just(key), option_values(OPTIONS[m].get(key)))
        )
    )
    well_formed = known.map(lambda t: f"{t[0]}.{t[1]}={t[2]}")
    malformed = st.one_of(texts(15), st.sampled_from(["ssm.layers", "=1", ".=", "ssm=1", ".layers=1", "ssm.=1"]))
    return st.one_of(well_formed, well_formed, well_formed, well_formed, well_formed, malformed)


RUN_GOOD = {
    "task": st.sampled_from(TASKS),
    "variant": st.sampled_from(VARIANTS),
    "models": MODEL_LIST,
    "lengths": LENGTHS,
    "seeds": SEEDS,
    "preset": st.sampled_from([*PRESETS, "quik"]),
    "steps": ints(1, 1000, MAX_STEPS, MAX_STEPS + 1),
    "batch_size": ints(1, 128, MAX_BATCH_SIZE, MAX_BATCH_SIZE + 1),
    "params": ints(4000, 50_000, 500, 10**12),
    "lrs": comma_lists(floats(1e-5, 1.0, 1e-400), max_size=3),
    "warmup_frac": floats(0.0, 1.0, 1.0),
    "weight_decay": floats(0.0, 1.0),
    "clip_norm": floats(0.0, 10.0),
    "eval_every": ints(1, 100, MAX_STEPS + 1),
    "eval_lengths": comma_lists(
        st.sampled_from(["2x", "1.5x", "0x", "0.5x", "4x", "512", "0", "99999999999x", "1" + "0" * 400 + "x",
                         "9" * 5000, f"{MAX_LENGTH}", f"{MAX_LENGTH}x", "1e3x", "2X", "x", "2xx"]),
        max_size=3,
    ),  # fmt: skip
    "val_size": ints(1, 64, 2**20, 2**20 + 1),
    "test_size": ints(1, 64, 2**20 + 1),
    "device": st.sampled_from(["auto", "cpu", "cuda", "gpu", "CPU"]),
    "threads": ints(1, 8, MAX_THREADS, MAX_THREADS + 1),
    "executor": st.sampled_from(["subprocess", "inline", "ray", "slurm", "dask"]),
    "workers": ints(1, 8, MAX_THREADS + 1, 10**20),
    "ray_address": st.sampled_from(["auto", "127.0.0.1:6379", ""]),
    "cpus_per_run": ints(1, 8, MAX_THREADS + 1),
    "gpus_per_run": floats(0.0, 8.0, 1e9),
    "partition": texts(10),
    "time_min": ints(1, 600, 10**9),
    "slurm_cluster": st.sampled_from(["slurm", "local", "lokal"]),
    "timeout_s": floats(0.1, 600.0, 1e300, 7 * 24 * 3600.0),
    "memory_limit_mb": ints(1, 10_000, 2**30, 2**30 + 1, 2**70),
    "numerics": st.sampled_from(["portable", "native", "fast", "native,portable"]),
}
SPEED_GOOD = {
    "models": MODEL_LIST,
    "lengths": LENGTHS,
    "batch_size": RUN_GOOD["batch_size"],
    "params": RUN_GOOD["params"],
    "task": RUN_GOOD["task"],
    "variant": RUN_GOOD["variant"],
    "repeats": ints(1, 10, 10_000, 10_001),
    "stream_tokens": ints(1, 64, MAX_LENGTH, MAX_LENGTH + 1),
    "device": RUN_GOOD["device"],
    "threads": RUN_GOOD["threads"],
    "timeout_s": RUN_GOOD["timeout_s"],
    "precision": st.sampled_from(["fp32", "bf16", "fp16"]),
    "generate": comma_lists(ints(1, 64, MAX_LENGTH, MAX_LENGTH + 1), max_size=3),
    "temperature": floats(0.01, 10.0, 1e-3, 1e3, 1e-300, 1e300),
    "numerics": st.sampled_from(["portable", "native", "native,portable", "portable,portable", "fast"]),
}
GRADIENT_GOOD = {
    "task": RUN_GOOD["task"],
    "variant": RUN_GOOD["variant"],
    "models": MODEL_LIST,
    "lengths": LENGTHS,
    "seeds": SEEDS,
    "batch_size": RUN_GOOD["batch_size"],
    "params": RUN_GOOD["params"],
    "threads": RUN_GOOD["threads"],
    "numerics": st.sampled_from(["portable", "native", "fast"]),
}


@st.composite
def command_line(draw, good: dict, switches: list[str], root: Path, path_flags: tuple[str, ...] = ("--out",)):
    """A command's flags: a task most of the time, then a few flags, good or bad, in any order, and switches."""
    argv: list[str] = []
    if "task" in good and draw(RARELY_NOT):  # without a task the first error is always "task: required"
        argv += ["--task", draw(good["task"])]
    # Mostly one or two flags: the others keep their defaults, so a value that passes its field reaches the checks
    # behind it (the task's lengths, the models' limits, the engines' flags); sometimes several, or none.
    count = draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4, 0]))
    for name in draw(st.lists(st.sampled_from(sorted(good)), min_size=count, max_size=count)):
        argv += [f"--{name.replace('_', '-')}", draw(flag_value(good[name]))]
    for flag in draw(st.lists(st.sampled_from(path_flags), max_size=2)):
        argv += [flag, draw(st.one_of(st.just(str(root / "out")), paths(root)))]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        argv += ["--option", draw(options())]
    argv += draw(st.lists(st.sampled_from(switches), max_size=2))
    if draw(RARELY):  # a stray word: an unknown flag, a positional argument
        argv.append(draw(st.one_of(st.sampled_from(["--frob", "-x", "--", "8", "--lengths"]), words(8))))
    return argv


# ---- TOML files for run --config --------------------------------------------------------------------------------


def toml_scalars() -> st.SearchStrategy[object]:
    return st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.sampled_from([0, -1, 1, 8, MAX_LENGTH, MAX_LENGTH + 1, 2**63 - 1, 2**64, 10**400]),
        st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
        st.booleans(),
        st.sampled_from([*TASKS, *MODELS, *PRESETS, "2x", "8,16", "nan", ""]),
        st.dates(),
        st.datetimes(timezones=st.just(UTC)),
        st.times(),
    )


def toml_values() -> st.SearchStrategy[object]:
    return st.recursive(
        toml_scalars(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    )


def typed(good: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    """A good flag value as TOML would hold it: numbers as numbers, comma lists as arrays."""

    def convert(text: str) -> object:
        items = [_number(item.strip()) for item in text.split(",")]
        return items if "," in text or text == "" else items[0]

    return good.map(convert)


def _number(text: str) -> object:
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if not isinstance(value, int) or -(2**63) <= value < 2**63 else text  # TOML: 64-bit ints
    return text


@st.composite
def toml_tables(draw) -> dict:
    """A sweep's TOML: keys of RunConfig (good or bad values), unknown keys, task_params and model_options."""
    table: dict = {}
    if draw(st.integers(0, 3)):
        table["task"] = draw(st.sampled_from(TASKS))
    for key in draw(st.lists(st.sampled_from(sorted(RUN_GOOD)), max_size=4)):
        table[key] = draw(st.one_of(typed(RUN_GOOD[key]), toml_values()))
    if draw(st.booleans()):
        keys = st.sampled_from([*TASK_PARAMS, "nope"])
        table["task_params"] = draw(st.dictionaries(keys, toml_scalars(), max_size=2) | toml_values())
    if draw(st.booleans()):
        model = draw(st.sampled_from([*MODELS, "lstn"]))
        options = {}
        for key in draw(st.lists(st.sampled_from([*OPTIONS.get(model, {}), "nope"]), max_size=2)):
            default = OPTIONS.get(model, {}).get(key)
            small = isinstance(default, int) and not isinstance(default, bool)  # see SMALL_INTS
            options[key] = draw(st.integers(-2, 64) if small else toml_scalars())
        table["model_options"] = {model: options}
    if draw(st.integers(0, 4)) == 0:
        table[draw(st.text(max_size=10))] = draw(toml_values())
    return table


def to_toml(table: dict) -> str:
    """A table as TOML text: every key quoted, nested tables inline."""
    return "".join(f"{_key(key)} = {_value(value)}\n" for key, value in table.items())


def _key(key: str) -> str:
    return _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's, but for DEL, which TOML wants escaped too.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else {math.inf: "inf", -math.inf: "-inf"}.get(value, repr(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def config_files() -> st.SearchStrategy[bytes]:
    """A --config file's bytes: a sweep table as TOML, or text that may not be TOML, or bytes that are not UTF-8."""
    return st.one_of(
        toml_tables().map(lambda t: to_toml(t).encode()),
        toml_tables().map(lambda t: to_toml(t).encode()),
        st.text(max_size=60).map(str.encode),
        st.binary(max_size=40),
        st.sampled_from([b"", b"task = 'adding'\nsteps = \n", b"[[[", b"a = [" * 2000, b"\xff\xfe"]),
        st.just(b"task = 'adding'"),
    )
