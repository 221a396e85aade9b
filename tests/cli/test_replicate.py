"""``python -m bench replicate``: every recipe is a valid sweep at both scales, `list` shows them with their costs,
and each runs end to end at a tiny scale into its store, reports and replication table."""

from __future__ import annotations

import dataclasses

import pytest

from bench.config.recipes import RECIPES, Scale
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
    assert [label for label, _ in sweeps] == [s.label for s in recipe.sweeps]
    for _, config in sweeps:
        assert config.models == recipe.models and config.lengths == recipe.scales[scale].lengths
        assert len(config.seeds) >= 3  # a verdict needs 3 seeds
    published = {p.model for p in recipe.published}
    assert published == set(recipe.models)  # every model run has a row, a published number or a note why not


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
    sweeps = [dataclasses.replace(s, params={}) for s in recipe.sweeps]
    monkeypatch.setitem(RECIPES, name, dataclasses.replace(recipe, scales={"small": tiny}, sweeps=sweeps))
    out = tmp_path / name
    argv = ["replicate", name, "--executor", "inline", "--numerics", "native", "--threads", "1", "--no-progress",
            "--no-report", "--out", str(out)]  # fmt: skip
    code, stdout = run_capturing_stdout(cli, argv)
    assert code == 0
    description = read_replication(out)
    assert description["name"] == name and description["scale"] == "small"
    for sweep in description["sweeps"]:
        records = read_records(out / sweep["folder"])
        assert len(records) == len(recipe.models) * 3 and all(r["status"] == "ok" for r in records)
    assert (out / "replication.md").is_file() and f"Replication: {name}" in stdout
    assert "Verdict:" in (out / "replication.md").read_text()


def _length(recipe) -> int:
    return 32 if recipe.variant == "zoology" else 8  # Zoology's layout needs 4 steps per pair


def test_list_shows_every_recipe_its_source_and_costs(cli, monkeypatch):
    monkeypatch.setattr("bench.commands.estimate.sweep_seconds", lambda config: 60.0)  # timing is not tested here
    code, stdout = run_capturing_stdout(cli, ["replicate", "list", "--no-progress"])
    assert code == 0
    for name, recipe in RECIPES.items():
        assert name in stdout and recipe.source.split()[0] in stdout
    assert stdout.count("small:") == len(RECIPES) and stdout.count("full:") == len(RECIPES)
