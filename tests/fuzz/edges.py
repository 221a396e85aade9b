"""Every flag at its edges: each bound and one past it, zero, negatives, NaN and infinities, numbers past 64 bits,
empty and repeated list items, wrong kinds, paths that cannot be folders. A finite list, so the edge tests draw
from it until it is exhausted (hypothesis does not draw the same case twice): every edge runs in CI.
"""

from __future__ import annotations

from bench.config.fields import (
    MAX_BATCH_SIZE,
    MAX_EVAL_SIZE,
    MAX_GPUS,
    MAX_LENGTH,
    MAX_MEMORY_MB,
    MAX_PARAMS,
    MAX_REPEATS,
    MAX_SEED,
    MAX_STEPS,
    MAX_TEMPERATURE,
    MAX_THREADS,
    MAX_TIME_MIN,
    MAX_TIMEOUT_S,
    MIN_TEMPERATURE,
)
from tests.fuzz.strategies import MODELS, OPTIONS, TASK_PARAMS, TASKS, VARIANTS

ANY_KIND = ["", " ", "x", "é", "None", "true", "1.5", "1e3", "٣", "x" * 5000, "8\n16"]


def ints(bound: int) -> list[str]:
    return [*ANY_KIND, "1", str(bound), str(bound + 1), "0", "-1", str(2**63), "9" * 400, "nan", "inf"]


def floats(low: float | None = None, high: float | None = None) -> list[str]:
    edges = ["nan", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "0", "-0.0", "-1", "1e-400", "5e-324",
             "1e308", "0.5", *ANY_KIND]  # fmt: skip
    for bound in (low, high):
        if bound is not None:
            edges += [repr(bound), repr(bound * (1 - 1e-9)), repr(bound * (1 + 1e-9))]
    return edges


def int_lists(bound: int) -> list[str]:
    return [*ints(bound), "8,8", "8,,16", ",", "8, 16", f"8,{bound + 1}", "16,8", "8,-1"]


def float_lists() -> list[str]:
    return [*floats(), "0.01,nan", "0.01,0.01", "0.01,,0.1", "0.01,inf"]


def choices(good: list[str]) -> list[str]:
    return [*good, *ANY_KIND, ",".join(good), good[0] + "," + good[0], good[0].upper()]


RUN_EDGES = {
    "task": choices(TASKS),
    "variant": choices(VARIANTS),
    "models": choices(MODELS),
    "lengths": int_lists(MAX_LENGTH),
    "seeds": int_lists(MAX_SEED),
    "preset": choices(["quick", "standard", "paper"]),
    "steps": ints(MAX_STEPS),
    "batch_size": ints(MAX_BATCH_SIZE),
    "params": ints(MAX_PARAMS),
    "lrs": float_lists(),
    "warmup_frac": floats(0.0, 1.0),
    "weight_decay": floats(0.0),
    "clip_norm": floats(0.0),
    "eval_every": ints(MAX_STEPS),
    "eval_lengths": ["2x", "0x", "1.5x", "0.5x", "1e3x", "2X", "x", "2xx", str(MAX_LENGTH), str(MAX_LENGTH + 1),
                     f"{MAX_LENGTH}x", "99999999999x", "1" + "0" * 400 + "x", "9" * 5000, "2x,2x", "2x,,4x", *ANY_KIND],
    "val_size": ints(MAX_EVAL_SIZE),
    "test_size": ints(MAX_EVAL_SIZE),
    "device": choices(["auto", "cpu", "cuda"]),
    "threads": ints(MAX_THREADS),
    "executor": choices(["subprocess", "inline", "ray", "slurm"]),
    "workers": ints(MAX_THREADS),
    "cpus_per_run": ints(MAX_THREADS),
    "gpus_per_run": floats(0.0, float(MAX_GPUS)),
    "time_min": ints(MAX_TIME_MIN),
    "timeout_s": floats(0.0, MAX_TIMEOUT_S),
    "memory_limit_mb": ints(MAX_MEMORY_MB),
    "numerics": choices(["portable", "native"]),
}  # fmt: skip
SHARED = ("lengths", "batch_size", "params", "threads")  # ComparisonConfig's: their kinds are tried by run already
SPEED_EDGES = {
    **{name: [v for v in RUN_EDGES[name] if v not in ANY_KIND] for name in SHARED},
    "repeats": ints(MAX_REPEATS),
    "stream_tokens": ints(MAX_LENGTH),
    "precision": choices(["fp32", "bf16"]),
    "generate": int_lists(MAX_LENGTH),
    "temperature": floats(MIN_TEMPERATURE, MAX_TEMPERATURE),
    "numerics": choices(["portable", "native"]),
}  # fmt: skip
GRADIENT_EDGES = {name: [v for v in RUN_EDGES[name] if v not in ANY_KIND] for name in (*SHARED, "seeds")}
HUGE = "1" + "0" * 400  # an integer past 64 bits (TOML reads it whole)
OPTION_EDGES = [
    f"{model}.{key}={value}"
    for model in MODELS
    for key, default in OPTIONS[model].items()
    for value in (["nan", "inf", HUGE, "'x'"] if isinstance(default, float) else ["0", HUGE, "'x'"])
]  # fmt: skip
TASK_PARAM_EDGES = [(key, value) for key in TASK_PARAMS for value in (float("nan"), float("inf"), 2**64, -1, 0, "x")]
PATHS = ["out", "results", "file.txt", "file.txt/out", "d" * 256, "/".join(["d"] * 3000), "/dev/null", "/dev/null/x",
         ""]  # fmt: skip


def cases(edges: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Every (flag, value) pair, each flag given alone on a command line that is otherwise good."""
    return [(f"--{name.replace('_', '-')}", value) for name, values in edges.items() for value in values]
