"""Provenance: the command as typed, with no absolute path of the machine, and the refusal of a dirty checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

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


def test_a_change_to_code_is_dirty_and_a_change_under_results_is_not(tmp_path):
    git = lambda *args: subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "reference").mkdir(parents=True)
    (tmp_path / "results" / "reference" / "runs.jsonl").write_text("{}\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    assert environment.checkout_state(tmp_path)["git_dirty"] is False
    (tmp_path / "results" / "reference" / "runs.jsonl").unlink()  # what tox -e reference does first
    (tmp_path / "untracked.txt").write_text("new\n")
    assert environment.checkout_state(tmp_path)["git_dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert environment.checkout_state(tmp_path)["git_dirty"] is True


def test_outside_a_checkout_there_is_no_commit(tmp_path):
    assert environment.checkout_state(tmp_path) == {"git_sha": None, "git_dirty": None}


def test_records_name_the_machine(monkeypatch):
    record = environment.environment("cpu")
    assert record["cpu_model"] == environment.cpu_model() and record["cpu_model"]
    assert record["cpu_count"] == environment.cpu_count() >= 1
    assert record["gpu_name"] == (torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    capability = torch.backends.cpu.get_cpu_capability()
    assert record["device_name"] == f"{record['cpu_model']}, {record['cpu_count']} CPUs, {capability}"


def test_the_cpu_model_is_read_from_cpuinfo_or_falls_back_to_the_architecture(tmp_path):
    x86, bare = tmp_path / "x86", tmp_path / "bare"  # one file each: cpu_model caches by path
    x86.write_text("processor\t: 0\nvendor_id\t: SomeVendor\nmodel name\t: Some CPU 9000 @ 3.0GHz\n")
    bare.write_text("processor\t: 0\nBogoMIPS\t: 50.00\n")  # no model line (some ARM kernels)
    assert environment.cpu_model(x86) == "Some CPU 9000 @ 3.0GHz"
    fallback = environment.cpu_model(tmp_path / "absent")
    assert environment.cpu_model(bare) == fallback and fallback
