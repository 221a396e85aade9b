"""Named budgets. Every field can be overridden by a flag or a TOML key of the same name.

``quick`` is the default and must finish the default sweep (``run --task adding``) within 6 minutes on a 2-core
CPU and be able to decide its headline claim (a tanh RNN at the baseline where a gated RNN solves). Its seed count
is the fewest with at least 80% power at that claim's published effect, by simulation (``python -m bench claims
--calibrate``; docs/verdicts.md): 3 seeds confirm it 67% of the time, 4 seeds 89%, 5 seeds 97%. 4 seeds it is, one
run at a time: two at a time with one thread each was no faster on the 2-core CPU (5 seeds took 8 min 53 s so).
Its step count is set by the time limit: at 300 steps the default sweep took 7 min 6 s to 9 min 38 s on the 2-core
CPU (2026-12-02, four timings; the portable numerics' MKL branch costs up to 2x on its matrix products there, and
is kept for bit-equal results across machines), so 200 steps, two thirds of the work; the step count was chosen
for time before any 200-step run. Wall times are measured and written in the README. Its lengths reach T = 100,
where the published outcomes of adding and copying are read (docs/published-outcomes.md). Its single learning
rate, 1e-2, let LSTM, GRU and SSM solve the adding problem sooner than 3e-3 in calibration sweeps (lengths 25-100,
800 steps; the Transformer solved it at either), the same for every model. ``lengths`` is per task because the
tasks' length parameters mean different things (adding: T; copying: the delay T, T + 20 steps; selective copying:
the noisy region; associative recall: the gap between the pairs and the queries). ``task_params`` is per task and
variant: the tasks' defaults are the published settings (``paper``), and ``quick`` shrinks the harder tasks so
that a CPU sweep can show something in minutes.
"""

from __future__ import annotations

import tasks

PRESETS: dict[str, dict] = {
    "quick": {
        "lengths": {
            "adding": [25, 100],
            "copying": [25, 100],
            "selective_copying": [16, 64],
            "associative_recall": [8, 32],
            "induction_heads": [16, 64],
        },
        "task_params": {
            "selective_copying": {
                "mamba": {"n_symbols": 4, "vocab_size": 8},
                "delimited": {"n_symbols": 4, "vocab_size": 8},
            },
            "associative_recall": {"mqar-small": {"n_pairs": 4, "n_queries": 4, "n_keys": 8, "n_values": 8}},
        },
        "seeds": [0, 1, 2, 3],
        "lrs": [1e-2],
        "steps": 200,
        "batch_size": 64,
        "params": 20_000,
        "warmup_frac": 0.1,
        "weight_decay": 0.01,
        "clip_norm": 1.0,
        "eval_every": 50,
        "val_size": 128,
        "test_size": 512,
    },
    "standard": {
        "lengths": {
            "adding": [50, 100, 200, 400, 800],
            "copying": [25, 50, 100, 200, 500],
            "selective_copying": [64, 128, 256, 512],
            "associative_recall": [16, 32, 64, 128],
            "induction_heads": [64, 128, 256],
        },
        "task_params": {
            "selective_copying": {
                "mamba": {"n_symbols": 8, "vocab_size": 16},
                "delimited": {"n_symbols": 8, "vocab_size": 16},
            },
            "associative_recall": {"mqar-small": {"n_pairs": 8, "n_queries": 8, "n_keys": 16, "n_values": 16}},
        },
        "seeds": [0, 1, 2],
        "lrs": [1e-3, 3e-3, 1e-2],
        "steps": 2_000,
        "batch_size": 64,
        "params": 50_000,
        "warmup_frac": 0.1,
        "weight_decay": 0.01,
        "clip_norm": 1.0,
        "eval_every": 100,
        "val_size": 1_000,
        "test_size": 10_000,
    },
    "paper": {
        "lengths": {
            "adding": [100, 200, 500, 1000, 2000, 4000],
            "copying": [100, 200, 500, 1000, 2000],
            "selective_copying": [256, 1024, 4096],
            "associative_recall": [64, 128, 256, 512],
            "induction_heads": [256],
        },
        "task_params": {},  # every task at its published defaults
        "seeds": [0, 1, 2, 3, 4],
        "lrs": [3e-4, 1e-3, 3e-3, 1e-2],
        "steps": 10_000,
        "batch_size": 64,
        "params": 100_000,
        "warmup_frac": 0.05,
        "weight_decay": 0.01,
        "clip_norm": 1.0,
        "eval_every": 250,
        "val_size": 2_000,
        "test_size": 10_000,
    },
}


def preset_task_params(preset: str, task: str, variant: str | None) -> dict:
    """The preset's parameters of the task in ``variant`` (None: its default variant)."""
    variant = variant if variant is not None else tasks.task_variants(task)[0]
    return PRESETS[preset]["task_params"].get(task, {}).get(variant, {})
