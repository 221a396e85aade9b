"""Command line: ``python -m bench run|replicate|speed|gradients|report|list|check``.

Parses, validates into one typed config, calls one command, then prints the command's summary (the
report's sections rendered for the terminal) and writes the folder's report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import models
from bench.commands.source import load_gradients_config, load_speed_config
from bench.config import load_run_config, parse_option_flags
from bench.config.replicate import load_replicate_config, recipe_sweeps
from bench.errors import ConfigError, one_line
from bench.report.render import render_terminal
from bench.report.replication import replication_section, write_replication_report
from bench.report.write import REPORT_HTML, gradient_summary, run_summary, speed_summary, write_report, write_reports
from bench.store.files import GRADIENTS_FILE, RUNS_FILE, SPEED_FILE
from bench.store.jsonl import StoreBusy

RUN_FLAGS = {  # flag -> help; every value is validated by RunConfig, not by argparse
    "task": "task to train on (see `list`)",
    "variant": "the task's published variant (`list` shows them; default: the task's first), e.g. adding tcn",
    "models": "comma-separated models (default: the five families; seq2seq only when named)",
    "lengths": "comma-separated task lengths T (default: the preset's for the task)",
    "seeds": "comma-separated seeds",
    "preset": "budget preset: quick (default), standard, paper",
    "steps": "training steps per run",
    "batch_size": "sequences per training step",
    "params": "trainable-parameter target every model's width is solved for (within 5%%)",
    "lrs": "comma-separated learning-rate grid, the same for every model",
    "warmup_frac": "fraction of steps of linear warm-up before the schedule",
    "weight_decay": "weight decay of matrices only (decoupled for adamw, an L2 term for adam, rmsprop and sgd)",
    "clip_norm": "gradient-norm clipping threshold, or none (no clipping)",
    "optimizer": "adamw (default), adam, rmsprop or sgd",
    "betas": "adam, adamw: the two betas (default: 0.9,0.999)",
    "eps": "adam, adamw, rmsprop: the denominator's epsilon (default: 1e-8)",
    "alpha": "rmsprop: the smoothing constant of the squared-gradient average (default: 0.99, torch's)",
    "momentum": "rmsprop, sgd: momentum (default: 0)",
    "schedule": "the learning rate after the warm-up: cosine (default: decay towards 0), constant, or step",
    "step_every": "step schedule: steps between decays, counted after the warm-up",
    "step_gamma": "step schedule: the factor of each decay (default: 0.1)",
    "widths": "build these models at a width instead of sizing them for --params, e.g. lstm=128,transformer=64",
    "eval_every": "steps between validation evaluations",
    "eval_lengths": "also test every trained model at longer lengths: multiples of its trained length (2x,4x) "
    "or lengths (512,1024); the results go in its record and the report's length-generalisation table",
    "val_size": "validation sequences (learning-rate choice, steps to solve)",
    "test_size": "held-out test sequences (reported metrics)",
    "device": "auto (CUDA when present), cpu or cuda",
    "threads": "CPU threads per run (default: torch's default)",
    "executor": "subprocess (default: one process per run, here), inline (in this process), ray or slurm "
    "(optional extras seqbench[ray], seqbench[slurm]: one Ray task or SLURM job per run)",
    "workers": "runs in flight at once (default: 1 here, 8 on ray or slurm); on several GPUs one GPU each, "
    "and the CPU cores divided among them unless --threads is given",
    "ray_address": "ray: the cluster to join (default: start Ray on this machine)",
    "cpus_per_run": "ray, slurm: CPUs each run asks for (default: 1; also its torch thread count)",
    "gpus_per_run": "ray, slurm: GPUs each run asks for (default: 1 with --device cuda, else 0)",
    "partition": "slurm: the partition to submit to (default: the cluster's default)",
    "time_min": "slurm: each job's time limit in minutes (default: 60)",
    "slurm_cluster": "slurm: slurm (default) or local, which runs the jobs as local processes through submitit",
    "timeout_s": "wall-clock limit per run in seconds; a run past it is killed and recorded as timeout",
    "memory_limit_mb": "address-space limit per run, in MB above what the run's process holds at its start; "
    "a run past it is recorded as oom",
    "out": "results folder (default: results/<task>-<preset>); a rerun into it resumes",
    "numerics": "portable (default: torch's CPU kernels pinned to paths every x86-64 CPU with AVX2 has, so a run "
    "gives the same bits on another machine) or native (the machine's fastest paths)",
}
COMPILE_HELP = (
    "run the model's forward and backward through torch.compile (inductor; on CPU it needs a C compiler); the "
    "first step pays the compile; recorded, not part of the run key: it computes the same thing"
)
RUN_SWITCHES = {  # field -> (flag, value when given, help)
    "retry_failed": ("--retry-failed", True, "on resume, run again the runs whose record is a failure"),
    "skip_after_oom": (
        "--no-skip-after-oom",
        False,
        "after an out-of-memory run, still attempt the longer lengths of that model (default: skip them)",
    ),
    "report": ("--no-report", False, "do not write the report (report.md, report.html, figures) at the end"),
    "checkpoints": (
        "--no-checkpoints",
        False,
        "do not keep each run's final weights in <out>/checkpoints (used by `gradients` and `speed --from`)",
    ),
    "pack": (
        "--pack",
        True,
        "train the seeds and learning rates of each model and length together as one program (torch.func vmap): "
        "the same records, faster where a step waits on kernel launches (a GPU); torch's fused RNNs run unpacked",
    ),
    "compile": ("--compile", True, COMPILE_HELP),
}


SPEED_FLAGS = {
    "models": "comma-separated models (default: the five families; seq2seq only when named)",
    "lengths": "comma-separated sequence lengths (default: 256,1024,4096,16384)",
    "batch_size": "sequences per batch (default: 8)",
    "params": "trainable-parameter target, as in training (default: the quick preset's 20000)",
    "task": "task whose input and output kinds the models are built for (default: copying)",
    "variant": "the task's published variant (`list` shows them; default: the task's first), e.g. adding tcn",
    "repeats": "timed calls per configuration, after a first call and a warm-up (default: 5)",
    "stream_tokens": "tokens streamed one at a time for the per-token latency (default: 1024)",
    "device": "auto (CUDA when present), cpu or cuda",
    "threads": "CPU threads (default: torch's default)",
    "timeout_s": "wall-clock limit per configuration in seconds (default: 300)",
    "precision": "fp32 (default) or bf16: forward passes under bf16 autocast (the SSM's FFTs stay fp32)",
    "generate": "also time autoregressive sampling, each sampled token fed back in, and report the per-token "
    "latency and tokens/s as the generated length grows, at these lengths (e.g. 256,1024,4096); token tasks only",
    "temperature": "sampling temperature for --generate (default: 1.0)",
    "out": "results folder (default: results/speed-<device>)",
    "numerics": "native (default: the machine's fastest kernels, what a step really costs), portable (the kernels "
    "`run` pins for the same bits on any x86-64 CPU), or both (native,portable): every configuration under each, to "
    "measure what pinning costs; --generate runs under the first",
    "pack": "also time G members trained together, as `run --pack` trains them, against G sequential runs, in "
    "training steps per second (default: 1, no packed rows); families on torch's fused RNNs cannot be packed",
}
GRADIENT_FLAGS = {
    "task": "task whose trained runs are measured (see `list`)",
    "variant": "the task's published variant (`list` shows them; default: the task's first), e.g. adding tcn",
    "models": "comma-separated models (default: the five families; seq2seq only when named)",
    "lengths": "comma-separated task lengths T (default: those of the folder's trained runs, else the quick preset's)",
    "seeds": "comma-separated seeds (default: those of the folder's trained runs, else 0)",
    "batch_size": "test sequences the gradient norm is averaged over (default: 64)",
    "params": "parameter target of models without a trained run (default: the runs', else 20000)",
    "threads": "CPU threads (default: torch's default)",
    "out": "where gradients.jsonl and the report go (default: the --from folder)",
    "numerics": "portable (default: torch's CPU kernels pinned to paths every x86-64 CPU with AVX2 has, so a run "
    "gives the same bits on another machine) or native (the machine's fastest paths)",
}
GRADIENT_SWITCHES = {
    "report": ("--no-report", False, "do not write the folder's report at the end"),
}
SPEED_SWITCHES = {
    "bare": (
        "--bare",
        True,
        "also time each model's core layer alone at the same width and shapes: the torch nn.RNN, nn.LSTM, "
        "nn.GRU (what the harness adds around them) and one S4DLayer of the SSM",
    ),
    "cuda_graphs": (
        "--cuda-graphs",
        True,
        "time the training step replayed from a captured CUDA graph (one launch for all its kernels); CUDA only",
    ),
    "compile": ("--compile", True, COMPILE_HELP + " (training rows only; the first call's time includes it)"),
}
REPLICATE_FLAGS = {
    "scale": "small (default: shrunk to run in about 15 minutes on 2 CPU cores, 3 seeds) or full (the published "
    "setting, for a GPU or a cluster)",
    "device": "auto (CUDA when present), cpu or cuda",
    "threads": "CPU threads per run (default: torch's default)",
    "executor": "subprocess (default), inline, ray or slurm, as for `run`",
    "workers": "runs in flight at once, as for `run`",
    "numerics": "portable (default) or native, as for `run`",
    "out": "results folder (default: results/replications/NAME, or NAME-full at the full scale); a rerun resumes",
}
REPLICATE_SWITCHES = {
    "report": ("--no-report", False, "do not write the sweeps' reports (replication.md is written)"),
    "pack": RUN_SWITCHES["pack"],
}
OPTION_HELP = (
    "a model option, MODEL.KEY=VALUE (repeatable), e.g. --option ssm.kernel=vandermonde; "
    "`python -m bench list` shows every option and its default"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        """One line (an argument quoted back may hold a line break), exit 2, as for every other bad input."""
        print(f"{self.prog}: error: {one_line(message)}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bench", description="Long-range sequence-model benchmark.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="train every model on a task and summarise")
    _add_flags(run, RUN_FLAGS, RUN_SWITCHES)
    run.add_argument("--config", type=Path, help="TOML file of the same keys; flags override it")
    speed = commands.add_parser("speed", help="training, inference and streaming cost against length")
    _add_flags(speed, SPEED_FLAGS, SPEED_SWITCHES)
    _add_source(
        speed,
        "a results folder of `run`: --generate samples from its trained models, each at its own size and options "
        "(default: freshly initialised ones; the cost of a step does not depend on the weights' values)",
    )
    gradients = commands.add_parser(
        "gradients", help="loss-gradient norm against distance from the scored output, at initialisation and trained"
    )
    _add_flags(gradients, GRADIENT_FLAGS, GRADIENT_SWITCHES)
    _add_source(
        gradients,
        "a results folder of `run` whose trained runs are measured (default: results/<task>-quick if it "
        "exists; models without a trained run are measured at initialisation only)",
    )
    report = commands.add_parser(
        "report", help="report.md, report.html, summary.csv, verdicts.csv and figures of results folders"
    )
    report.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="a folder written by run or speed")
    report.add_argument("--no-figures", dest="figures", action="store_false",
                        help="redraw no figure (tables, summary.csv, verdicts.csv: a re-judgement in seconds)")
    claims = commands.add_parser("claims", help="the published claims the verdicts check, and their error rates")
    claims.add_argument("--markdown", action="store_true", help="print docs/published-outcomes.md")
    claims.add_argument("--calibrate", type=int, metavar="SWEEPS", default=0,
                        help="simulate SWEEPS sweeps per task under the null, and planted effects: the false-verdict "
                        "rate of each claim and the power at 3, 5 and 10 seeds")
    commands.add_parser("list", help="tasks, models and presets, with their parameters")
    check = commands.add_parser(
        "check", help="the contract checks of models and tasks, built in or your own (docs/extending.md)"
    )
    check.add_argument(
        "names", nargs="+", metavar="NAME", help="a model or task: built-in, path/to/file.py:NAME, MODULE:NAME or "
        "an installed plugin's name"
    )
    replicate = commands.add_parser("replicate", help="rerun a published comparison: `replicate list`, then a recipe")
    replicate.add_argument("name", metavar="NAME", help="a recipe (see `replicate list`), or list")
    for name, help_text in REPLICATE_FLAGS.items():
        replicate.add_argument(f"--{name}", dest=name, help=help_text)
    for name, (flag, value, help_text) in REPLICATE_SWITCHES.items():
        replicate.add_argument(flag, dest=name, action="store_const", const=value, help=help_text)
    replicate.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def _add_flags(parser: argparse.ArgumentParser, flags: dict[str, str], switches: dict[str, tuple]) -> None:
    """The valued flags (validated later by the config, not argparse), switches, --option and --no-progress."""
    for name, help_text in flags.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=help_text)
    for name, (flag, value, help_text) in switches.items():
        parser.add_argument(flag, dest=name, action="store_const", const=value, help=help_text)
    parser.add_argument("--option", dest="option", action="append", metavar="MODEL.KEY=VALUE", help=OPTION_HELP)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _add_source(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--from", dest="source", type=Path, metavar="DIR", help=help_text)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        from bench.commands.listing import render_listing

        print(render_listing())
        return 0
    if args.command == "report":
        return _run_command("report", lambda: args.dirs, lambda dirs, progress: do_report(dirs, args.figures), False)
    if args.command == "claims":
        from bench.commands.claims import print_claims

        return print_claims(markdown=args.markdown, sweeps=args.calibrate)
    if args.command == "check":
        return _run_command("check", lambda: args.names, do_check, progress=False)
    if args.command == "replicate":
        if args.name == "list":
            return _run_command("replicate", lambda: None, do_replicate_list, progress=not args.no_progress)
        flags = {k: getattr(args, k) for k in [*REPLICATE_FLAGS, *REPLICATE_SWITCHES]}
        load = lambda: load_replicate_config({"name": args.name, **flags})  # noqa: E731
        return _run_command("replicate", load, do_replicate, progress=not args.no_progress)
    progress = not args.no_progress
    if args.command == "gradients":

        def load_gradients() -> Any:
            flags = {k: getattr(args, k) for k in [*GRADIENT_FLAGS, *GRADIENT_SWITCHES, "source"]}
            return load_gradients_config({**flags, "model_options": parse_option_flags(args.option)})

        return _run_command("gradients", load_gradients, do_gradients, progress)
    if args.command == "speed":

        def load_speed() -> Any:
            flags = {k: getattr(args, k) for k in [*SPEED_FLAGS, *SPEED_SWITCHES, "source"]}
            return load_speed_config({**flags, "model_options": parse_option_flags(args.option)})

        return _run_command("speed", load_speed, do_speed, progress)

    def load_run() -> Any:
        flags = {k: getattr(args, k) for k in [*RUN_FLAGS, *RUN_SWITCHES]}
        return load_run_config({**flags, "model_options": parse_option_flags(args.option)}, args.config)

    return _run_command("run", load_run, do_run, progress)


def _run_command(name: str, load: Callable[[], Any], execute: Callable[..., Any], progress: bool) -> int:
    """Validate, then execute; a bad input or a busy results folder is one line and exit 2."""
    try:
        execute(load(), progress=progress)
    except (ConfigError, StoreBusy) as exc:
        print(f"python -m bench {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130  # the command has said what was kept and how to resume
    return 0


MODEL_ORDER = list(models.MODELS)  # every table and figure lists models in the registry's order

# The do_* functions are what each subcommand does once its config is valid (tests replace them to stop there).


def do_run(config, progress: bool) -> None:
    from bench.sweep.run import run_sweep  # torch's training stack loads only for the commands that train

    records = run_sweep(config, progress=progress)
    print(render_terminal(run_summary(records, config.out_dir, MODEL_ORDER)))
    print(f"\nResults: {config.out_dir / RUNS_FILE} ({len(records)} runs)")
    if config.report:
        _written(write_report(config.out_dir, MODEL_ORDER))


def do_speed(config, progress: bool) -> None:
    from bench.commands.speed import run_speed

    rows = run_speed(config, progress=progress)
    print(render_terminal(speed_summary(rows, config.out_dir, MODEL_ORDER)))
    print(f"\nResults: {config.out_dir / SPEED_FILE} ({len(rows)} rows)")


def do_gradients(config, progress: bool) -> None:
    from bench.commands.gradients import run_gradients

    records, untrained = run_gradients(config, progress=progress)
    summary = render_terminal(gradient_summary(records, config.out_dir, MODEL_ORDER))
    print(summary or "No curve was measured.")
    if untrained:
        where = config.source or "the results folder"
        print(f"\nAt initialisation only (no trained run with weights in {where}): {', '.join(untrained)}.")
        print(f"Train them with `python -m bench run --task {config.task}` for the trained curves.")
    print(f"\nCurves: {config.out_dir / GRADIENTS_FILE}")
    if config.report:
        _written(write_report(config.out_dir, MODEL_ORDER))


def do_replicate(config, progress: bool) -> None:
    from bench.sweep.replicate import run_replication

    for label, records in run_replication(config, progress=progress).items():
        folder = config.out_dir / label if label else config.out_dir
        print(f"\n{config.name}{f' ({label})' if label else ''}: {folder / RUNS_FILE} ({len(records)} runs)")
        if config.report:
            _written(write_report(folder, MODEL_ORDER))
    section = replication_section(config.out_dir)
    print("\n" + render_terminal([section]))
    print(f"\nReplication: {write_replication_report(config.out_dir)}")


def do_replicate_list(_, progress: bool) -> None:
    from tqdm.auto import tqdm

    from bench.config.recipes import RECIPES

    blocks = [recipe_listing(name, recipe) for name, recipe in
              tqdm(RECIPES.items(), desc="estimating", disable=None if progress else True, leave=False)]  # fmt: skip
    print("\n\n".join(blocks))
    print("\nRun one with `python -m bench replicate NAME [--scale small|full]`.")


def recipe_listing(name: str, recipe) -> str:
    """One recipe as `replicate list` prints it: its source and claim, the paper's setting field by field (with
    where it is stated), every deviation, the small scale's rule, the published rows, and each scale's cost here."""
    from bench.commands.estimate import duration, sweep_seconds

    lines = [f"{name}: {recipe.source}", f"  claim: {recipe.claim}", "  the paper's setting (full scale):"]
    for key, setting in recipe.paper.items():
        mark = "" if setting.checked else " [not re-read at the source]"
        note = f"; {setting.note}" if setting.note else ""
        lines.append(f"    {key}: {setting.value} ({setting.source}{note}){mark}")
    lines.append("  deviations of the full scale from the paper:")
    lines += [f"    - {d}" for d in recipe.deviations] or ["    - none"]
    lines.append(f"  small scale: {recipe.shrunk}")
    lines.append("  published:")
    for p in recipe.published:
        said = p.expect if p.expect else "control, no published number"
        where = f" ({p.where})" if p.where else ""
        extra = "; ".join(x for x in (p.note, p.gap) if x)
        lines.append(f"    {p.model}{f' [{p.sweep}]' if p.sweep else ''}: {said}: {p.value}{where}"
                     + (f"; {extra}" if extra else ""))  # fmt: skip
    for scale in recipe.scales:
        sweeps = recipe_sweeps(load_replicate_config({"name": name, "scale": scale, "device": "cpu"}))
        runs = sum(len(s.models) * len(s.lengths) * len(s.seeds) * len(s.lrs) for _, s in sweeps)
        cost = duration(sum(sweep_seconds(s) for _, s in sweeps))
        lines.append(f"  {scale}: {runs} runs, ~{cost} on this CPU, one run at a time")
    hint = f" {recipe.gpu_hint}" if recipe.gpu_hint else " --device cuda"
    lines.append(f"  on a GPU: python -m bench replicate {name} --scale full{hint}; on a cluster: "
                 f"python -m bench replicate {name} --scale full --executor slurm (or ray) --workers N")
    return "\n".join(lines)


def do_check(names: list[str], progress: bool) -> None:
    from bench.commands.check import check_names

    check_names(names)


def do_report(dirs: list[Path], figures: bool = True) -> None:
    for path in write_reports(dirs, MODEL_ORDER, figures):
        _written(path)


def _written(report_md: Path) -> None:
    html = report_md.with_name(REPORT_HTML)
    print(f"Report: {report_md}" + (f" and {html}" if html.exists() and report_md.name != "replication.md" else ""))
