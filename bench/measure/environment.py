"""Where a result came from: machine, software, numerics, commit and the command as typed.

Nothing here records an absolute path of the machine: the command is stored as the user would type
it again (``python -m bench ...``), with paths under the working directory written relative to it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import torch

from bench.measure.numerics import numerics_in_effect

REPO_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def git_info() -> dict[str, object]:
    """The commit of the checkout this package runs from, and whether it had uncommitted changes."""
    return checkout_state(REPO_ROOT)


def checkout_state(root: Path) -> dict[str, object]:
    """The commit of the git checkout at ``root``, and whether a tracked file outside ``results/`` has changed.
    Results are what a commit makes, not what makes them: ``tox -e reference`` deletes the committed reference
    before regenerating it, and that must not mark the new runs as made with uncommitted changes."""
    try:
        sha = _git(root, "rev-parse", "HEAD")
        dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"))
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return {"git_sha": None, "git_dirty": None}
    return {"git_sha": sha, "git_dirty": dirty}


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10)
    return out.stdout.strip()


def require_clean_checkout() -> None:
    """Exit with a one-line error (code 2) unless the checkout has a commit and no uncommitted change to a tracked
    file: results meant to be committed must say which commit made them (``tox -e reference`` calls this)."""
    info = git_info()
    if info["git_sha"] is None or info["git_dirty"]:
        state = "is not a git checkout" if info["git_sha"] is None else "has uncommitted changes"
        print(f"reference: the checkout {state}; commit first, so the results name a commit in the history",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(2)


def portable_path(value: str | os.PathLike) -> str:
    """A path as given, or relative to the working directory when it lies under it."""
    path = Path(value)
    if not path.is_absolute():
        return str(value)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(value)


def command_as_typed(argv: list[str] | None = None) -> str:
    """The command line that made the result: ``python -m bench`` rather than the path of ``__main__.py``, and
    each absolute path argument (``--out /abs``, ``--out=/abs``) relative to the working directory if under it."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return ""
    program = ["python", "-m", "bench"] if Path(argv[0]).name == "__main__.py" else [Path(argv[0]).name]
    words = []
    for word in argv[1:]:
        flag, equals, value = word.partition("=")
        words.append(f"{flag}={portable_path(value)}" if equals and flag.startswith("--") else portable_path(word))
    return shlex.join(program + words)


def device_name(device: str) -> str:
    """The device as a table names it: the GPU's name, or the CPU's model, usable CPUs and ATen's ISA path."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{cpu_model()}, {cpu_count()} CPUs, {torch.backends.cpu.get_cpu_capability()}"


@functools.cache
def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name as the OS reports it (Linux's /proc/cpuinfo, macOS's sysctl), else the architecture."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():  # x86; some ARM kernels
                return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  check=True, timeout=10).stdout.strip()  # fmt: skip
        except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    """Logical CPUs this process may run on (its affinity: a container's or a job's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine() -> dict[str, object]:
    """The machine by name: CPU model, usable CPUs, and the GPU where there is one (whatever ran the job)."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu_model": cpu_model(), "cpu_count": cpu_count(), "gpu_name": gpu}


def environment(device: str) -> dict[str, object]:
    return {
        "device": device,
        "device_name": device_name(device),
        **machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": command_as_typed(),
        **numerics_in_effect(),
        **git_info(),
    }


def invocation(command: str, config: dict, device: str) -> dict:
    """What a command adds to its folder's manifest: when, the command as typed, its config (paths portable),
    the environment, the package versions and the settings that decide the bits of a result."""
    paths = {key: portable_path(value) for key, value in config.items() if key in PATH_FIELDS and value is not None}
    return {
        "command": command,
        "created_at": datetime.now(UTC).isoformat(),
        "config": {**config, **paths},
        "environment": environment(device),
        "packages": package_versions(),
        "determinism": {
            "seeds": "sha256-derived CPU torch.Generator per split (train, val, test) and for initialisation",
            "data": "drawn on the CPU, then moved to the device",
            "flush_denormal": device == "cpu",
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        },
    }


PATH_FIELDS = ("out", "source", "config")
PACKAGES = ["torch", "einops", "numpy", "pandas", "pydantic", "seaborn", "tqdm"]


def package_versions() -> dict[str, str | None]:
    return {name: _version(name) for name in PACKAGES}


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
