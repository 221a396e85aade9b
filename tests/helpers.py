"""Plain helpers shared by the test modules: builders of models, inputs, records and command lines.

Fixtures live in ``tests/conftest.py``; a test module imports these from here, never from another test module.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import torch

import models
import tasks
from bench.cli import RUN_FLAGS, main
from bench.report.render import render_terminal
from bench.report.write import speed_summary
from bench.store.jsonl import append_invocation, append_record
from bench.store.records import with_facts
from bench.train.budget import Budget

ROOT = Path(__file__).resolve().parent.parent

TASK_NAMES = list(tasks.TASKS)
TASK_VARIANTS = [(name, variant) for name in tasks.TASKS for variant in tasks.task_variants(name)]
MODEL_NAMES = list(models.MODELS)

# A parameter target every family can meet within PARAM_TOLERANCE on every task at the quick preset's task
# parameters. At tiny sizes the Transformer's width steps by 4 and its count by 30-40% a step: 4000, 5000 or
# 8000 is out of its reach on some task.
TINY_PARAMS = 7000


def quick_task(name: str) -> tasks.Task:
    """The task at the quick preset's parameters: the size the models are tested at."""
    from bench.config.presets import preset_task_params

    return tasks.get_task(name, **preset_task_params("quick", name, None))


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- the command line, in this process and as a process -----------------------------------------


def run_cli(argv: list[str]) -> int:
    """``bench.cli.main`` as a process would see it: argparse errors exit, others return a code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def run_capturing_stdout(cli, argv: list[str]) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli(argv)
    return code, stdout.getvalue()


def tiny_run_args(out: Path, task: str, *extra: str) -> list[str]:
    """A `run` command line small enough for a test: one length, a few steps, tiny eval sets, inline, no report.

    Flags in ``extra`` come last, so they override these (argparse keeps the last value).
    """
    length = str(max(tasks.get_task(task).min_length, 8))
    return [
        "run", "--task", task, "--lengths", length, "--seeds", "0", "--steps", "6", "--eval-every", "3",
        "--val-size", "16", "--test-size", "16", "--batch-size", "4", "--params", str(TINY_PARAMS),
        "--threads", "1", "--executor", "inline", "--numerics", "native", "--out", str(out), "--no-progress",
        "--no-report", *extra,
    ]  # fmt: skip


def flags(**given) -> dict:
    """What the CLI hands ``load_run_config``: every flag, None where not given, strings otherwise."""
    return {name: given.get(name) for name in RUN_FLAGS}


def bench_command(out: Path, *flags: str) -> list[str]:
    """`python -m bench run` on the adding task as a process of its own (the subprocess executor by default)."""
    return [sys.executable, "-m", "bench", "run", "--task", "adding", "--no-progress", "--out", str(out), *flags]


def run_bench(out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(bench_command(out, *flags), cwd=ROOT, capture_output=True, text=True, timeout=240)


# ---- models ------------------------------------------------------------------------------------

WIDTH = 16


def build(model_name: str, task_name: str, seed: int = 0, **options) -> tuple[models.SequenceModel, tasks.Task]:
    task = quick_task(task_name)
    torch.manual_seed(seed)
    return models.build_model(model_name, task.spec, width=WIDTH, **options), task


def random_inputs(spec: tasks.TaskSpec, batch_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Inputs of the task's kind, not drawn from the task: any tokens of the vocabulary, or any reals."""
    if spec.input_kind == "tokens":
        return torch.randint(0, spec.input_size, (batch_size, length), generator=generator)  # (B, L)
    return torch.randn(batch_size, length, spec.input_size, generator=generator)  # (B, L, C)


def change_from(x: torch.Tensor, t: int, spec: tasks.TaskSpec, generator: torch.Generator) -> torch.Tensor:
    """A copy of ``x`` that differs at every position >= t."""
    changed = x.clone()
    if spec.input_kind == "tokens":
        shift = torch.randint(1, spec.input_size, changed[:, t:].shape, generator=generator)
        changed[:, t:] = (changed[:, t:] + shift) % spec.input_size  # never the same token
    else:
        changed[:, t:] += torch.randn(changed[:, t:].shape, generator=generator)
    return changed


def stream(model: models.SequenceModel, x: torch.Tensor) -> torch.Tensor:
    """Every step's output of ``model.step`` over ``x``, from a fresh state, stacked to (B, L, D_out)."""
    state, steps = model.init_state(x.shape[0]), []
    for x_t in x.unbind(1):  # unbind once: indexing x[:, t] per step is quadratic in L in the backward pass
        y_t, state = model.step(x_t, state)
        steps.append(y_t)
    return torch.stack(steps, dim=1)


# ---- tasks -------------------------------------------------------------------------------------


def uniform_over(classes: list[int], batch_size: int, length: int, vocab: int) -> torch.Tensor:
    """A memoryless predictor's logits: uniform over ``classes`` at every step."""
    logits = torch.full((batch_size, length, vocab), -1e4)
    logits[..., classes] = 0.0
    return logits


# ---- training --------------------------------------------------------------------------------

TINY_BUDGET = Budget(
    steps=10, batch_size=4, target_params=4000, warmup_frac=0.1, weight_decay=0.01,
    clip_norm=1.0, eval_every=5, val_size=8, test_size=8,
)  # fmt: skip


