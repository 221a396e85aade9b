"""``python -m bench replicate``: every recipe is a valid sweep at both scales, `list` shows them with their costs,
and each runs end to end at a tiny scale into its store, reports and replication table."""

from __future__ import annotations

import dataclasses

import pytest

from bench.config.recipes import RECIPES, Scale, Shrink
from bench.config.replicate import load_replicate_config, recipe_sweeps
from bench.errors import ConfigError
from bench.store.jsonl import read_records
from bench.store.replication import read_replication
from tests.helpers import TINY_PARAMS, run_capturing_stdout


@pytest.mark.parametrize("scale", ["small", "full"])
@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_is_a_valid_sweep_at_each_scale(name, scale):
    sweeps = recipe_sweeps(load_replicate_config({"name": name, "scale": scale, "device": "cpu"}))
    recipe = RECIPES[name]
    assert [label for label, _ in sweeps] == [s.label for s in recipe.sweeps if scale in s.scales]
    for label, config in sweeps:
        assert set(config.models) <= set(recipe.models) and len(config.seeds) >= 3  # a verdict needs 3 seeds
        rows = {p.model for p in recipe.published if p.sweep == label}
        assert rows == set(config.models)  # every model run has a row, a published number or a note why not
    training = {k: getattr(config, k) for k in recipe.full.training}
    assert training == recipe.full.training  # the paper's optimiser, schedule and clipping at both scales


def test_an_unknown_recipe_is_one_line_and_exit_2(tmp_path, cli, capsys):
    assert cli(["replicate", "tcn-adding2", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'tcn-adding'" in err
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="scale"):
        load_replicate_config({"name": "tcn-adding", "scale": "huge"})


TINY = Scale(lengths=[4], params=TINY_PARAMS, steps=4, batch_size=4, lrs=[1e-2], eval_every=2, val_size=8,
             test_size=8)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RECIPES))
def test_each_recipe_runs_at_a_tiny_scale(name, tmp_path, cli, monkeypatch):
    recipe = RECIPES[name]
    tiny = dataclasses.replace(TINY, task_params=recipe.scales["small"].task_params, lengths=[_length(recipe)])
    tiny = dataclasses.replace(tiny, training=recipe.full.training, eval_lengths=[])
    sweeps = [dataclasses.replace(s, overrides={}) for s in recipe.sweeps if "small" in s.scales][:2]
    small = Shrink(dict.fromkeys(["lengths"], tiny.lengths), "tiny")
    monkeypatch.setitem(RECIPES, name, dataclasses.replace(recipe, full=tiny, shrink=small, sweeps=sweeps))
    out = tmp_path / name
    argv = ["replicate", name, "--executor", "inline", "--numerics", "native", "--threads", "1", "--no-progress",
            "--no-report", "--out", str(out)]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    description = read_replication(out)
    assert description["name"] == name and description["scale"] == "small"
    for sweep in description["sweeps"]:
        records = read_records(out / sweep["folder"])
        assert records and all(r["status"] == "ok" for r in records)
    assert (out / "replication.md").is_file() and f"Replication: {name}" in stdout
    assert "Verdict:" in (out / "replication.md").read_text()


def _length(recipe) -> int:
    return 32 if recipe.variant == "zoology" else 8  # Zoology's layout needs 4 steps per pair


def test_list_shows_every_recipe_its_source_and_costs(cli, monkeypatch):
    monkeypatch.setattr("bench.commands.estimate.sweep_seconds", lambda config: 60.0)  # timing is not tested here
    code, stdout = run_capturing_stdout(cli, ["replicate", "list", "--no-progress"])
    assert code == 0
    for name, recipe in RECIPES.items():
        assert f"{name}: {recipe.source}" in stdout
        for key, setting in recipe.paper.items():
            assert f"    {key}: {setting.value} ({setting.source}" in stdout
        assert all(f"    - {d}" in stdout for d in recipe.deviations)
        assert f"python -m bench replicate {name} --scale full" in stdout
    assert stdout.count("  small: ") == len(RECIPES) and stdout.count("  full: ") == len(RECIPES)
    assert "read from the figure" not in stdout and "D = 64; recall" not in stdout
