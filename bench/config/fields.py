"""Field rules shared by every command's configuration, the upper bounds of what may be asked for, and pydantic's
errors as one line."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ValidationError

# ---- upper bounds -----------------------------------------------------------------------------------------------
# What no machine can serve is refused before anything runs, rather than accepted, planned and stored as a row of
# failures (or, for some counts, a crash of the parent after the first runs). Each bound is far above anything the
# presets, the README or the published outcomes use; docs/reliability.md lists them with their reasons.

# Steps in one sequence: --lengths (T), every --eval-lengths length (2x of the longest T included), speed's
# --generate and --stream-tokens. 2**20 is 64x the longest sequence of any long-range benchmark the harness follows
# (Path-X: 16K) and 256x the longest preset length; one batch of 64 such sequences at width 64 in float32 is
# 16 GiB per activation of one layer, and attention's T^2 scores 4 TiB: more than any accelerator holds.
MAX_LENGTH = 2**20
# Sequences in one training batch (--batch-size): the presets use 64. 65,536 sequences are a batch whose activations
# outgrow an accelerator's memory at any length worth benchmarking (64 GiB per layer at T = 1024, width 256).
MAX_BATCH_SIZE = 2**16
# Sequences in each evaluation set (--val-size, --test-size), drawn up front and held in memory: the presets use at
# most 10,000; a million is 100x that.
MAX_EVAL_SIZE = 2**20
# Trainable parameters (--params): every family's width is solved for it, and the count is compared as a float. The
# presets use at most 100,000; 10**12 (4 TB of float32 weights) is beyond any width a family can be built at.
MAX_PARAMS = 10**12
# Optimiser steps (--steps, --eval-every): the paper preset trains 10,000. A billion steps at 1 ms each is 11 days
# of one run; past it the count says nothing but a typo.
MAX_STEPS = 10**9
# Seeds become torch.manual_seed's argument, a 64-bit integer (and the sha256 of data streams): past 2**63 - 1 every
# run would fail at its first line.
MAX_SEED = 2**63 - 1
# Threads, CPUs and workers (--threads, --workers, --cpus-per-run): a slot list of that size is built in the parent
# and torch.set_num_threads takes a C int. No machine has 4096 cores for one command.
MAX_THREADS = 4096
MAX_GPUS = 1024  # --gpus-per-run (a Ray or SLURM request): no node has more
# Wall-clock limits (--timeout-s): the parent waits on a child through poll(), whose timeout is a C int of
# milliseconds (24.8 days at most): a week is the bound.
MAX_TIMEOUT_S = 7 * 24 * 3600.0
MAX_TIME_MIN = 7 * 24 * 60  # --time-min (SLURM), the same week
# --memory-limit-mb becomes setrlimit's byte count (a 64-bit integer): 2**30 MB (1 PiB) is far above any machine.
MAX_MEMORY_MB = 2**30
# Timed repeats per configuration (speed --repeats): the default is 5; each repeat is a full training step.
MAX_REPEATS = 10_000
MAX_PACK = 1024  # members trained together (speed --pack): each holds a model's parameters and optimiser state
# Sampling temperature (speed --temperature): logits are divided by it; below 1e-3 softmax overflows to a one-hot
# (or NaN) and above 1e3 it is uniform noise: neither measures anything the default 1.0 does not.
MIN_TEMPERATURE, MAX_TEMPERATURE = 1e-3, 1e3


def split_commas(value: Any) -> Any:
    """Accept "50,100" from the command line as well as [50, 100] from TOML."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return value


def each_once(values: list) -> list:
    # A repeated value would plan, run and store the same run twice under one run_key.
    repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
    if repeated:
        raise ValueError(f"each value may appear once; repeated: {', '.join(map(str, repeated))}")
    return values


def positive(values: list) -> list:
    if any(v <= 0 for v in values):
        raise ValueError("every value must be > 0")
    return values


def at_most(values: list, bound: int, why: str) -> list:
    """Every value <= ``bound``; ``why`` names the bound in the message (e.g. "MAX_LENGTH, 2**20 steps")."""
    too_large = [v for v in values if v > bound]
    if too_large:
        raise ValueError(f"every value must be <= {bound} ({why})")
    return values


MAX_INTEGER = 2**63 - 1  # TOML's integers are 64-bit (tomllib reads longer ones): a model option becomes a C integer


def finite_everywhere(value: Any, where: str = "") -> Any:
    """``value`` unchanged if no number inside it (nested tables and arrays included) is NaN, infinite, or an
    integer past 64 bits."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where + ': ' if where else ''}every number must be finite (got {value})")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise ValueError(f"{where + ': ' if where else ''}every integer must fit in 64 bits (got {shown(value)})")
    if isinstance(value, dict):
        for key, item in value.items():
            finite_everywhere(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            finite_everywhere(item, where)
    return value


MAX_SHOWN = 80  # characters of a bad value quoted in an error: a 10,000-character value is named, not reprinted


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}... ({len(text)} characters)"


def one_line(exc: ValidationError, config: type[BaseModel]) -> str:
    """The first error, as 'field: message (got value)'."""
    err = exc.errors()[0]
    message = err["msg"].removeprefix("Value error, ")
    if not err["loc"]:  # a cross-field rule: its message names the fields itself
        return message
    field = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(config.model_fields)
        return f"{field}: unknown key; allowed keys: {allowed}"
    if err["type"] == "missing":
        return f"{field}: required"
    got = shown(err["input"])
    if isinstance(err["input"], dict):  # a nested table: the message names the culprit already
        return f"{field}: {message}"
    return f"{field}: {message}" if repr(err["input"]) in message else f"{field}: {message} (got {got})"
