"""The torch settings every job of the harness runs under, and how a torch failure reads as a status."""

from __future__ import annotations

import torch

CPU_OOM_MESSAGE = "can't allocate memory"


def configure_torch(device: str, threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)
    if device == "cpu":
        # Subnormal floats from vanishing gradients slow CPU arithmetic up to 14x (docs/design.md, measured
        # facts); flushed for every model alike, and recorded.
        torch.set_flush_denormal(True)


def failure_status(exc: Exception) -> str:
    """``oom`` for CUDA's OutOfMemoryError and the CPU allocator's RuntimeError, ``error`` otherwise."""
    out_of_memory = isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and CPU_OOM_MESSAGE in str(exc)
    )
    return "oom" if out_of_memory else "error"
