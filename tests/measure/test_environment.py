"""Provenance: the command as typed, with no absolute path of the machine, and the refusal of a dirty checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.measure.environment as environment
from bench.measure.environment import command_as_typed, portable_path, require_clean_checkout


def test_the_command_is_stored_as_typed_with_paths_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main = str(Path(environment.__file__).parents[1] / "__main__.py")  # what `python -m bench` puts in argv[0]
    argv = [main, "run", "--task", "adding", "--out", str(tmp_path / "results" / "x"), f"--config={tmp_path}/a.toml"]
    assert command_as_typed(argv) == "python -m bench run --task adding --out results/x --config=a.toml"
    assert portable_path("/somewhere/else") == "/somewhere/else"  # outside the working directory: as given
    assert portable_path("relative/path") == "relative/path"


@pytest.mark.parametrize(
    ("info", "words"),
    [({"git_sha": "abc", "git_dirty": True}, "uncommitted changes"), ({"git_sha": None, "git_dirty": None}, "git")],
)
def test_a_dirty_or_missing_checkout_is_refused_in_one_line(monkeypatch, capsys, info, words):
    monkeypatch.setattr(environment, "git_info", lambda: info)
    with pytest.raises(SystemExit) as stopped:
        require_clean_checkout()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_a_clean_checkout_passes(monkeypatch):
    monkeypatch.setattr(environment, "git_info", lambda: {"git_sha": "abc", "git_dirty": False})
    require_clean_checkout()  # returns: nothing to refuse
