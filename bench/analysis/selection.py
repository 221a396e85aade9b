"""Which run counts for each model, length and seed, and in which order models are listed.

For every (task, model, length, seed) the learning rate is chosen on the validation loss and the test
metrics of that run are reported: the rule of ``bench.store.folder.best_by_validation``, the one every
command uses to pick a trained run.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from bench.store.folder import best_by_validation


def select_best_lr(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, model, length, seed): the finished run with the lowest validation loss."""
    if records.empty or "val_loss" not in records:  # no run finished: every cell shows a status
        return records.iloc[0:0]
    chosen = best_by_validation(records.to_dict("records"))
    return pd.DataFrame(chosen, columns=records.columns)


def ordered(names: Iterable[str], model_order: list[str] | None = None) -> list[str]:
    """Each name once: those of ``model_order`` (the registry's order, given by the caller) first, in that order,
    then the others as they come."""
    present = list(dict.fromkeys(names))
    if not model_order:
        return present
    rank = {name: i for i, name in enumerate(model_order)}
    return sorted(present, key=lambda name: (rank.get(name, len(rank)), present.index(name)))
