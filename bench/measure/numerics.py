"""Portable numerics: the same run gives the same bits on any x86-64 CPU with AVX2.

torch's CPU kernels pick SIMD code per machine: ATen's own kernels (AVX-512 where the CPU has it,
else AVX2), oneDNN's JIT (the LSTM, some of the Transformer's ops) and MKL (matrix products, the SSM's
FFTs). Floating-point sums then differ in their last bits from machine to machine, and training
amplifies the difference: an SSM that solves the adding problem on one CPU may not on another.

``portable`` pins all three to paths every x86-64 CPU with AVX2 has, before torch loads in the
process that runs a job (the engines start their forkserver with this environment):

- ``ATEN_CPU_CAPABILITY=avx2``: ATen's vectorised kernels (changes the GRU and the Transformer on an
  AVX-512 CPU);
- ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN's JIT (changes the LSTM and the Transformer);
- ``MKL_CBWR=COMPATIBLE``: MKL's conditional numerical reproducibility (changes the tanh RNN, the
  Transformer and the SSM). MKL honours its ``AVX2`` branch on Intel CPUs only (it reports ``AUTO``
  on an AMD one), so the branch documented for every x86 CPU is used.

Each was found to change the bits of a quick adding sweep on an AVX-512 CPU when set alone (docs/design.md).
``native`` leaves the machine's fastest paths. Results still depend on the thread count (recorded, and
pinned by the reference commands). On aarch64 none of these paths exist and ``portable`` changes nothing;
on CUDA they concern only what runs on the CPU: the data, which is generated on the CPU either way.
"""

from __future__ import annotations

import os
import platform

import torch

NUMERICS = ("portable", "native")
PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"}


def apply_numerics(mode: str) -> None:
    """Set (portable) or clear (native) the pins in this process's environment, for the processes it starts.

    torch reads them once, when it first dispatches a kernel: a process that has already computed keeps
    what it had. The engines call this before starting the process that imports torch for the jobs.
    """
    if mode not in NUMERICS:
        raise ValueError(f"numerics must be one of {', '.join(NUMERICS)}; got {mode!r}")
    for name, value in PORTABLE_ENV.items():
        if mode == "portable":
            os.environ[name] = value
        else:
            os.environ.pop(name, None)


def numerics_in_effect() -> dict[str, object]:
    """What this process computes with: the mode (portable only when every pin is set and ATen took it), the
    CPU capability ATen picked, and the pins as set."""
    capability = torch.backends.cpu.get_cpu_capability()
    pinned = all(os.environ.get(name) == value for name, value in PORTABLE_ENV.items())
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    return {
        "numerics_in_effect": "portable" if pinned and (capability == "AVX2" or not x86) else "native",
        "cpu_capability": capability,
        "numerics_env": {name: os.environ.get(name) for name in PORTABLE_ENV},
    }
