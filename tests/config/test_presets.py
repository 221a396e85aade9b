"""The named presets: each a valid sweep of every task; ``quick`` and every default model when none is named."""

from __future__ import annotations

import pytest

import models
import tasks
from bench.config import load_run_config
from bench.config.presets import PRESETS
from tests.helpers import flags


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("task", list(tasks.TASKS))
def test_every_preset_is_a_valid_sweep_of_every_task(preset, task):
    # Validation solves every model's width for the preset's target: a preset no model can meet fails here.
    config = load_run_config(flags(task=task, preset=preset))
    assert config.lengths == PRESETS[preset]["lengths"][task]


def test_defaults_are_the_quick_preset_and_every_model():
    config = load_run_config(flags(task="copying"))
    quick = PRESETS["quick"]
    assert config.preset == "quick"
    assert config.lengths == quick["lengths"]["copying"]
    assert (config.steps, config.batch_size, config.params) == (quick["steps"], quick["batch_size"], quick["params"])
    assert config.models == models.DEFAULT_MODELS
    assert config.executor == "subprocess" and config.device == "auto"
