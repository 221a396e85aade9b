"""``models.build_model``: sized by width or by a parameter target (met within ``PARAM_TOLERANCE``), options
checked, misspellings named."""

from __future__ import annotations

import pytest

import models
import tasks
from tests.helpers import TINY_PARAMS, WIDTH, quick_task


@pytest.mark.parametrize("target", [TINY_PARAMS, 20_000])
def test_width_solver_meets_the_target(task_name, model_name, target):
    spec = quick_task(task_name).spec
    model = models.build_model(model_name, spec, target_params=target)
    assert abs(models.count_parameters(model) - target) <= models.PARAM_TOLERANCE * target


def test_target_build_uses_a_whole_width_multiple(task_name, model_name):
    spec = quick_task(task_name).spec
    family = models.MODELS[model_name]
    width = models.solve_width(model_name, spec, 20_000)
    assert width % family.width_multiple(family.options()) == 0  # e.g. heads divide the Transformer's width
    assert models.build_model(model_name, spec, target_params=20_000).width == width


def test_unreachable_target_raises(model_name):
    spec = tasks.get_task("adding").spec
    with pytest.raises(ValueError, match="no width gives 10 parameters"):
        models.build_model(model_name, spec, target_params=10)


def test_unknown_model_suggests_a_name():
    with pytest.raises(ValueError, match="did you mean 'lstm'"):
        models.build_model("lstn", tasks.get_task("adding").spec, width=WIDTH)


def test_unknown_option_raises(model_name):
    with pytest.raises(ValueError, match="foo"):
        models.build_model(model_name, tasks.get_task("adding").spec, width=WIDTH, foo=1)


@pytest.mark.parametrize("sizes", [{"width": WIDTH, "target_params": 4000}, {}])
def test_exactly_one_of_width_and_target(model_name, sizes):
    with pytest.raises(ValueError, match="exactly one"):
        models.build_model(model_name, tasks.get_task("adding").spec, **sizes)


def test_options_change_the_model(model_name):
    # Every family has a depth option; a deeper model has more parameters at the same width.
    spec = tasks.get_task("adding").spec
    assert "layers" in models.model_options(model_name)
    shallow = models.build_model(model_name, spec, width=WIDTH, layers=1)
    deep = models.build_model(model_name, spec, width=WIDTH, layers=2)
    assert models.count_parameters(deep) > models.count_parameters(shallow)
