"""What every comparing command checks before it starts: each model's options fit the task. A refusal is one
line naming ``model_options``, exit 2, and nothing written."""

from __future__ import annotations

import pytest

SEES_THE_ANSWER = ["copying", "selective_copying", "associative_recall"]  # scored at every step or the last few

CLI_ERRORS = [
    *[
        (task, "lstm.bidirectional=true", ["lstm option bidirectional=true", "see the answer"])
        for task in SEES_THE_ANSWER
    ],
    ("adding", "lstm.chrono=2", ["chrono", ">= 3"]),
    ("adding", "gru.chrono=50", ["unknown gru option 'chrono'"]),
    ("adding", "rnn.layers=0", ["layers", "between 1 and 64"]),
    ("adding", "rnn.layers=10000", ["layers", "between 1 and 64", "10000"]),
]


@pytest.mark.parametrize(("task", "option", "words"), CLI_ERRORS, ids=[f"{t}-{o}" for t, o, _ in CLI_ERRORS])
def test_cli_refuses_with_one_line_and_writes_nothing(task, option, words, tmp_path, capsys, cli, no_sweep):
    out = tmp_path / "out"
    model = option.split(".")[0]
    code = cli(["run", "--task", task, "--models", model, "--option", option, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "model_options" in err
    for word in words:
        assert word in err
    assert not out.exists()


def test_the_cli_refuses_seq2seq_on_a_moving_answer_in_one_line(tmp_path, cli, capsys):
    argv = [
        "run",
        "--task",
        "copying",
        "--models",
        "seq2seq",
        "--config",
        str(tmp_path / "c.toml"),
        "--out",
        str(tmp_path / "r"),
    ]
    (tmp_path / "c.toml").write_text('variant = "variable"\n')
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "model_options" in err and "seq2seq" in err
    assert not (tmp_path / "r").exists()
