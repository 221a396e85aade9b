"""Bad input is one line, including an unrecognised argument that argparse quotes back: ``bench/cli.py``'s
``_Parser.error`` escapes its line breaks as ``bench.errors.one_line`` does for the configs' messages."""

from __future__ import annotations

from tests.fuzz.harness import invoke


def test_an_unrecognised_argument_with_a_line_break_is_still_one_line():
    outcome = invoke(["list", "first\nsecond"])
    assert outcome.code == 2 and outcome.stderr.count("\n") == 1, outcome.stderr


def test_every_config_error_is_one_line():
    outcome = invoke(["report", "/nowhere/first\nsecond"])
    assert outcome.code == 2 and outcome.stderr.count("\n") == 1 and "first\\nsecond" in outcome.stderr
