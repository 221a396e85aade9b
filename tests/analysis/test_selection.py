"""``select_best_lr``: one learning rate per model and length (the fewest unfinished seeds, then the lowest mean
validation loss over the seeds), and each seed's finished run at it."""

from __future__ import annotations

import pandas as pd

from bench.analysis.selection import select_best_lr
from tests.helpers import summary_record


def test_select_best_lr_uses_one_rate_per_cell_by_mean_validation_loss_of_finished_runs():
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
    # lstm: 1e-3 has mean 0.3 over its seeds, 3e-3 0.25, 1e-2 finished no seed: 3e-3 for both seeds, although seed
    # 1 alone did better at 1e-3 (choosing per seed would report the luckiest draw of each)
    assert chosen == {("lstm", 0): 3e-3, ("lstm", 1): 3e-3, ("gru", 0): 1e-3}
