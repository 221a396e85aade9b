"""Seeds derived by purpose, so data, initialisation and evaluation never share a stream.

A sha256 of the parts, never Python's ``hash()`` (salted per process unless PYTHONHASHSEED is set).
"""

from __future__ import annotations

import hashlib

import torch


def derive_seed(*parts: object) -> int:
    """A 63-bit seed that depends on every part, e.g. ``derive_seed(0, "train", "adding/halves@1", 100)``."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def make_generator(seed: int, device: str) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def split_generator(seed: int, split: str, variant: str, seq_len: int, device: str) -> torch.Generator:
    """The data stream of one split (train, val, test) of a comparison: the model is not part of the seed,
    so every model sees the same data, and splits never share a stream."""
    return make_generator(derive_seed(seed, split, variant, seq_len), device)
