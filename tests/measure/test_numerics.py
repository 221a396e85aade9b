"""Portable numerics: each pin reaches torch in a process started after it is set, and every record says what it
computed with."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from bench.measure.numerics import PORTABLE_ENV, apply_numerics, numerics_in_effect
from bench.store.jsonl import read_records
from tests.helpers import tiny_run_args

X86_AVX2 = platform.machine().lower() in ("x86_64", "amd64") and "avx2" in Path("/proc/cpuinfo").read_text()


def test_portable_sets_every_pin_and_native_clears_them(monkeypatch):
    for name in PORTABLE_ENV:
        monkeypatch.delenv(name, raising=False)
    apply_numerics("portable")
    assert {name: os.environ[name] for name in PORTABLE_ENV} == PORTABLE_ENV
    apply_numerics("native")
    assert not set(PORTABLE_ENV) & set(os.environ)
    with pytest.raises(ValueError, match="portable, native"):
        apply_numerics("fast")


def _child(code: str, env: dict[str, str]) -> str:
    """stdout and stderr of ``python -c code`` started with ``env`` on top of this process's environment."""
    clean = {k: v for k, v in os.environ.items() if k not in PORTABLE_ENV}
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, env={**clean, **env}, capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not X86_AVX2, reason="the pins name x86-64 AVX2 code paths")
@pytest.mark.parametrize(
    ("name", "code", "seen"),
    [
        ("ATEN_CPU_CAPABILITY", "import torch; print(torch.backends.cpu.get_cpu_capability())", "AVX2"),
        ("ONEDNN_MAX_CPU_ISA", "import torch; torch.nn.LSTM(4, 4, batch_first=True)(torch.randn(2, 3, 4))",
         "isa:Intel AVX2"),
        ("MKL_CBWR", "import torch; a = torch.randn(64, 64); a @ a", "CNR:COMPATIBLE"),
    ],
)  # fmt: skip
def test_each_pin_reaches_the_library_it_names(name, code, seen):
    # The libraries say which path they took: ATen through torch, oneDNN and MKL in their verbose logs.
    verbose = {"ONEDNN_VERBOSE": "1", "MKL_VERBOSE": "1"}
    assert seen in _child(code, {name: PORTABLE_ENV[name], **verbose})
    if seen in _child(code, verbose):
        pytest.skip(f"this CPU's native path is already {seen}: the pin reaches it, but changes nothing to see")


def test_this_process_reports_what_it_computes_with():
    state = numerics_in_effect()
    assert state["numerics_in_effect"] in ("portable", "native")
    assert state["cpu_capability"]
    assert set(state["numerics_env"]) == set(PORTABLE_ENV)


@pytest.mark.slow
@pytest.mark.parametrize("numerics", ["portable", "native"])
def test_a_run_records_the_numerics_it_asked_for_and_got(tmp_path, cli, numerics):
    argv = tiny_run_args(tmp_path, "adding", "--models", "gru", "--executor", "subprocess", "--numerics", numerics)
    assert cli(argv) == 0
    (record,) = read_records(tmp_path)
    assert record["status"] == "ok", record["error"]
    assert record["numerics"] == numerics
    if X86_AVX2:
        assert record["numerics_in_effect"] == numerics
        if numerics == "portable":
            assert record["cpu_capability"] == "AVX2" and record["numerics_env"] == PORTABLE_ENV