# ---- records, as the store holds them ----------------------------------------------------------

ENVIRONMENT = {"device": "cpu", "device_name": "x86_64", "torch": "2.13.0+cpu", "threads": 2, "python": "3.11.7",
               "git_sha": "0123456789abcdef", "git_dirty": False}  # fmt: skip
RECORD_BUDGET = {"steps": 100, "batch_size": 8, "target_params": 4000, "warmup_frac": 0.1, "weight_decay": 0.01,
                 "clip_norm": 1.0, "eval_every": 50, "val_size": 64, "test_size": 128}  # fmt: skip


def run_record(
    model: str, seq_len: int, seed: int, lr: float, test_loss: float, *, status: str = "ok", **extra
) -> dict:
    """A record shaped like ``run_one``'s for the adding task; the validation loss tracks the test loss."""
    solved = test_loss < 0.01
    record = {
        "task": "adding", "task_params": {}, "variant": "adding/halves@1", "model": model, "seq_len": seq_len,
        "seed": seed, "lr": lr, "status": status, "error": None, "run_key": f"{model}-{seq_len}-{seed}-{lr}",
        "val_loss": test_loss * 1.1, "test_loss": test_loss, "test_accuracy": 0.5, "solved": solved,
        "baseline_loss": 1 / 6, "baseline_accuracy": 0.0784,
        "steps_to_solve": 50 if solved else None, "seconds_to_solve": 1.5 if solved else None,
        "width": 20, "n_params": 4000 + seq_len, "train_step_ms": float(seq_len), "train_tokens_per_s": 8000.0,
        "infer_tokens_per_s": 40000.0, "peak_mem_mb": seq_len / 2, "train_s": 2.0, "steps_run": 100,
        "curve": [[50, 0.2], [100, test_loss * 1.1]], **RECORD_BUDGET, **ENVIRONMENT,
    }  # fmt: skip
    record.update(extra)
    return record


def failed_record(model: str, seq_len: int, seed: int, status: str, error: str) -> dict:
    """A run that failed or was skipped: its identity, budget and environment, no metrics."""
    keep = {"task", "task_params", "variant", "model", "seq_len", "seed", "lr", "run_key", *RECORD_BUDGET,
            *ENVIRONMENT}  # fmt: skip
    record = run_record(model, seq_len, seed, 0.01, 1.0)
    return {**{k: v for k, v in record.items() if k in keep}, "status": status, "error": error}


def known_store(out: Path) -> None:
    """LSTM solves both lengths on both seeds; the SSM solves T=8 on one seed and runs out of memory at T=16."""
    out.mkdir(parents=True)
    records = [
        run_record("lstm", 8, 0, 0.01, 0.004), run_record("lstm", 8, 0, 0.001, 0.05),
        run_record("lstm", 8, 1, 0.01, 0.006), run_record("lstm", 8, 1, 0.001, 0.05),
        run_record("lstm", 16, 0, 0.01, 0.002), run_record("lstm", 16, 1, 0.01, 0.004),
        run_record("ssm", 8, 0, 0.01, 0.008), run_record("ssm", 8, 1, 0.01, 0.1),
        failed_record("ssm", 16, 0, "oom", "OutOfMemoryError: CUDA out of memory"),
        failed_record("ssm", 16, 1, "skipped", "not attempted: ssm ran out of memory at T=16"),
    ]  # fmt: skip
    for record in records:
        append_record(out, record)
    append_invocation(out, {"config": {"preset": "quick"}, "n_runs": 10})


def summary_record(model, seed, lr, status="ok", val_loss=None, test_loss=None, solved=False, seq_len=8) -> dict:
    """A minimal adding record with its task facts, as the summaries read it."""
    return with_facts({"task": "adding", "variant": "adding/halves@1", "model": model, "seq_len": seq_len,
                       "seed": seed, "lr": lr, "status": status, "val_loss": val_loss, "test_loss": test_loss,
                       "solved": solved, "baseline_loss": 1 / 6, "statuses": status})  # fmt: skip


def speed_row(label_model: str, mode: str, seq_len: int, status: str = "ok") -> dict:
    """A row of ``speed.jsonl``: figures when it finished, an error when it did not."""
    figures = {"median_ms": seq_len / 10, "iqr_ms": 0.1, "peak_mem_mb": seq_len / 100, "tokens_per_s": 1e5 / seq_len,
               "stream_token_ms": 0.2, "state_kb": 3.0} if status == "ok" else {}  # fmt: skip
    return {"model": label_model, "label": label_model, "mode": mode, "seq_len": seq_len, "status": status,
            "error": None if status == "ok" else "RuntimeError: can't allocate memory", "batch_size": 8,
            "params": 20000, "precision": "fp32", **ENVIRONMENT, **figures}  # fmt: skip


# ---- what the commands print and write ---------------------------------------------------------


def render_speed(rows: list[dict]) -> str:
    """The speed tables as the command prints them: the report's speed section, rendered for the terminal."""
    return render_terminal(speed_summary(rows, Path(".")))


def is_real_png(path: Path, min_pixels: int = 300) -> bool:
    if path.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n" or path.stat().st_size < 10_000:
        return False
    image = matplotlib.image.imread(path)
    return min(image.shape[:2]) >= min_pixels and image[..., :3].std() > 0.05  # not blank
