"""The speed command's configuration: every bad input is one line, exit 2, nothing written; ``--bare`` refuses
a recurrent stack it cannot take apart."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv, words", [
    (["--models", "lstn"], ["models", "did you mean 'lstm'"]),
    (["--lengths", "0"], ["lengths", "> 0"]),
    (["--repeats", "0"], ["repeats"]),
    (["--params", "500"], ["params", "no width"]),
    (["--stream-tokens", "x"], ["stream_tokens", "x"]),
    (["--precision", "fp8"], ["precision", "bf16"]),
    (["--option", "ssm.kernel=fft"], ["model_options", "kernel", "vandermonde"]),
    (["--pack", "0"], ["pack", "greater than or equal to 1"]),
    (["--pack", "2", "--models", "lstm,gru"], ["pack", "none of the models can be packed", "transformer"]),
    (["--cuda-graphs", "--device", "cpu"], ["cuda_graphs", "CUDA device", "cpu"]),
])  # fmt: skip
def test_bad_speed_input_is_one_line_exit_2(argv, words, tmp_path, cli, capsys):
    out = tmp_path / "speed"
    assert cli(["speed", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(word in err for word in words), err
    assert not out.exists()


@pytest.mark.parametrize("option", ["lstm.residual=true", "gru.bidirectional=true"])
def test_bare_refuses_a_recurrent_stack_it_cannot_take_apart(tmp_path, cli, capsys, option):
    # adding: a bidirectional RNN is allowed there, so the --bare rule is what refuses it
    assert cli(["speed", "--task", "adding", "--bare", "--option", option, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(f"not with option {option.split('.')[1]}")
    assert not (tmp_path / "s").exists()
