"""``select_best_lr``: for each model, length and seed, the finished run of lowest validation loss."""

from __future__ import annotations

import pandas as pd

from bench.analysis.selection import select_best_lr
from tests.helpers import summary_record


def test_select_best_lr_uses_the_lowest_validation_loss_of_finished_runs():
    frame = pd.DataFrame(
        [
            summary_record("lstm", 0, 1e-3, val_loss=0.5, test_loss=0.01),  # best on test, not on validation
            summary_record("lstm", 0, 3e-3, val_loss=0.2, test_loss=0.2),
            summary_record("lstm", 0, 1e-2, status="diverged", val_loss=0.1),  # lowest, but did not finish ok
            summary_record("lstm", 1, 1e-3, val_loss=0.1, test_loss=0.1),
            summary_record("lstm", 1, 3e-3, val_loss=0.3, test_loss=0.3),
            summary_record("gru", 0, 1e-3, val_loss=0.4, test_loss=0.4),
            summary_record("gru", 0, 3e-3, val_loss=0.6, test_loss=0.6),
        ]
    )
    best = select_best_lr(frame)
    chosen = {(r.model, r.seed): r.lr for r in best.itertuples()}
    assert chosen == {("lstm", 0): 3e-3, ("lstm", 1): 1e-3, ("gru", 0): 1e-3}
