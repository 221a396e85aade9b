"""Every command on fuzzed input: it validates, or refuses with exit 2, one line on stderr and nothing written;
never a traceback (``harness.assert_validates_or_refuses``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.cli import GRADIENT_SWITCHES, RUN_SWITCHES, SPEED_SWITCHES
from tests.fuzz.harness import assert_validates_or_refuses, examples, sandbox
from tests.fuzz.strategies import (
    GRADIENT_GOOD,
    RUN_GOOD,
    SPEED_GOOD,
    command_line,
    config_files,
    paths,
    texts,
    words,
)
from tests.helpers import known_store

RUN_SWITCHES = [flag for flag, _, _ in RUN_SWITCHES.values()] + ["--no-progress"]
SPEED_FLAGS = [flag for flag, _, _ in SPEED_SWITCHES.values()] + ["--no-progress"]
GRADIENT_FLAGS = [flag for flag, _, _ in GRADIENT_SWITCHES.values()] + ["--no-progress"]


@settings(max_examples=examples(120))
@given(st.data())
def test_run_flags(data):
    with sandbox() as root:
        argv = ["run", *data.draw(command_line(RUN_GOOD, RUN_SWITCHES, root))]
        assert_validates_or_refuses("run", argv, root)


@settings(max_examples=examples(100))
@given(st.data(), config_files())
def test_run_config_files(data, toml):
    with sandbox() as root:
        where = data.draw(st.sampled_from(["sweep.toml", "missing.toml", ".", "sweep.toml/x"]))
        (root / "sweep.toml").write_bytes(toml)
        flags = data.draw(command_line(RUN_GOOD, RUN_SWITCHES, root)) if data.draw(st.booleans()) else []
        assert_validates_or_refuses("run", ["run", *flags, "--config", str(root / where)], root)


@settings(max_examples=examples(80))
@given(st.data())
def test_speed_flags(data):
    with sandbox() as root:
        argv = ["speed", *data.draw(command_line(SPEED_GOOD, SPEED_FLAGS, root, ("--out", "--from")))]
        assert_validates_or_refuses("speed", argv, root)


@settings(max_examples=examples(80))
@given(st.data())
def test_gradients_flags(data):
    with sandbox() as root:
        argv = ["gradients", *data.draw(command_line(GRADIENT_GOOD, GRADIENT_FLAGS, root, ("--out", "--from")))]
        assert_validates_or_refuses("gradients", argv, root)


@settings(max_examples=examples(40))
@given(st.data())
def test_report_folders(data):
    with sandbox() as root:
        (root / "file.txt").write_text("not a folder")
        (root / "empty").mkdir()
        known_store(root / "results")  # a folder that holds results
        results = st.just(str(root / "results"))
        dirs = data.draw(st.lists(st.one_of(results, results, results, paths(root), texts(10)), max_size=3))
        assert_validates_or_refuses("report", ["report", *dirs], root)


@settings(max_examples=examples(20))
@given(st.lists(st.one_of(words(10), st.sampled_from(["--task", "adding", "-h", "--option", "x"])), max_size=3))
def test_list(extra):
    with sandbox() as root:
        assert_validates_or_refuses("list", ["list", *extra], root)


@settings(max_examples=examples(20))
@given(st.lists(st.one_of(words(10), st.sampled_from(["run", "speed", "gradients", "report", "list", "--out"])),
                max_size=3))  # fmt: skip
def test_any_command_name(argv):
    with sandbox() as root:
        assert_validates_or_refuses("any", argv, root)
