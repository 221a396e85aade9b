"""The gradients command's configuration: a missing source folder, a misspelt task or model, a bad length are
each one line, exit 2, and nothing written."""

from __future__ import annotations


def test_gradients_bad_input_is_one_line_and_writes_nothing(tmp_path, cli, capsys):
    missing = tmp_path / "nowhere"
    for argv, field in [
        (["gradients", "--task", "adding", "--from", str(missing)], "source"),
        (["gradients", "--task", "addding", "--out", str(missing)], "task"),
        (["gradients", "--task", "adding", "--models", "rnn,lsmt", "--out", str(missing)], "models"),
        (["gradients", "--task", "adding", "--lengths", "0", "--out", str(missing)], "lengths"),
    ]:
        assert cli(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and field in err, err
    assert not missing.exists()
