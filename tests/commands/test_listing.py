"""`python -m bench list`: every task (with its variant), model and preset."""

from __future__ import annotations

import models
import tasks
from bench.config.presets import PRESETS


def test_list_shows_every_task_model_and_preset(capsys, cli):
    assert cli(["list"]) == 0
    out = capsys.readouterr().out
    for name in [*tasks.TASKS, *models.MODELS, *PRESETS]:
        assert name in out
    for name in tasks.TASKS:
        assert tasks.get_task(name).variant_id in out
