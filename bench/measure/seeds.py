"""Seeds derived by purpose, so data, initialisation and evaluation never share a stream.

A sha256 of the parts, never Python's ``hash()`` (salted per process unless PYTHONHASHSEED is set).
Every generator of data is a CPU generator: batches are drawn on the CPU and then moved to the device,
so a run key means the same data on every device (CUDA's generator is another algorithm, Philox, and
would draw other data from the same seed).
"""

from __future__ import annotations

import hashlib

import torch


def derive_seed(*parts: object) -> int:
    """A 63-bit seed that depends on every part, e.g. ``derive_seed(0, "train", "adding/halves@1", 100)``."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator (MT19937): the same draws on every machine and whatever device the run uses."""
    return torch.Generator(device="cpu").manual_seed(seed)


def split_generator(seed: int, split: str, variant: str, seq_len: int) -> torch.Generator:
    """The data stream of one split (train, val, test) of a comparison: the model is not part of the seed,
    so every model sees the same data, and splits never share a stream."""
    return make_generator(derive_seed(seed, split, variant, seq_len))
