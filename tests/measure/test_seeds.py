"""Seeds derived by purpose: deterministic, different for each split, within 63 bits."""

from __future__ import annotations

from bench.measure.seeds import derive_seed


def test_derive_seed_is_deterministic_and_split_specific():
    parts = (0, "adding/halves@1", 100)
    seeds = {split: derive_seed(parts[0], split, *parts[1:]) for split in ("train", "val", "test", "init")}
    assert len(set(seeds.values())) == len(seeds)
    assert seeds["train"] == derive_seed(0, "train", "adding/halves@1", 100)
    assert derive_seed(1, "train", "adding/halves@1", 100) != seeds["train"]
    assert all(0 <= s < 2**63 for s in seeds.values())
