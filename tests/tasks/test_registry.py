"""``tasks.get_task``: a misspelt task or parameter is named, with a suggestion."""

from __future__ import annotations

import pytest

import tasks


def test_unknown_task_suggests_a_name():
    with pytest.raises(ValueError, match="did you mean 'adding'"):
        tasks.get_task("addng")


@pytest.mark.parametrize("name, params", [("adding", {"foo": 1}), ("copying", {"n_symbol": 3})])
def test_unknown_task_parameter(name, params):
    with pytest.raises(ValueError, match=next(iter(params))):
        tasks.get_task(name, **params)
